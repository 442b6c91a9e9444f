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
    void moreThreadsThanCoresIsAllowedWithAWarningAndZeroIsRefused() {
        int cores = Runtime.getRuntime().availableProcessors();
        Outcome many = run("eval", "--model", "smollm2-135m", "--dataset", "no-such-corpus", "--threads", String.valueOf(cores + 1));
        assertThat(many.err()).contains("warning: --threads " + (cores + 1) + " is more than the " + cores + " cores");
        Outcome fits = run("eval", "--model", "smollm2-135m", "--dataset", "no-such-corpus", "--threads", String.valueOf(cores));
        assertThat(fits.err()).doesNotContain("warning: --threads");
        Outcome zero = run("eval", "--model", "smollm2-135m", "--dataset", "brown", "--threads", "0");
        assertThat(zero.status()).isEqualTo(1);
        assertThat(zero.err()).contains("--threads must be at least 1, got 0");
        org.prunelab.tensor.Parallel.setThreads(cores);
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

    /**
     * A method whose result the model's family cannot save is refused before anything runs: FLAP folds removed
     * channels into o_proj and down_proj biases, which a Qwen2 checkpoint (Qwen2ForCausalLM) has no place for.
     */
    @Test
    void aMethodTheFamilyCannotSaveIsRefusedUpFront(@org.junit.jupiter.api.io.TempDir Path dir) {
        Path qwen2 = Path.of("../core/src/test/resources/fixtures/tiny-qwen2/hf").toAbsolutePath();
        assertThat(qwen2.resolve("config.json")).exists();
        Path out = dir.resolve("pruned");
        Outcome o = run("prune", "--model", qwen2.toString(), "--method", "flap", "--sparsity", "0.25",
                "--calib", "brown", "--nsamples", "2", "--seqlen", "16", "--out", out.toString(), "--no-track");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).startsWith("error: ").contains("flap-pruned qwen2 model").contains("Qwen2ForCausalLM")
                .contains("o_proj, down_proj").contains("without saving (a point of a sweep spec").doesNotContain("\tat ").doesNotContain("prune flap [");
        assertThat(out).doesNotExist();
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

    /** Core names the parameter; each command spells it its own way (prune's evaluation windows are --eval-windows). */
    @Test
    void messagesNameTheCommandsOwnFlags(@org.junit.jupiter.api.io.TempDir Path dir) {
        assumeModelFetched();
        Outcome prune = run("prune", "--method", "wanda", "--sparsity", "0.5", "--eval", "udhr:eng", "--eval-windows", "-1",
                "--out", dir.resolve("out").toString());
        assertThat(prune.status()).isEqualTo(1);
        assertThat(prune.err()).isEqualTo("error: --eval-windows must be 0 (all) or positive, got -1\n");
        Outcome seqlen = run("prune", "--method", "wanda", "--sparsity", "0.5", "--seqlen", "0", "--out", dir.resolve("out").toString());
        assertThat(seqlen.err()).startsWith("error: --seqlen must be at least 2");
        Outcome evalSeqlen = run("prune", "--method", "wanda", "--sparsity", "0.5", "--eval", "brown", "--eval-seqlen", "9000",
                "--out", dir.resolve("out").toString());
        assertThat(evalSeqlen.err()).startsWith("error: --eval-seqlen 9000 is above").contains("use --eval-seqlen 8192 or less");
        Outcome eval = run("eval", "--dataset", "udhr:eng", "--seqlen", "1");
        assertThat(eval.err()).startsWith("error: --seqlen must be at least 2");
        Outcome bench = run("bench", "--prompt-len", "0");
        assertThat(bench.err()).contains("error: --prompt-len must be at least 1");
        // FASP's token minimum is checked before the model loads (and before a 28 s dense evaluation).
        Outcome fasp = run("prune", "--method", "fasp", "--sparsity", "0.25", "--nsamples", "1", "--seqlen", "64",
                "--eval", "brown", "--out", dir.resolve("out").toString());
        assertThat(fasp.err()).contains("only 64 tokens (--nsamples x --seqlen)").contains("--restore=false");
        assertThat(dir.resolve("out")).doesNotExist();
    }

    /** A sweep point the planner refuses stops the sweep before any point runs, naming its line. */
    @Test
    void aSweepPointThatCannotRunIsRefusedWithItsLineBeforeAnyPointRuns(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assumeModelFetched();
        Path spec = Files.writeString(dir.resolve("bad.yaml"), """
                name: bad
                experiment: never-made
                model: smollm2-135m
                calibration: {dataset: brown, nsamples: 1, seqlen: 64}
                evaluation: {seqlen: 64, windows: 1, datasets: [brown]}
                grid:
                  - method: dense
                  - method: fasp
                    sparsity: 0.25
                """);
        Outcome o = run("tradeoff", "--spec", spec.toString(), "--profile", "none", "--out", dir.resolve("t.md").toString());
        assertThat(o.status()).as(o.err()).isEqualTo(1);
        assertThat(o.err()).contains("error: bad.yaml line 8: point fasp-structured-0.25: fasp restoration refits over 1152 kept"
                + " inputs but the calibration has only 64 tokens (calibration.nsamples x calibration.seqlen)");
        assertThat(dir.resolve("t.md")).doesNotExist();
    }

    @Test
    void anEngineThatIsNotThereAndSparkOptionsWithoutSparkAreRefusedBeforeAnythingRuns(@org.junit.jupiter.api.io.TempDir Path dir) {
        Outcome none = run("tradeoff", "--engine", "nosuch", "--out", dir.resolve("t.md").toString());
        assertThat(none.status()).isEqualTo(1);
        assertThat(none.err()).startsWith("error: ").contains("no sweep engine 'nosuch'").doesNotContain("\tat ");
        Outcome master = run("tradeoff", "--master", "local[2]", "--out", dir.resolve("t.md").toString());
        assertThat(master.status()).isEqualTo(1);
        assertThat(master.err()).contains("--master and --conf configure --engine spark");
        assertThat(dir.resolve("t.md")).doesNotExist();
    }

    @Test
    void syncingAnOutboxFolderThatIsNotThereSaysSo(@org.junit.jupiter.api.io.TempDir Path dir) {
        Outcome o = run("mlflow", "sync", "--outbox", dir.resolve("no-such-outbox").toString());
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).startsWith("error: --outbox ").contains("no-such-outbox").contains("is not a folder");
    }

    @Test
    void jsonErrorsAreAJsonObjectOnStdout() throws Exception {
        Outcome o = run("prune", "--method", "obs", "--sparsity", "0.5", "--out", "/tmp/never", "--json");
        assertThat(o.status()).isEqualTo(1);
        var error = JsonOutput.MAPPER.readTree(o.out()).get("error");
        assertThat(error.get("type").asText()).isEqualTo("InvalidArgument");
        assertThat(error.get("message").asText()).contains("unknown pruning method 'obs'");
        assertThat(error.get("command").asText()).isEqualTo("prune");
        Outcome usage = run("eval", "--seqlen", "x", "--dataset", "brown", "--json");
        assertThat(usage.status()).isEqualTo(2);
        assertThat(JsonOutput.MAPPER.readTree(usage.out()).get("error").get("type").asText()).isEqualTo("Usage");
    }

    /** 0 windows means all of them, for eval as for prune --eval-windows and a sweep spec's windows; negative is refused. */
    @Test
    void zeroEvaluationWindowsMeansAllAndNegativeIsRefused() throws Exception {
        assumeModelFetched();
        Outcome all = run("eval", "--model", "smollm2-135m", "--dataset", "udhr:eng", "--seqlen", "1024", "--windows", "0", "--json");
        assertThat(all.status()).as(all.err()).isZero();
        Outcome none = run("eval", "--model", "smollm2-135m", "--dataset", "udhr:eng", "--seqlen", "1024", "--json");
        assertThat(JsonOutput.MAPPER.readTree(all.out()).get("windows").asInt())
                .isEqualTo(JsonOutput.MAPPER.readTree(none.out()).get("windows").asInt()).isPositive();
        Outcome negative = run("eval", "--model", "smollm2-135m", "--dataset", "brown", "--windows", "-2");
        assertThat(negative.status()).isEqualTo(1);
        assertThat(negative.err()).contains("--windows must be 0 (all) or positive, got -2");
    }
}
