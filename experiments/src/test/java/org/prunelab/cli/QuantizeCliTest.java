package org.prunelab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quantisation and GGUF saving through the real CLI: bad requests are refused before any weight loads (nothing is
 * written), with a message naming the flag and the values that work. Uses the model cache {@code setup} filled.
 */
class QuantizeCliTest {

    private static CliErrorsTest.Outcome run(String... args) {
        return CliErrorsTest.run(args);
    }

    @Test
    void anUnknownQuantisationTypeListsTheKnownOnes(@TempDir Path dir) {
        CliErrorsTest.Outcome o = run("prune", "--method", "magnitude", "--sparsity", "0.5", "--quantize", "q5_k",
                "--out", dir.resolve("m").toString(), "--no-track");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("'q5_k'").contains("--quantize").contains("q8_0, q4_0").doesNotContain("\tat ");
        assertThat(dir.resolve("m")).doesNotExist();
        CliErrorsTest.Outcome q = run("quantize", "--type", "int3", "--out", dir.resolve("q").toString(), "--no-track");
        assertThat(q.status()).isEqualTo(1);
        assertThat(q.err()).contains("'int3'").contains("q8_0, q4_0");
        CliErrorsTest.Outcome m = run("prune", "--method", "wanda", "--sparsity", "0.5", "--quantize", "q8_0",
                "--quant-method", "awq", "--out", dir.resolve("m").toString(), "--no-track");
        assertThat(m.err()).contains("'awq'").contains("--quant-method").contains("rtn, gptq");
    }

    @Test
    void aQuantisedModelIsNotSavedAsSafetensorsAndGgufTypesAreChecked(@TempDir Path dir) {
        CliErrorsTest.Outcome o = run("prune", "--method", "magnitude", "--sparsity", "0.5", "--quantize", "q8_0",
                "--save-format", "safetensors", "--out", dir.resolve("m").toString(), "--no-track");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("--save-format safetensors cannot hold q8_0").contains("--save-format gguf");
        CliErrorsTest.Outcome t = run("prune", "--method", "magnitude", "--sparsity", "0.5", "--save-format", "gguf",
                "--gguf-type", "q4_0", "--out", dir.resolve("m").toString(), "--no-track");
        assertThat(t.err()).contains("--gguf-type q4_0 rounds the weights").contains("--quantize q4_0");
        CliErrorsTest.Outcome g = run("prune", "--method", "fasp", "--sparsity", "0.25", "--quantize", "q8_0",
                "--quant-method", "gptq", "--nsamples", "2", "--seqlen", "64", "--out", dir.resolve("m").toString(), "--no-track");
        assertThat(g.status()).isEqualTo(1);
        assertThat(g.err()).contains("fasp").contains("magnitude, wanda, sparsegpt");
        assertThat(dir.resolve("m")).doesNotExist();
    }

    @Test
    void formatNmQ8OnAModelThatIsNotNmNamesTheLayerAndWhatWorks() {
        CliErrorsTest.Outcome o = run("bench", "--format", "nm-q8", "--prompt-len", "8", "--gen", "2", "--repeat", "1",
                "--warmup", "0", "--no-track");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("--format nm-q8").contains("layer 0 q_proj").contains("needs 2:4 or 4:8 weights")
                .contains("--format auto").doesNotContain("\tat ");
    }
}
