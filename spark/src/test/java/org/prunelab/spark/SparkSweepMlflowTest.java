package org.prunelab.spark;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.Progress;
import org.prunelab.cache.Artifacts;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.run.EvalResult;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.sweep.SweepEngine;
import org.prunelab.sweep.SweepOutcome;
import org.prunelab.sweep.SweepRunner;
import org.prunelab.sweep.SweepSpec;
import org.prunelab.sweep.SweepSpecLoader;
import org.prunelab.tensor.Parallel;
import org.prunelab.track.MlflowNames;
import org.prunelab.track.MlflowRest;
import org.prunelab.track.MlflowServer;
import org.prunelab.track.MlflowTrackingIntegrationTest;
import org.prunelab.track.RunContext;
import org.prunelab.track.Tracker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Spark engine in local mode ({@code local[2]}: two task slots in this JVM) against a real {@code mlflow server}
 * on loopback, on the real SmolLM2-135M with tiny evaluations: every point once in MLflow and a re-run that skips them
 * all, a task that fails mid-point and one whose "executor" is lost, both retried and logged once, the executors'
 * outbox when there is no server, and the same perplexities as the in-process sweep, bit for bit.
 */
class SparkSweepMlflowTest {
    @TempDir
    static Path serverDir;
    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    static Path root;
    static MlflowServer server;
    private static SweepOutcome fourPoints;

    @BeforeAll
    static void startServer() {
        root = MlflowTrackingIntegrationTest.projectRoot();
        server = MlflowTrackingIntegrationTest.startLocalServer(serverDir);
    }

    @BeforeEach
    void needsTheVenvAndTheModel() {
        assumeTrue(server != null, "no MLflow venv at " + root.resolve(".venv-mlflow") + ": run tools/mlflow/setup.sh");
        assumeTrue(Files.exists(Artifacts.SMOLLM2_135M.location(PrunelabHome.fromEnvironment())),
                "model not fetched; run ./prunelab setup");
    }

    @AfterAll
    static void stopServer() {
        if (server != null) server.stop();
    }

    /**
     * A sweep on SmolLM2 with 2 x 64 calibration tokens, 2 evaluation windows of 64 tokens, and no speed
     * measurement (a spec file always measures speed; its timed runs would only slow these tests down).
     */
    static SweepSpec spec(String experiment, String grid) {
        SweepSpec parsed = SweepSpecLoader.parse("""
                name: spark-it
                experiment: %s
                model: smollm2-135m
                calibration: {dataset: brown, nsamples: 2, seqlen: 64}
                evaluation: {seqlen: 64, windows: 2, datasets: [brown]}
                grid:
                %s
                """.formatted(experiment, grid.indent(2)), "spark-it.yaml", null, SweepSpecLoader.Checks.NONE);
        List<RunSpec> points = parsed.points().stream().map(p -> new RunSpec(p.model(), p.method(), p.params(),
                p.calibration(), p.evaluation(), p.format(), null, p.seed(), p.quantize())).toList();
        Map<String, Integer> lines = new java.util.HashMap<>();
        for (int i = 0; i < points.size(); i++) lines.put(points.get(i).key(), parsed.line(parsed.points().get(i)));
        return new SweepSpec(parsed.name(), parsed.experiment(), parsed.profile(), points, parsed.speed(), parsed.text(),
                parsed.datasetLines(), lines);
    }

    /**
     * Four points. ShortGPT: a 2 x 64-token calibration pass and a copy without 1-3 blocks, about a second each; a mask
     * method (magnitude, wanda) sorts all 106M block weights on one thread, 5-15 s a point on this machine.
     */
    static final String FOUR = """
            - method: shortgpt
              layers: [1, 2, 3]
            - method: dense
            """;

    private static Tracker connect(Path outbox) {
        return Tracker.connect(server.url().orElseThrow(), outbox, Tracker.pythonFor(root), RunContext.tags(root));
    }

    private static SweepEngine.Job job(SweepSpec spec, Tracker tracker, Path state, Path outbox) {
        return new SweepEngine.Job(spec, tracker, state, root, 1, Map.of("spark.master", "local[2]",
                "spark.ui.enabled", "false", SparkSweepEngine.OUTBOX, outbox.toString()));
    }

    /** The four-point sweep on Spark, run once for the tests that look at it. */
    private static synchronized SweepOutcome sparkFourPoints() {
        if (fourPoints == null) {
            SweepSpec spec = spec("spark-four", FOUR);
            try (Tracker tracker = connect(shared.resolve("outbox"))) {
                fourPoints = new SparkSweepEngine().run(job(spec, tracker, shared.resolve("state"), shared.resolve("outbox")),
                        Progress.NONE);
                assertThat(tracker.isOnline()).isTrue();
            }
        }
        return fourPoints;
    }

