package org.prunelab;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The layout DESIGN.md describes, checked on core's bytecode (ArchUnit) and sources: the top-level packages form no
 * cycle, core knows nothing of the experiments and kernel modules, the lowest layers stay at the bottom, and only an
 * architecture file spells out a family's linear names.
 *
 * <p>A slice is a top-level package with its subpackages ({@code prune} includes {@code prune.structured}: the method
 * registry in {@code prune} lists the structured methods, which implement {@code prune}'s method types).
 */
class ArchitectureTest {
    private static JavaClasses core;

    @BeforeAll
    static void importCore() {
        core = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.prunelab");
    }

    @Test
    void topLevelPackagesAreAcyclic() {
        slices().matching("org.prunelab.(*)..").should().beFreeOfCycles().check(core);
    }

    @Test
    void coreDoesNotDependOnExperimentsOrKernel() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("org.prunelab.cli..", "org.prunelab.run..",
                        "org.prunelab.sweep..", "org.prunelab.track..", "org.prunelab.report..",
                        "org.prunelab.kernel..", "org.prunelab.notebook..")
                .because("core is the bottom module (DESIGN.md, layout)").check(core);
    }

    @Test
    void tensorsAndFileFormatsSitAtTheBottom() {
        noClasses().that().resideInAPackage("org.prunelab.tensor..").should().dependOnClassesThat()
                .resideInAnyPackage("org.prunelab.io..", "org.prunelab.model..", "org.prunelab.arch..",
                        "org.prunelab.prune..", "org.prunelab.data..", "org.prunelab.eval..", "org.prunelab.bench..")
                .check(core);
        noClasses().that().resideInAPackage("org.prunelab.io..").should().dependOnClassesThat()
                .resideInAnyPackage("org.prunelab.model..", "org.prunelab.arch..", "org.prunelab.prune..",
                        "org.prunelab.eval..", "org.prunelab.bench..")
                .check(core);
    }

    @Test
    void pruningMethodsNeverReadFilesOrKnowAFamily() {
        noClasses().that().resideInAPackage("org.prunelab.prune..").should().dependOnClassesThat()
                .resideInAnyPackage("org.prunelab.arch..", "org.prunelab.io..", "org.prunelab.cache..")
                .because("a pruning method sees a block and its captured inputs (DESIGN.md)").check(core);
    }

    /** The Hugging Face names of the block linears appear in string literals of the architecture package only. */
    @Test
    void onlyArchitecturesSpellLinearNames() throws IOException {
        Path main = Path.of("src/main/java/org/prunelab");
        assertThat(main).isDirectory();
        Pattern literal = Pattern.compile("\"[^\"\\n]*\\b(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\\b[^\"\\n]*\"");
        List<String> offenders = new ArrayList<>();
        List<Path> scanned = new ArrayList<>();
        try (Stream<Path> files = Files.walk(main)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                scanned.add(f);
                if (main.relativize(f).startsWith("arch")) continue;
                Matcher m = literal.matcher(Files.readString(f));
                while (m.find()) offenders.add(main.relativize(f) + ": " + m.group());
            }
        }
        assertThat(scanned).hasSizeGreaterThan(100);
        assertThat(offenders).as("linear names outside org.prunelab.arch").isEmpty();
    }
}
