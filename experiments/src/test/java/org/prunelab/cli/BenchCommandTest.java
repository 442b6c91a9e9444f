package org.prunelab.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;

/** {@code prunelab bench} and {@code --format} through the real CLI; speed numbers are never asserted. */
class BenchCommandTest {

    @Test
    void nmOnAModelThatIsNotNmNamesTheLayerAndTheFormatThatWorks() {
        CliErrorsTest.assumeModelFetched();
        CliErrorsTest.Outcome o = CliErrorsTest.run("bench", "--model", "smollm2-135m", "--format", "nm",
                "--prompt-len", "4", "--gen", "1", "--repeat", "1");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("error: --format nm: layer 0 q_proj").contains("use format dense")
                .contains("--format auto").doesNotContain("\tat ");
    }

    @Test
    void benchPrintsTheJsonSchemaFields() throws Exception {
        CliErrorsTest.assumeModelFetched();
        CliErrorsTest.Outcome o = CliErrorsTest.run("bench", "--model", "smollm2-135m", "--format", "auto",
                "--prompt-len", "4", "--gen", "2", "--repeat", "1", "--warmup", "0", "--json");
        assertThat(o.status()).as(o.err()).isZero();
        var json = JsonOutput.MAPPER.readTree(o.out());
        for (String key : new String[] {"model", "format", "format_counts", "prompt_len", "gen", "repeat", "threads",
                "prefill_tokens_per_s", "decode_tokens_per_s", "decode_latency_p50_s", "decode_latency_p95_s",
                "peak_rss_bytes", "model_bytes", "model_file_bytes", "linear_bytes", "runs"}) {
            assertThat(json.has(key)).as(key).isTrue();
        }
        assertThat(json.get("format_counts").get("dense").asInt()).isEqualTo(210);
        assertThat(json.get("runs")).hasSize(1);
        assertThat(json.has("vs")).isFalse();
    }

    @Test
    void vsDenseWithoutAPruneReportAsksForVsModel() {
        CliErrorsTest.assumeModelFetched();
        CliErrorsTest.Outcome o = CliErrorsTest.run("bench", "--model", "smollm2-135m", "--vs", "dense");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("prune_report.json").contains("--vs-model").doesNotContain("\tat ")
                .contains("is a model file, not such a folder") // not "--vs-model smollm2-135m", the model itself
                .doesNotContain("bench: "); // checked before anything is printed
    }

    @Test
    void vsOtherThanDenseIsRejected() {
        CliErrorsTest.Outcome o = CliErrorsTest.run("bench", "--vs", "csr");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("--vs dense");
    }

    @Test
    void denseCounterpartIsTheModelOfThePruneReport(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("prune_report.json"), "{\"model\": \"smollm2-135m\", \"method\": \"magnitude\"}");
        assertThat(BenchCommand.denseCounterpart(dir)).isEqualTo("smollm2-135m");
        Files.writeString(dir.resolve("prune_report.json"), "{\"method\": \"magnitude\"}");
        assertThatThrownBy(() -> BenchCommand.denseCounterpart(dir)).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("--vs-model");
    }

    @Test
    void evalRejectsNmOnADenseModelToo() {
        CliErrorsTest.assumeModelFetched();
        CliErrorsTest.Outcome o = CliErrorsTest.run("eval", "--model", "smollm2-135m", "--dataset", "udhr:eng",
                "--format", "nm", "--windows", "1");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("--format nm").contains("use format dense");
    }
}
