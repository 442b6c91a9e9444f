package org.prunelab.sweep;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.Progress;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.run.EvalResult;
import org.prunelab.cache.Artifacts;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.track.MlflowNames;
import org.prunelab.track.MlflowRest;
import org.prunelab.track.MlflowServer;
import org.prunelab.track.MlflowTrackingIntegrationTest;
import org.prunelab.track.RunContext;
import org.prunelab.track.TrackedRun;
import org.prunelab.track.Tracker;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Sweeps against a real {@code mlflow server} on loopback (from {@code .venv-mlflow}), read back through
 * MLflow's REST API: a two-point sweep on the real model, a server that dies mid-sweep, a sweep killed
 * mid-run and resumed.
 */
class SweepMlflowIntegrationTest {
    @TempDir
    static Path serverDir;
    @TempDir
    Path tmp;

    static Path root;
    static MlflowServer server;

    @BeforeAll
    static void startServer() {
        root = MlflowTrackingIntegrationTest.projectRoot();
        server = MlflowTrackingIntegrationTest.startLocalServer(serverDir);
    }

    @BeforeEach
    void needsTheVenv() {
        assumeTrue(server != null, "no MLflow venv at " + root.resolve(".venv-mlflow") + ": run tools/mlflow/setup.sh");
        server.start();   // a test before may have stopped it
    }

    @AfterAll
    static void stopServer() {
        if (server != null) server.stop();
    }

    private Tracker connect() {
        return Tracker.connect(server.url().orElseThrow(), tmp.resolve("outbox"), Tracker.pythonFor(root), RunContext.tags(root));
    }