    @Test
    void aFourPointSweepOnLocal2IsInMlflowOncePerPointAndARerunSkipsAllFour() {
        SweepOutcome outcome = sparkFourPoints();
        SweepSpec spec = outcome.spec();
        assertThat(outcome.failures()).isEmpty();
        assertThat(outcome.ran()).isEqualTo(4);
        assertThat(outcome.results()).hasSize(4).allSatisfy(r -> assertThat(r.headline().perplexity()).isFinite());

        MlflowRest rest = new MlflowRest(server.url().orElseThrow());
        List<MlflowRest.Run> runs = rest.runList("spark-four");
        List<MlflowRest.Run> parents = runs.stream().filter(r -> !r.tags().containsKey(MlflowNames.PARENT_RUN_ID_TAG)).toList();
        assertThat(parents).singleElement().satisfies(p -> {
            assertThat(p.status()).isEqualTo("FINISHED");
            assertThat(p.tags()).containsEntry("prunelab.engine", "spark").containsEntry("prunelab.spark.master", "local[2,4]");
            assertThat(p.params()).containsEntry("points", "4").containsEntry("points_to_run", "4");
        });
        String parentId = parents.getFirst().id();
        for (RunResult r : outcome.results()) {
            List<MlflowRest.Run> point = runs.stream()
                    .filter(x -> r.spec().key().equals(x.tags().get(MlflowNames.SPEC_KEY_TAG))).toList();
            assertThat(point).as(r.spec().name()).singleElement().satisfies(p -> {
                assertThat(p.status()).isEqualTo("FINISHED");
                assertThat(p.tags()).containsEntry(MlflowNames.PARENT_RUN_ID_TAG, parentId)
                        .containsEntry("prunelab.engine", "spark").containsEntry("prunelab.spark.attempt", "0")
                        .containsKey("prunelab.spark.executor");
                assertThat(p.params()).containsEntry("method", r.spec().method()).containsEntry("entry_point", "sweep");
                if (r.spec().prunes()) assertThat(p.latestMetrics().get("actual_sparsity")).isPositive();
                assertThat(rest.metricHistory(p.id(), "perplexity")).containsExactly(r.headline().perplexity());
                assertThat(rest.artifacts(p.id(), "")).containsKeys("prune_report.json", "run_spec.yaml", "point_result.json");
            });
        }
        assertThat(runs).hasSize(1 + 4);

        SweepOutcome again;
        try (Tracker tracker = connect(shared.resolve("outbox"))) {
            again = new SparkSweepEngine().run(job(spec, tracker, shared.resolve("state"), shared.resolve("outbox")), Progress.NONE);
        }
        assertThat(again.ran()).isZero();
        assertThat(again.skipped()).isEqualTo(4);
        assertThat(again.results()).hasSize(4);
        List<MlflowRest.Run> after = rest.runList("spark-four");
        assertThat(after.stream().filter(r -> r.tags().containsKey(MlflowNames.SPEC_KEY_TAG))).as("point runs").hasSize(4);
        assertThat(after).hasSize(2 + 4);   // the re-run's parent records that it ran nothing
    }

    @Test
    void theSameSweepInProcessGivesTheSamePerplexitiesBitForBit() {
        SweepOutcome spark = sparkFourPoints();
        SweepSpec spec = spec("spark-vs-inprocess", FOUR);
        int threads = Parallel.threads();
        SweepOutcome inProcess;
        Parallel.setThreads(1);   // what each Spark task ran with
        try (Tracker tracker = Tracker.offline(tmp.resolve("outbox"), Map.of(), "the comparison needs no server");
             Pipeline pipeline = new Pipeline(PrunelabHome.fromEnvironment())) {
            inProcess = new SweepRunner(tracker, pipeline, tmp.resolve("state")).run(spec, Progress.NONE);
        } finally {
            Parallel.setThreads(threads);
        }
        assertThat(inProcess.results()).hasSize(4);
        for (int i = 0; i < 4; i++) {
            RunResult a = spark.results().get(i);
            RunResult b = inProcess.results().get(i);
            assertThat(a.spec().key()).isEqualTo(b.spec().key());
            assertThat(a.actualSparsity()).isEqualTo(b.actualSparsity());
            for (int e = 0; e < a.evals().size(); e++) {
                EvalResult x = a.evals().get(e);
                EvalResult y = b.evals().get(e);
                assertThat(x.tokens()).isEqualTo(y.tokens());
                assertThat(Double.doubleToRawLongBits(x.perplexity())).as(a.spec().name() + " perplexity " + x.perplexity()
                        + " vs " + y.perplexity()).isEqualTo(Double.doubleToRawLongBits(y.perplexity()));
                assertThat(Double.doubleToRawLongBits(x.perplexityDense())).isEqualTo(Double.doubleToRawLongBits(y.perplexityDense()));
            }
        }
        // Not vacuous: the points differ from each other.
        assertThat(spark.results().stream().map(r -> r.headline().perplexity()).distinct()).hasSize(4);
    }

