package org.prunelab.notebook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.bench.RandomWeights;
import org.prunelab.cache.Artifacts;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.cli.Main;
import org.prunelab.data.Tokenizer;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.arch.ModelLoader;
import org.prunelab.arch.PrunedModelWriter;
import org.prunelab.prune.Method;
import org.prunelab.prune.Methods;
import org.prunelab.run.Pipeline;
import org.prunelab.run.PruneReport;
import org.prunelab.run.RunExecutor;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.sweep.SweepOutcome;
import org.prunelab.sweep.SweepRunner;
import org.prunelab.sweep.SweepSpec;
import org.prunelab.sweep.SweepSpecLoader;
import org.prunelab.track.Tracker;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The acceptance test of the one run path: every registered method (and the main variants of their parameters) run
 * from the CLI ({@code prune}), as a one-point sweep and from the notebook facade, on a tiny random model with the real
 * SmolLM2 tokenizer, calibrated on Brown and evaluated on UDHR English; the three {@code prune_report.json} files
 * are identical but for the measured keys (time and memory, {@link PruneReport#MEASURED}). Random weights are for the
 * plumbing only: no quality number is read from them.
 */
class EntryPointsAgreeTest {
    /** hidden 64, MLP 128, 2 blocks, 4 heads in 2 key/value groups of head_dim 16, SmolLM2's vocabulary, context 256. */
    static final DecoderConfig TINY = new DecoderConfig(64, 128, 2, 4, 2, 16, 49152, 256, 1e-5, 10000, null, true, 1, 2);

    @TempDir
    static Path work;
    static Path model;

    /**
     * Every registered method at sparsity 0.25 (what that is a share of is each method's own), so a method added to the
     * registry is run here with no change to this test, and the main variants of the current methods' parameters.
     */
    static Map<String, Map<String, Object>> runs() {
        Map<String, Map<String, Object>> r = new LinkedHashMap<>();
        for (Method m : Methods.all()) r.put(m.name(), Map.of("sparsity", 0.25));
        r.put("wanda owl", Map.of("sparsity", 0.5, "owl", true));
        r.put("sparsegpt 2:4", Map.of("pattern", "2:4"));
        r.put("fasp global norestore", Map.of("sparsity", 0.25, "allocation", "global", "restore", false));
        r.put("shortgpt layers", Map.of("layers", 1));
        r.put("lowrank aw", Map.of("rank_ratio", 0.5, "activation_weighted", true));
        return r;
    }

    @BeforeAll
    static void tinyModel() throws Exception {
        PrunelabHome home = PrunelabHome.fromEnvironment();
        assumeTrue(Files.exists(Artifacts.SMOLLM2_135M.location(home)), "needs the SmolLM2 tokenizer: run ./prunelab setup");
        model = work.resolve("tiny");
        DecoderModel tiny = ModelLoader.build(TINY, new RandomWeights(TINY, 3, 0.2));
        try (Tokenizer tokenizer = ModelLoader.loadTokenizer("smollm2-135m", home)) {
            PrunedModelWriter.write(model, tiny, tokenizer, Map.of());
        }
    }

    @Test
    void cliSweepAndNotebookWriteTheSamePruneReport() throws Exception {
        Model dense = Prunelab.load(model.toString());
        Calibration calib = Prunelab.calibration("brown", 4, 64, 0);
        int i = 0;
        for (Map.Entry<String, Map<String, Object>> run : runs().entrySet()) {
            String method = run.getKey().split(" ")[0];
            Map<String, Object> params = run.getValue();
            Path dir = work.resolve("run" + i++);

            // 1. The CLI.
            List<String> args = new ArrayList<>(List.of("prune", "--model", model.toString(), "--method", method,
                    "--calib", "brown", "--nsamples", "4", "--seqlen", "64", "--seed", "0", "--eval", "udhr:eng",
                    "--eval-seqlen", "64", "--eval-windows", "2", "--out", dir.resolve("cli").toString(), "--no-track"));
            params.forEach((k, v) -> {
                if (v instanceof Boolean b) args.add(b ? "--" + k.replace('_', '-') : "--no-" + k.replace('_', '-'));
                else args.addAll(List.of("--" + k.replace('_', '-'), v.toString()));
            });
            StringWriter err = new StringWriter();
            int rc = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args.toArray(String[]::new));
            assertThat(rc).as(run.getKey() + ": " + err).isZero();
            JsonNode cli = PruneReport.read(Files.readString(dir.resolve("cli/prune_report.json")));

            // 2. A one-point sweep, through the sweep runner and its real executor (the pipeline).
            StringBuilder yaml = new StringBuilder("name: one\nexperiment: entry-points\nmodel: " + model + "\n"
                    + "calibration: {dataset: brown, nsamples: 4, seqlen: 64}\nseed: 0\n"
                    + "evaluation: {seqlen: 64, windows: 2, datasets: [\"udhr:eng\"]}\nspeed: {seqlen: 8, repeats: 1, gen: 2}\n"
                    + "grid:\n  - method: " + method + "\n");
            params.forEach((k, v) -> yaml.append("    ").append(k).append(": ").append(v instanceof String s ? "\"" + s + "\"" : v).append('\n'));
            SweepSpec sweep = SweepSpecLoader.parse(yaml.toString(), "one.yaml", null, SweepSpecLoader.Checks.NONE);
            assertThat(sweep.points()).hasSize(1);
            Path sweepReport = dir.resolve("sweep_prune_report.json");
            try (Tracker tracker = Tracker.offline(dir.resolve("outbox"), Map.of(), "test: no server");
                 Pipeline pipeline = new Pipeline(PrunelabHome.fromEnvironment());
                 RunExecutor capture = new Capture(pipeline, sweepReport)) {
                SweepOutcome outcome = new SweepRunner(tracker, capture, dir.resolve("state")).run(sweep, Progress.NONE);
                assertThat(outcome.failures()).as(run.getKey()).isEmpty();
            }
            JsonNode swept = PruneReport.read(Files.readString(sweepReport));

            // 3. The notebook facade.
            Model pruned = Prunelab.prune(dense, method, params, calib, List.of("udhr:eng"), 64, 2);
            JsonNode notebook = PruneReport.read(Prunelab.report(pruned));

            JsonNode expected = withoutMeasured(cli);
            assertThat(withoutMeasured(swept)).as(run.getKey() + ": sweep vs CLI").isEqualTo(expected);
            assertThat(withoutMeasured(notebook)).as(run.getKey() + ": notebook vs CLI").isEqualTo(expected);
            assertThat(cli.get("schema_version").asInt()).isEqualTo(PruneReport.SCHEMA_VERSION);
            assertThat(cli.get("method").asText()).isEqualTo(method);
            assertThat(cli.get("evaluation")).hasSize(1);
            assertThat(cli.get("perplexity").asDouble()).isPositive();
            for (String key : PruneReport.MEASURED) assertThat(cli.has(key)).as(key).isTrue();
            Method m = Methods.byName(method);
            assertThat(cli.get("kind").asText()).isEqualTo(m.kind().label());
            assertThat(cli.get("sparsity_of").asText()).isEqualTo(m.sparsityOf());
            assertThat(cli.get("actual_sparsity").asDouble()).isBetween(0.0, 1.0);
            pruned.loaded().close();
        }
    }

    @Test
    void theNotebookNamesItsOwnArguments() {
        Model dense = Prunelab.load(model.toString());
        assertThatThrownBy(() -> Prunelab.perplexity(dense, "udhr:eng", 64, -1))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessage("windows must be 0 (all) or positive, got -1");
        assertThatThrownBy(() -> Prunelab.prune(dense, "wanda", 0.5, new Calibration("brown", 4, 9000, 0)))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageStartingWith("seqlen 9000 is above");
        assertThatThrownBy(() -> Prunelab.prune(dense, "fasp", Map.of("sparsity", 0.25, "owl", true), Calibration.DEFAULT))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("method fasp has no parameter owl (wanda, sparsegpt take it)");
    }

    /** Delegates to the pipeline and keeps the point's prune_report.json (the sweep deletes its work folder). */
    private record Capture(Pipeline pipeline, Path keep) implements RunExecutor {
        @Override
        public RunResult run(RunSpec spec, Path workDir, Progress progress) {
            RunResult r = pipeline.run(spec, workDir, progress);
            try {
                Files.copy(workDir.resolve(PruneReport.FILE), keep);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return r;
        }

        @Override public String describe() { return pipeline.describe(); }

        @Override public void close() {}
    }

    private static ObjectNode withoutMeasured(JsonNode report) {
        ObjectNode copy = ((ObjectNode) report).deepCopy();
        PruneReport.MEASURED.forEach(copy::remove);
        return copy;
    }
}
