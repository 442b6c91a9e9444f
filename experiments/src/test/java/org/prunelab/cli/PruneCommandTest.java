package org.prunelab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LoadedModel;
import org.prunelab.arch.ModelLoader;
import org.prunelab.tensor.FloatMatrix;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.prunelab.cli.CliErrorsTest.assumeModelFetched;
import static org.prunelab.cli.CliErrorsTest.run;

/** {@code prunelab prune} end to end on the real model at small settings, and its bad-input messages. */
class PruneCommandTest {

    static void assertUserError(CliErrorsTest.Outcome o, String... fragments) {
        assertThat(o.status()).as(o.err()).isEqualTo(1);
        assertThat(o.err()).startsWith("error: ").doesNotContain("\tat ");
        for (String f : fragments) assertThat(o.err()).contains(f);
    }

    @Test
    void badArgumentsAreRejectedBeforeLoadingTheModel(@TempDir Path tmp) throws Exception {
        String out = tmp.resolve("out").toString();
        assertUserError(run("prune", "--method", "wanda", "--sparsity", "1.0", "--out", out), "outside [0, 1)");
        assertUserError(run("prune", "--method", "wanda", "--sparsity", "-0.1", "--out", out), "outside [0, 1)");
        assertUserError(run("prune", "--method", "wanda", "--pattern", "4:4", "--out", out), "0 < N < M");
        assertUserError(run("prune", "--method", "wanda", "--pattern", "2:4", "--sparsity", "0.7", "--out", out), "drop --sparsity");
        assertUserError(run("prune", "--method", "wanda", "--sparsity", "0.5", "--nsamples", "0", "--out", out), "--nsamples", "at least 1");
        assertUserError(run("prune", "--method", "magnitude", "--sparsity", "0.5", "--owl", "--out", out), "--owl", "wanda", "sparsegpt");
        assertUserError(run("prune", "--method", "obs", "--sparsity", "0.5", "--out", out), "obs", "magnitude, wanda, sparsegpt");
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertUserError(run("prune", "--method", "magnitude", "--sparsity", "0.5", "--out", file.resolve("m").toString()),
                "cannot be written");
        assertUserError(run("prune", "--method", "magnitude", "--sparsity", "0.5", "--out", tmp.toString()), "already exists");
        assertThat(tmp.resolve("out")).doesNotExist();
    }

    @Test
    void badInputThatNeedsTheModel(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        Path text = Files.writeString(tmp.resolve("short.txt"), "A few words of calibration text, far too few.\n\nAnother line.");
        CliErrorsTest.Outcome o = run("prune", "--method", "wanda", "--sparsity", "0.5", "--calib", text.toString(),
                "--nsamples", "4", "--seqlen", "64", "--out", tmp.resolve("a").toString());
        assertUserError(o, "4 x 64 = 256", "tokens", "--nsamples");
        assertUserError(run("prune", "--method", "magnitude", "--pattern", "2:5", "--out", tmp.resolve("b").toString()),
                "divisible by 5", "576");
        assertThat(tmp.resolve("a")).doesNotExist();
        assertThat(tmp.resolve("b")).doesNotExist();
    }

    @Test
    void wandaOnTheRealModelSavesAReloadableModelAndItsReport(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        Path dir = tmp.resolve("wanda");
        CliErrorsTest.Outcome o = run("prune", "--model", "smollm2-135m", "--method", "wanda", "--sparsity", "0.5",
                "--calib", "brown", "--nsamples", "2", "--seqlen", "32", "--seed", "3", "--out", dir.toString(), "--json");
        assertThat(o.status()).as(o.err()).isZero();
        JsonNode summary = new ObjectMapper().readTree(o.out());
        assertThat(summary.get("actual_sparsity").asDouble()).isBetween(0.5, 0.5001);
        assertThat(summary.get("prune_seconds").asDouble()).isPositive();
        assertThat(summary.get("model_bytes").asLong()).isEqualTo(4L * 134_515_008);

        JsonNode report = new ObjectMapper().readTree(dir.resolve("prune_report.json").toFile());
        assertThat(report.get("method").asText()).isEqualTo("wanda");
        assertThat(report.get("linears")).hasSize(30 * 7);
        assertThat(report.get("calibration_windows")).hasSize(2);
        assertThat(report.get("calibration_windows").get(0).get("dataset").asText()).isEqualTo("brown");
        assertThat(report.get("calibration_windows").get(0).get("split").asText()).isEqualTo("calibration");

        PrunelabHome home = PrunelabHome.fromEnvironment();
        try (LoadedModel pruned = ModelLoader.load(dir.toString(), home); LoadedModel dense = ModelLoader.load("smollm2-135m", home)) {
            assertThat(pruned.model().embedTokens().data()).isEqualTo(dense.model().embedTokens().data());
            for (DecoderBlock b : pruned.model().blocks()) {
                for (String name : org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames()) {
                    FloatMatrix w = ((DenseLinear) b.linear(name)).weight();
                    for (int r = 0; r < w.rows(); r += 97) {
                        int zeros = 0;
                        for (int c = 0; c < w.cols(); c++) if (w.get(r, c) == 0f) zeros++;
                        assertThat(zeros).as("layer %d %s row %d", b.index(), name, r).isGreaterThanOrEqualTo(w.cols() / 2);
                    }
                }
            }
            int[] tokens = pruned.tokenizer().encode("The jury said it did find that");
            assertThat(pruned.model().logits(tokens)).isNotEqualTo(dense.model().logits(tokens));
        }
    }