    @Test
    void aTwoPointSweepOnTheRealModelIsStoredAsNestedRunsWithParamsMetricsAndArtifacts() {
        PrunelabHome home = PrunelabHome.fromEnvironment();
        assumeTrue(Files.exists(Artifacts.SMOLLM2_135M.location(home)), "model not fetched; run ./prunelab setup");
        SweepSpec spec = SweepSpecLoader.parse("""
                name: it-real
                experiment: it-sweep-real
                model: smollm2-135m
                calibration: {dataset: brown, nsamples: 2, seqlen: 64}
                evaluation: {seqlen: 64, windows: 2, datasets: [brown, "udhr:swh"]}
                speed: {seqlen: 16, repeats: 1}
                grid:
                  - method: [magnitude, wanda]
                    sparsity: 0.5
                  - method: dense
                """, "it.yaml", null, SweepSpecLoader.Checks.NONE);
        SweepOutcome outcome;
        try (Tracker tracker = connect();
             Pipeline executor = new Pipeline(home)) {
            outcome = new SweepRunner(tracker, executor, tmp.resolve("state")).run(spec, Progress.NONE);
            assertThat(tracker.isOnline()).isTrue();
        }
        assertThat(outcome.failures()).isEmpty();
        assertThat(outcome.results()).hasSize(3);
        // Each pruning point gives up the loaded model block by block (so its memory overhead is the method's, not a
        // second copy's) and the next point loads it again: the dense point after two pruning points measures the
        // dense model, not a pruned one.
        RunResult densePoint = outcome.results().get(2);
        assertThat(densePoint.spec().method()).isEqualTo("dense");
        for (int i = 0; i < 2; i++) {
            assertThat(densePoint.evals().get(i).perplexity()).isEqualTo(outcome.results().get(0).evals().get(i).perplexityDense());
        }

        MlflowRest rest = new MlflowRest(server.url().orElseThrow());
        List<MlflowRest.Run> runs = rest.runList("it-sweep-real");
        assertThat(runs).hasSize(1 + 3 + 3 * 2);
        MlflowRest.Run parent = only(runs, r -> !r.tags().containsKey(MlflowNames.PARENT_RUN_ID_TAG));
        assertThat(parent.params()).containsEntry("points", "3").containsEntry("sweep", "it-real");
        assertThat(parent.tags()).containsEntry(MlflowNames.SWEEP_TAG, "it-real")
                .containsKeys(MlflowNames.VERSION_TAG, MlflowNames.CPU_MODEL_TAG, MlflowNames.JDK_VERSION_TAG);
        assertThat(rest.artifacts(parent.id(), "")).containsKey("sweep_spec.yaml");
        assertThat(parent.status()).isEqualTo("FINISHED");

        for (RunResult r : outcome.results().subList(0, 2)) {
            MlflowRest.Run point = only(runs, x -> r.spec().key().equals(x.tags().get(MlflowNames.SPEC_KEY_TAG)));
            assertThat(point.status()).isEqualTo("FINISHED");
            assertThat(point.tags()).containsEntry(MlflowNames.PARENT_RUN_ID_TAG, parent.id());
            assertThat(point.params()).containsEntry("model", "smollm2-135m").containsEntry("method", r.spec().method())
                    .containsEntry("sparsity", "0.5").containsEntry("pattern", "unstructured").containsEntry("seed", "0");
            if (r.spec().method().equals("wanda")) {
                assertThat(point.params()).containsEntry("calib_dataset", "brown").containsEntry("nsamples", "2")
                        .containsEntry("seqlen", "64");
            }
            assertThat(point.latestMetrics().get("actual_sparsity")).isCloseTo(0.5, within(1e-3));
            assertThat(point.latestMetrics()).containsKeys("params_total", "params_nonzero", "model_bytes", "prune_seconds",
                    "peak_rss_bytes", "memory_overhead_ratio", "prefill_tokens_per_s", "speedup_prefill", "perplexity", "ppl_ratio");
            assertThat(point.latestMetrics().get("params_nonzero")).isLessThan(point.latestMetrics().get("params_total"));
            // Keeping the dense model while a copy is pruned would add the copy's 106M block weights (~0.8 x model).
            assertThat(point.latestMetrics().get("memory_overhead_ratio")).as("memory overhead of " + r.spec().method()).isLessThan(0.5);
            assertThat(rest.artifacts(point.id(), "")).containsKeys("prune_report.json", "run_spec.yaml", "point_result.json");
            for (EvalResult e : r.evals()) {
                MlflowRest.Run eval = only(runs, x -> point.id().equals(x.tags().get(MlflowNames.PARENT_RUN_ID_TAG))
                        && e.dataset().equals(x.params().get("eval_dataset")));
                assertThat(eval.params()).containsEntry("language", e.language()).containsEntry("eval_seqlen", "64")
                        .containsEntry("eval_windows", "2");
                assertThat(rest.metricHistory(eval.id(), "perplexity")).containsExactly(e.perplexity());
                assertThat(rest.metricHistory(eval.id(), "perplexity_dense")).containsExactly(e.perplexityDense());
                // the 95% bootstrap intervals over the 2 windows: perplexity's, and the paired one of the ratio
                assertThat(rest.metricHistory(eval.id(), "perplexity_lo")).containsExactly(e.perplexityInterval().lo());
                assertThat(rest.metricHistory(eval.id(), "perplexity_hi")).containsExactly(e.perplexityInterval().hi());
                assertThat(rest.metricHistory(eval.id(), "ppl_ratio_lo")).containsExactly(e.ratioInterval().lo());
                assertThat(rest.metricHistory(eval.id(), "ppl_ratio_hi")).containsExactly(e.ratioInterval().hi());
                assertThat(e.perplexityInterval().lo()).isLessThanOrEqualTo(e.perplexity());
                assertThat(e.perplexityInterval().hi()).isGreaterThanOrEqualTo(e.perplexity());
                assertThat(e.perplexity()).isGreaterThan(e.perplexityDense());   // half the weights gone costs something
            }
        }
        assertThat(outcome.results().get(0).evals().get(0).perplexityDense())
                .isEqualTo(outcome.results().get(1).evals().get(0).perplexityDense());
    }

    @Test
    void aServerStoppedMidSweepLetsTheSweepFinishAndSyncSendsEveryRecordOnce() {
        SweepSpec spec = SweepResumeOfflineTest.threePoints("it-sweep-fault");
        ScriptedExecutor executor = new ScriptedExecutor(-1, 0, () -> server.stop());
        SweepOutcome outcome;
        try (Tracker tracker = connect()) {
            outcome = new SweepRunner(tracker, executor, tmp.resolve("state")).run(spec, Progress.NONE);
            assertThat(tracker.isOnline()).isFalse();
        }
        assertThat(outcome.ran()).isEqualTo(3);
        assertThat(outcome.failures()).isEmpty();
        assertThat(outboxFiles()).isNotEmpty();

        server.start();
        try (Tracker reconnected = connect()) {
            assertThat(reconnected.lastSync().orElseThrow().complete()).isTrue();
        }
        assertThat(outboxFiles()).isEmpty();
        assertEveryPointOnce(spec, 1);
        try (Tracker again = connect()) {
            assertThat(again.sync().recordsSent()).isZero();
        }
        assertEveryPointOnce(spec, 1);
    }

