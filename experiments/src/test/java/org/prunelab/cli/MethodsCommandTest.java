package org.prunelab.cli;

import org.junit.jupiter.api.Test;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodParam;
import org.prunelab.prune.Methods;
import org.prunelab.track.MlflowTrackingIntegrationTest;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/** The method registry is what the CLI offers and what the README lists. */
class MethodsCommandTest {

    @Test
    void pruneHelpOffersEveryRegisteredParameterWithTheMethodsThatTakeIt() {
        CliErrorsTest.Outcome help = CliErrorsTest.run("prune", "--help");
        assertThat(help.status()).isZero();
        String text = help.out().replaceAll("\\s+", " ");
        for (Method m : Methods.all()) {
            assertThat(text).contains(m.name());
            for (MethodParam p : m.params()) {
                String flag = "--" + p.name().replace('_', '-');
                assertThat(text).as(flag).contains(p.type() == MethodParam.Type.BOOLEAN ? "--[no-]" + p.name().replace('_', '-') : flag);
            }
        }
        assertThat(text).contains("(wanda, sparsegpt)").contains("(fasp)");
    }

    @Test
    void methodsJsonListsTheRegistry() throws Exception {
        CliErrorsTest.Outcome o = CliErrorsTest.run("methods", "--json");
        assertThat(o.status()).isZero();
        var list = JsonOutput.MAPPER.readTree(o.out()).get("methods");
        assertThat(list).hasSize(Methods.all().size());
        assertThat(list.get(0).get("params").get(0).get("name").asText()).isEqualTo("sparsity");
    }

    /** The README's method table is the registry's ({@link Methods#markdownTable()}), between its markers. */
    @Test
    void theReadmeMethodTableIsTheRegistrys() throws Exception {
        String readme = Files.readString(MlflowTrackingIntegrationTest.projectRoot().resolve("README.md"));
        String begin = "<!-- methods: begin (generated from the method registry; MethodsCommandTest checks it) -->\n";
        String end = "<!-- methods: end -->";
        assertThat(readme).contains(begin).contains(end);
        String table = readme.substring(readme.indexOf(begin) + begin.length(), readme.indexOf(end));
        assertThat(table).isEqualTo(Methods.markdownTable());
    }
}