    /** A calibration text that is also the evaluation text (a UDHR page saved as a .txt) is accepted, with a warning. */
    @Test
    void calibratingOnTheEvaluationTextWarnsAndIsRecorded(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        var udhr = org.prunelab.data.Datasets.resolve("udhr:eng", PrunelabHome.fromEnvironment());
        Path page = Files.writeString(tmp.resolve("udhr-page.txt"), String.join("\n\n",
                udhr.part(org.prunelab.data.Split.EVALUATION).stream().map(org.prunelab.data.Document::text).toList()));
        CliErrorsTest.Outcome o = run("prune", "--method", "wanda", "--sparsity", "0.3", "--calib", page.toString(), "--nsamples", "2",
                "--seqlen", "64", "--eval", "udhr:eng", "--eval-seqlen", "64", "--eval-windows", "2", "--out", tmp.resolve("w").toString());
        assertThat(o.status()).as(o.err()).isZero();
        assertThat(o.err()).containsPattern("warning: \\d+\\.\\d% of the calibration text \\(.*udhr-page.txt\\) also occurs in the"
                + " evaluation text of udhr:eng");
        JsonNode report = new ObjectMapper().readTree(tmp.resolve("w/prune_report.json").toFile());
        assertThat(report.get("warnings")).hasSize(1);
        assertThat(report.get("warnings").get(0).asText()).contains("udhr:eng");
        // Brown calibration, UDHR evaluation: different texts, no warning.
        o = run("prune", "--method", "wanda", "--sparsity", "0.3", "--nsamples", "2", "--seqlen", "64", "--eval", "udhr:eng",
                "--eval-seqlen", "64", "--eval-windows", "2", "--out", tmp.resolve("b").toString());
        assertThat(o.status()).as(o.err()).isZero();
        assertThat(o.err()).doesNotContain("warning");
    }

    /**
     * Calibrating on UDHR: an unknown translation in a calibration list is named with its close matches before the
     * model loads; a too-large calibration is refused naming the tokens there are; mwanda calibrated on one language
     * runs (as Wanda) and says so, next to the warning that UDHR's calibration set is small.
     */
    @Test
    void udhrCalibrationListsAndMWandaOnOneLanguage(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        assertUserError(run("prune", "--method", "mwanda", "--sparsity", "0.5", "--calib", "udhr:eng,udhr:xyz",
                "--nsamples", "4", "--seqlen", "64", "--out", tmp.resolve("a").toString()), "no UDHR translation 'xyz'");
        assertUserError(run("prune", "--method", "wanda", "--sparsity", "0.5", "--calib", "udhr:swh",
                "--nsamples", "128", "--seqlen", "512", "--out", tmp.resolve("b").toString()),
                "the calibration part of udhr:swh has", "tokens in all", "--seqlen 128 fits)", "articles 1, 4, ..., 28");
        CliErrorsTest.Outcome o = run("prune", "--method", "mwanda", "--sparsity", "0.5", "--calib", "udhr:swh",
                "--nsamples", "4", "--seqlen", "64", "--eval", "udhr:swh", "--eval-seqlen", "64", "--eval-windows", "2",
                "--out", tmp.resolve("c").toString());
        assertThat(o.status()).as(o.err()).isZero();
        assertThat(o.err()).contains("warning: the calibration set is small: udhr:swh calibrates on UDHR articles 1, 4, ..., 28")
                .contains("warning: mwanda was calibrated on one language (sw): its cross-lingual terms vanish and it prunes"
                        + " exactly as wanda").doesNotContain("also occurs in the evaluation text");
        JsonNode report = new ObjectMapper().readTree(tmp.resolve("c/prune_report.json").toFile());
        assertThat(report.get("warnings")).hasSize(2);
        assertThat(report.get("calib_dataset").asText()).isEqualTo("udhr:swh");
        assertThat(report.get("calibration_windows")).hasSize(4);
        assertThat(report.get("calibration_windows").get(0).get("language").asText()).isEqualTo("sw");
        assertThat(report.get("cwl_block_sparsities")).as("one language: no cross-lingual allocation").isNull();
    }

