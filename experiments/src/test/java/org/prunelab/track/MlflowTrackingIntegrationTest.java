package org.prunelab.track;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tracking against a real {@code mlflow server} (from {@code .venv-mlflow}, made by
 * {@code tools/mlflow/setup.sh}) on loopback, read back through MLflow's REST API. One server for the
 * class; the fault test stops and restarts it.
 */
public class MlflowTrackingIntegrationTest {

    @TempDir
    static Path serverDir;
    @TempDir
    Path tmp;

    static Path root;
    static MlflowServer server;

    @BeforeAll
    static void startServer() {
        root = projectRoot();
        Path mlflow = root.resolve(".venv-mlflow/bin/mlflow");
        if (!Files.isExecutable(mlflow)) {
            return;   // each test reports the skip, with what to do
        }
        server = new MlflowServer(serverDir, mlflow);
        long t0 = System.nanoTime();
        URI url = server.start();
        System.out.printf("MLflow server at %s answered after %.1f s%n", url, (System.nanoTime() - t0) / 1e9);
    }

    @BeforeEach
    void needsTheVenv() {
        assumeTrue(server != null, "no MLflow venv at " + root.resolve(".venv-mlflow")
                + ": run tools/mlflow/setup.sh (./prunelab test does) to run the MLflow integration tests");
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.stop();
        }
    }

    private Tracker connect(URI url) {
        return Tracker.connect(url, tmp.resolve("outbox"), Tracker.pythonFor(root), RunContext.tags(root));
    }

    @Test
    void aSecondStartReusesTheRecordedServer() {
        URI url = server.url().orElseThrow();
        MlflowServer.Status before = server.status();
        MlflowServer again = new MlflowServer(serverDir, root.resolve(".venv-mlflow/bin/mlflow"));
        assertThat(again.start()).isEqualTo(url);
        assertThat(again.status()).isEqualTo(before);
        assertThat(before.running()).isTrue();
        assertThat(ProcessHandle.of(before.pid())).isPresent();
    }

    @Test
    void aSweepWithTwoNestedRunsIsStoredWithParamsMetricsTagsAndArtifacts() throws Exception {
        URI url = server.url().orElseThrow();
        Path table = Files.writeString(tmp.resolve("table.csv"), "method,perplexity\nwanda,23.1\n");
        String experiment = "it-nested";
        try (Tracker tracker = connect(url)) {
            assertThat(tracker.isOnline()).isTrue();
            try (TrackedRun sweep = tracker.startRun(experiment, "sweep")) {
                sweep.logParams(Map.of(MlflowNames.Param.MODEL, "smollm2-135m", MlflowNames.Param.SEED, 0));
                for (int i = 0; i < 2; i++) {
                    try (TrackedRun point = sweep.startChild("point-" + i)) {
                        point.logParams(Map.of(MlflowNames.Param.METHOD, i == 0 ? "magnitude" : "wanda",
                                MlflowNames.Param.SPARSITY, 0.5, MlflowNames.Param.PATTERN, "2:4"));
                        point.logMetric(MlflowNames.Metric.PERPLEXITY, 20.5 + i);
                        point.logMetrics(Map.of(MlflowNames.Metric.PPL_RATIO, 1.25 + i,
                                MlflowNames.Metric.ACTUAL_SPARSITY, 0.5));
                        if (i == 1) {
                            point.logArtifact(table, "tables");
                        }
                    }
                }
            }
            assertThat(tracker.isOnline()).isTrue();
        }

        MlflowRest rest = new MlflowRest(url);
        Map<String, MlflowRest.Run> runs = rest.runs(experiment);
        assertThat(runs).containsOnlyKeys("sweep", "point-0", "point-1");
        MlflowRest.Run sweep = runs.get("sweep");
        assertThat(sweep.params()).containsEntry("model", "smollm2-135m").containsEntry("seed", "0");
        assertThat(sweep.tags()).doesNotContainKey(MlflowNames.PARENT_RUN_ID_TAG)
                .containsEntry(MlflowNames.JDK_VERSION_TAG, Runtime.version().toString())
                .containsEntry(MlflowNames.CPU_MODEL_TAG, RunContext.cpuModel())
                .containsKey(MlflowNames.VERSION_TAG).containsKey(MlflowNames.RUN_KEY_TAG);
        if (Files.isDirectory(root.resolve(".git")) || Files.isRegularFile(root.resolve(".git"))) {
            assertThat(sweep.tags().get(MlflowNames.GIT_COMMIT_TAG)).matches("[0-9a-f]{40}");
        }
        for (int i = 0; i < 2; i++) {
            MlflowRest.Run point = runs.get("point-" + i);
            assertThat(point.status()).isEqualTo("FINISHED");
            assertThat(point.tags()).containsEntry(MlflowNames.PARENT_RUN_ID_TAG, sweep.id());
            assertThat(point.params()).containsEntry("method", i == 0 ? "magnitude" : "wanda")
                    .containsEntry("sparsity", "0.5").containsEntry("pattern", "2:4");
            assertThat(rest.metricHistory(point.id(), "perplexity")).containsExactly(20.5 + i);
            assertThat(rest.metricHistory(point.id(), "ppl_ratio")).containsExactly(1.25 + i);
            assertThat(point.latestMetrics()).containsEntry("actual_sparsity", 0.5);
        }
        assertThat(rest.artifacts(runs.get("point-1").id(), "tables"))
                .containsEntry("tables/table.csv", Files.size(table));
        assertThat(rest.artifacts(runs.get("point-0").id(), "")).isEmpty();
        assertThat(sweep.status()).isEqualTo("FINISHED");
    }

    @Test
    void aServerStoppedMidSweepLosesNothingAndSyncSendsEachRecordOnce() throws Exception {
        Path table = Files.writeString(tmp.resolve("point-1.csv"), "method,perplexity\nwanda,30.0\n");
        String experiment = "it-fault";
        Tracker tracker = connect(server.url().orElseThrow());
        TrackedRun sweep = tracker.startRun(experiment, "sweep").logParam(MlflowNames.Param.MODEL, "smollm2-135m");
        TrackedRun first = sweep.startChild("point-0").logParam(MlflowNames.Param.METHOD, "magnitude")
                .logMetric(MlflowNames.Metric.PERPLEXITY, 40.0);

        assertThat(server.stop()).isTrue();

        first.logMetric(MlflowNames.Metric.PPL_RATIO, 2.0).end(RunStatus.FINISHED);
        assertThat(tracker.isOnline()).isFalse();
        try (TrackedRun second = sweep.startChild("point-1")) {
            second.logParam(MlflowNames.Param.METHOD, "wanda").logMetric(MlflowNames.Metric.PERPLEXITY, 30.0)
                    .logMetric(MlflowNames.Metric.PPL_RATIO, 1.5).logArtifact(table);
        }
        sweep.logMetric(MlflowNames.Metric.PRUNE_SECONDS, 12.5).end(RunStatus.FINISHED);
        tracker.close();
        assertThat(Outbox.files(tmp.resolve("outbox"))).hasSize(1);

        URI url = server.start();   // the same database, maybe a new port
        SyncReport report;
        try (Tracker reconnected = connect(url)) {
            report = reconnected.lastSync().orElseThrow();
        }
        assertThat(report.complete()).as(report.problems().toString()).isTrue();
        assertThat(report.filesSynced()).isEqualTo(1);
        assertThat(Outbox.files(tmp.resolve("outbox"))).isEmpty();

        MlflowRest rest = new MlflowRest(url);
        assertExactlyOnce(rest, experiment, table);

        // A second sync (and a third tracker) find nothing left and change nothing.
        try (Tracker again = connect(url)) {
            assertThat(again.sync().recordsSent()).isZero();
        }
        assertExactlyOnce(rest, experiment, table);
    }

    private static void assertExactlyOnce(MlflowRest rest, String experiment, Path table) throws Exception {
        assertThat(rest.runCount(experiment)).isEqualTo(3);
        Map<String, MlflowRest.Run> runs = rest.runs(experiment);
        MlflowRest.Run sweep = runs.get("sweep");
        MlflowRest.Run first = runs.get("point-0");
        MlflowRest.Run second = runs.get("point-1");
        assertThat(first.tags()).containsEntry(MlflowNames.PARENT_RUN_ID_TAG, sweep.id());
        assertThat(second.tags()).containsEntry(MlflowNames.PARENT_RUN_ID_TAG, sweep.id());
        assertThat(rest.metricHistory(first.id(), "perplexity")).containsExactly(40.0);
        assertThat(rest.metricHistory(first.id(), "ppl_ratio")).containsExactly(2.0);
        assertThat(rest.metricHistory(second.id(), "perplexity")).containsExactly(30.0);
        assertThat(rest.metricHistory(second.id(), "ppl_ratio")).containsExactly(1.5);
        assertThat(rest.metricHistory(sweep.id(), "prune_seconds")).containsExactly(12.5);
        assertThat(second.params()).containsEntry("method", "wanda");
        assertThat(rest.artifacts(second.id(), "")).containsEntry("point-1.csv", Files.size(table));
        assertThat(runs.values()).extracting(MlflowRest.Run::status).containsOnly("FINISHED");
    }

    /**
     * A real MLflow server from the checkout's {@code .venv-mlflow}, storing into {@code dir}, started; null when the venv
     * is missing (tests then skip, saying to run tools/mlflow/setup.sh).
     */
    public static MlflowServer startLocalServer(Path dir) {
        Path mlflow = projectRoot().resolve(".venv-mlflow/bin/mlflow");
        if (!Files.isExecutable(mlflow)) return null;
        MlflowServer server = new MlflowServer(dir, mlflow);
        server.start();
        return server;
    }

    /** The checkout: {@code prunelab.root} (set by Maven), else the nearest folder up with tools/mlflow. */
    public static Path projectRoot() {
        String property = System.getProperty("prunelab.root");
        if (property != null && !property.isBlank()) {
            return Path.of(property).toAbsolutePath();
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("tools/mlflow/setup.sh"))) {
                return p;
            }
        }
        return Path.of("").toAbsolutePath();
    }
}
