package org.prunelab.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bad input through the real CLI: a clear one-line message on stderr, no stack trace, a non-zero exit status.
 * Cases that need the real model use the cache that {@code ./prunelab setup} filled.
 */
class CliErrorsTest {

    record Outcome(int status, String out, String err) {}

    static Outcome run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Outcome(status, out.toString(), err.toString());
    }

    @Test
    void unknownDatasetNamesTheValidOnes() {
        Outcome o = run("eval", "--model", "smollm2-135m", "--dataset", "no-such-corpus");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).startsWith("error: ").contains("no-such-corpus").contains("brown").doesNotContain("\tat ");
    }

    @Test
    void unknownModelSaysWhatIsRegistered() {
        Outcome o = run("eval", "--model", "gpt-17", "--dataset", "brown");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("gpt-17").contains("smollm2-135m").doesNotContain("\tat ");
    }

    @Test
    void notAGgufFileIsAModelFormatError(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path fake = Files.writeString(dir.resolve("model.gguf"), "this is not a model");
        Outcome o = run("eval", "--model", fake.toString(), "--dataset", "brown");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).startsWith("error: ").contains("model.gguf").doesNotContain("\tat ");
    }

    @Test
    void seqlenAboveTheContextIsRejected() {
        assumeModelFetched();
        Outcome o = run("eval", "--model", "smollm2-135m", "--dataset", "udhr:eng", "--seqlen", "9000");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("--seqlen 9000").contains("8192").doesNotContain("\tat ");
    }

    @Test
    void datasetTooShortForOneWindowSaysHowManyTokensThereAre(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assumeModelFetched();
        Path text = Files.writeString(dir.resolve("tiny.txt"), "Only a few words here.");
        Outcome o = run("eval", "--model", "smollm2-135m", "--dataset", text.toString(), "--seqlen", "512");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).startsWith("error: ").contains("512").containsPattern("\\d+ tokens").doesNotContain("\tat ");
    }

    /** Skips a test that needs the real model when setup has not fetched it. */
    static void assumeModelFetched() {
        Path model = org.prunelab.cache.Artifacts.SMOLLM2_135M.location(org.prunelab.cache.PrunelabHome.fromEnvironment());
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(model), "model not fetched; run ./prunelab setup");
    }

    @Test
    void usageErrorsExitWithTwo() {
        Outcome o = run("eval", "--seqlen", "not-a-number", "--dataset", "brown");
        assertThat(o.status()).isEqualTo(2);
    }

    @Test
    void mlflowWithoutASubcommandIsAUsageError() {
        Outcome o = run("mlflow");
        assertThat(o.status()).isEqualTo(2);
        assertThat(o.err()).contains("start, stop, url or sync");
    }

    @Test
    void zeroEvaluationWindowsIsRefusedNotTakenAsAll() {
        Outcome o = run("eval", "--model", "smollm2-135m", "--dataset", "brown", "--windows", "0");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("--windows must be at least 1");
    }
}