    /** A user's text file: the evaluation split by default (and the output says so), the whole text with --split all. */
    @Test
    void evalSaysWhichPartOfAFileItReadAndSplitAllReadsTheWholeText(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        StringBuilder text = new StringBuilder();
        var brown = org.prunelab.data.Datasets.resolve("brown", PrunelabHome.fromEnvironment());
        for (int i = 0; i < 20; i++) text.append(brown.documents().get(i).text(), 0, 2000).append("\n\n");
        Path file = Files.writeString(tmp.resolve("mine.txt"), text);
        CliErrorsTest.Outcome part = run("eval", "--dataset", file.toString(), "--seqlen", "64", "--json");
        CliErrorsTest.Outcome whole = run("eval", "--dataset", file.toString(), "--seqlen", "64", "--split", "all", "--json");
        assertThat(part.status()).as(part.err()).isZero();
        assertThat(whole.status()).as(whole.err()).isZero();
        JsonNode p = new ObjectMapper().readTree(part.out());
        JsonNode w = new ObjectMapper().readTree(whole.out());
        assertThat(p.get("split").asText()).isEqualTo("evaluation");
        assertThat(p.get("part").asText()).startsWith("evaluation split: 1 of ").contains("(paragraphs of the file: unit index % 10 == 0");
        assertThat(w.get("split").asText()).isEqualTo("all");
        assertThat(w.get("part").asText()).startsWith("whole text");
        // Paragraphs 0 and 10 of 20 against all 20.
        assertThat(w.get("windows").asInt()).isGreaterThan(8 * p.get("windows").asInt());
        CliErrorsTest.Outcome text0 = run("eval", "--dataset", file.toString(), "--seqlen", "64");
        assertThat(text0.out()).contains("evaluation split: 1 of ");
    }

    /** What a run did differently from what was asked is said: ignored options, fewer windows than asked, repeats. */
    @Test
    void ignoredOptionsShortEvaluationsAndRepeatsAreSaid(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        CliErrorsTest.Outcome o = run("prune", "--method", "magnitude", "--sparsity", "0.3", "--nsamples", "4", "--seed", "5",
                "--eval", "udhr:eng", "--eval-seqlen", "1024", "--eval-windows", "1000", "--out", tmp.resolve("m").toString());
        assertThat(o.status()).as(o.err()).isZero();
        assertThat(o.err()).contains("warning: magnitude reads no calibration data: --nsamples, --seed are not used")
                .containsPattern("warning: --eval-windows 1000 asked of udhr:eng, whose evaluation text has \\d+ windows of 1024 tokens");
        JsonNode report = new ObjectMapper().readTree(tmp.resolve("m/prune_report.json").toFile());
        assertThat(report.get("warnings").get(0).asText()).startsWith("windows 1000 asked of udhr:eng");
        assertUserError(run("prune", "--method", "magnitude", "--sparsity", "0.3", "--eval", "brown", "--eval", "brown",
                "--out", tmp.resolve("d").toString()), "evaluation set brown is given twice (--eval)");
        assertUserError(run("prune", "--method", "shortgpt", "--sparsity", "0.99", "--out", tmp.resolve("s").toString()),
                "--sparsity 0.99 would remove round(0.99 x 30) = 30 blocks", "use --sparsity 0.95 or less");
        assertUserError(run("prune", "--method", "shortgpt", "--sparsity", "0", "--out", tmp.resolve("s").toString()),
                "--sparsity 0.0 for shortgpt must be in (0, 1)");
    }

    /** kill -9 while pruning: the output directory must not exist, not even partly. */
    @Test
    void aKilledRunLeavesNoOutputDirectory(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        Path dir = tmp.resolve("killed");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "org.prunelab.cli.Main",
                "prune", "--method", "sparsegpt", "--sparsity", "0.5", "--nsamples", "8", "--seqlen", "128",
                "--no-track", "--out", dir.toString()));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        boolean pruning = false;
        try (BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream()))) {
            for (String line; (line = err.readLine()) != null; ) {
                if (line.contains("block 1/30")) {
                    pruning = true;
                    break;
                }
            }
            p.destroyForcibly();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(pruning).as("the child reached the pruning loop").isTrue();
        assertThat(dir).doesNotExist();
        try (var left = Files.list(tmp)) {
            assertThat(left).isEmpty();
        }
    }
}