    @Test
    void aTaskThatFailsMidPointAndOneWhoseExecutorIsLostAreRetriedAndLoggedOnce() {
        SweepSpec spec = spec("spark-fault", """
                - method: shortgpt
                  layers: [1, 2]
                """);
        String failing = spec.points().get(0).key();
        String lost = spec.points().get(1).key();
        ExecutorFactory faulty = new FaultyExecutors(Map.of(failing, FaultyExecutors.Fault.EXCEPTION,
                lost, FaultyExecutors.Fault.LOST_EXECUTOR));
        SweepOutcome outcome;
        try (Tracker tracker = connect(tmp.resolve("outbox"))) {
            outcome = new SparkSweepEngine(faulty).run(job(spec, tracker, tmp.resolve("state"), tmp.resolve("outbox")), Progress.NONE);
        }
        assertThat(outcome.failures()).isEmpty();
        assertThat(outcome.results()).hasSize(2);

        MlflowRest rest = new MlflowRest(server.url().orElseThrow());
        List<MlflowRest.Run> runs = rest.runList("spark-fault");
        assertThat(attempts(runs, failing)).as("the point whose first attempt threw")
                .containsExactlyInAnyOrder("0 FAILED", "1 FINISHED");
        assertThat(runs.stream().filter(r -> failing.equals(r.tags().get(MlflowNames.SPEC_KEY_TAG)) && r.status().equals("FAILED")))
                .singleElement().satisfies(r -> assertThat(r.tags().get(MlflowNames.ERROR_TAG)).contains("injected fault"));
        assertThat(attempts(runs, lost)).as("the point whose first attempt's executor was lost")
                .containsExactlyInAnyOrder("0 KILLED", "1 FINISHED");
        for (RunResult r : outcome.results()) {
            MlflowRest.Run finished = runs.stream().filter(x -> r.spec().key().equals(x.tags().get(MlflowNames.SPEC_KEY_TAG))
                    && x.status().equals("FINISHED")).findFirst().orElseThrow();
            assertThat(rest.metricHistory(finished.id(), "perplexity")).containsExactly(r.headline().perplexity());
        }
    }

    @Test
    void withoutAServerExecutorsKeepTheirRunsInTheOutboxAndASyncSendsEachOnce() {
        SweepSpec spec = spec("spark-offline", """
                - method: shortgpt
                  layers: 1
                """);
        Path outbox = tmp.resolve("outbox");
        SweepOutcome outcome;
        try (Tracker tracker = Tracker.offline(outbox, RunContext.tags(root), "no server in this test")) {
            outcome = new SparkSweepEngine().run(job(spec, tracker, tmp.resolve("state"), outbox), Progress.NONE);
        }
        assertThat(outcome.failures()).isEmpty();
        assertThat(outcome.results()).hasSize(1);
        assertThat(outboxFiles(outbox)).hasSizeGreaterThanOrEqualTo(2);   // the driver's and the task's

        SweepOutcome again;
        try (Tracker tracker = Tracker.offline(outbox, RunContext.tags(root), "no server in this test")) {
            again = new SparkSweepEngine().run(job(spec, tracker, tmp.resolve("state"), outbox), Progress.NONE);
        }
        assertThat(again.skipped()).isEqualTo(1);

        try (Tracker tracker = connect(outbox)) {
            assertThat(tracker.lastSync().orElseThrow().complete()).isTrue();
        }
        MlflowRest rest = new MlflowRest(server.url().orElseThrow());
        List<MlflowRest.Run> runs = rest.runList("spark-offline");
        for (RunSpec p : spec.points()) {
            assertThat(attempts(runs, p.key())).as(p.name()).containsExactly("0 FINISHED");
        }
        String firstParent = runs.stream().filter(r -> !r.tags().containsKey(MlflowNames.PARENT_RUN_ID_TAG)
                && "1".equals(r.params().get("points_to_run"))).findFirst().orElseThrow().id();
        assertThat(runs.stream().filter(r -> r.tags().containsKey(MlflowNames.SPEC_KEY_TAG)))
                .allSatisfy(r -> assertThat(r.tags()).containsEntry(MlflowNames.PARENT_RUN_ID_TAG, firstParent));
    }

    /** "attempt STATUS" of every run of the point with {@code key}. */
    private static List<String> attempts(List<MlflowRest.Run> runs, String key) {
        return runs.stream().filter(r -> key.equals(r.tags().get(MlflowNames.SPEC_KEY_TAG)))
                .map(r -> r.tags().get("prunelab.spark.attempt") + " " + r.status()).toList();
    }

    private static List<Path> outboxFiles(Path outbox) {
        try (Stream<Path> files = Files.list(outbox)) {
            return files.filter(f -> f.toString().endsWith(".jsonl")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