    @Test
    void aSweepKilledMidRunResumesWithOnlyTheMissingPoints() {
        SweepSpec spec = SweepResumeOfflineTest.threePoints("it-sweep-kill");
        ScriptedExecutor first = new ScriptedExecutor(1, -1, null);
        try (Tracker tracker = connect()) {
            assertThatThrownBy(() -> new SweepRunner(tracker, first, tmp.resolve("state")).run(spec, Progress.NONE))
                    .isInstanceOf(ScriptedExecutor.Killed.class);
        }
        String staleParent;
        try (Tracker tracker = connect()) {
            // What kill -9 leaves behind: a parent run of this sweep that nobody ends.
            TrackedRun stale = tracker.startRun(spec.experiment(), spec.name());
            stale.setTags(Map.of(MlflowNames.SWEEP_TAG, spec.name()));
            staleParent = stale.runId().orElseThrow();
        }
        ScriptedExecutor second = new ScriptedExecutor(-1, -1, null);
        SweepOutcome outcome;
        try (Tracker tracker = connect()) {
            outcome = new SweepRunner(tracker, second, tmp.resolve("state")).run(spec, Progress.NONE);
        }
        assertThat(second.ran).containsExactly(spec.points().get(1).key(), spec.points().get(2).key());
        assertThat(outcome.skipped()).isEqualTo(1);
        assertThat(outcome.results()).hasSize(3);
        assertEveryPointOnce(spec, 3);

        MlflowRest rest = new MlflowRest(server.url().orElseThrow());
        assertThat(rest.runList("it-sweep-kill").stream().filter(r -> r.id().equals(staleParent)))
                .as("the dead invocation's parent run").singleElement().extracting(MlflowRest.Run::status).isEqualTo("KILLED");
        List<MlflowRest.Run> killed = rest.runList("it-sweep-kill").stream()
                .filter(r -> spec.points().get(1).key().equals(r.tags().get(MlflowNames.SPEC_KEY_TAG)))
                .filter(r -> !r.status().equals("FINISHED")).toList();
        assertThat(killed).as("the point the kill interrupted").singleElement()
                .extracting(MlflowRest.Run::status).isEqualTo("KILLED");
    }

    /** Each point has exactly one FINISHED run whose metrics were stored once; {@code parents} sweep runs. */
    private void assertEveryPointOnce(SweepSpec spec, int parents) {
        MlflowRest rest = new MlflowRest(server.url().orElseThrow());
        List<MlflowRest.Run> runs = rest.runList(spec.experiment());
        assertThat(runs.stream().filter(r -> !r.tags().containsKey(MlflowNames.PARENT_RUN_ID_TAG))).hasSize(parents);
        for (RunSpec p : spec.points()) {
            List<MlflowRest.Run> finished = runs.stream()
                    .filter(r -> p.key().equals(r.tags().get(MlflowNames.SPEC_KEY_TAG)) && r.status().equals("FINISHED")).toList();
            assertThat(finished).as(p.name()).hasSize(1);
            MlflowRest.Run point = finished.getFirst();
            assertThat(rest.metricHistory(point.id(), "perplexity")).containsExactly(ScriptedExecutor.perplexity(p));
            assertThat(point.params()).containsEntry("method", p.method());
            assertThat(rest.artifacts(point.id(), "")).containsKeys("prune_report.json", "run_spec.yaml", "point_result.json");
            List<MlflowRest.Run> evals = runs.stream().filter(r -> point.id().equals(r.tags().get(MlflowNames.PARENT_RUN_ID_TAG))).toList();
            assertThat(evals).extracting(r -> r.params().get("eval_dataset")).containsExactlyInAnyOrder("brown", "udhr:swh");
            for (MlflowRest.Run e : evals) assertThat(rest.metricHistory(e.id(), "ppl_ratio")).hasSize(1);
        }
    }

    private List<Path> outboxFiles() {
        try (Stream<Path> files = Files.list(tmp.resolve("outbox"))) {
            return files.filter(f -> f.toString().endsWith(".jsonl")).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static MlflowRest.Run only(List<MlflowRest.Run> runs, java.util.function.Predicate<MlflowRest.Run> p) {
        List<MlflowRest.Run> matching = runs.stream().filter(p).toList();
        assertThat(matching).hasSize(1);
        return matching.getFirst();
    }

}
