package org.prunelab.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.track.MlflowNames;
import org.prunelab.track.MlflowRest;
import org.prunelab.track.MlflowServer;
import org.prunelab.track.MlflowTrackingIntegrationTest;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code prunelab prune} records its run in MLflow by default, as a user runs it: a child JVM with no
 * {@code MLFLOW_TRACKING_URI}, in a project folder of its own (so the project's local server under its
 * {@code mlruns/} is started for it, from the real {@code .venv-mlflow}). With that server stopped the run waits in the
 * outbox, and {@code mlflow sync} sends it exactly once.
 */
class CliTrackingTest {
    @TempDir
    static Path project;
    static MlflowServer server;

    @AfterAll
    static void stopServer() {
        if (server != null) server.stop();
    }

    record Child(int status, String out, String err) {}

    /** Runs the CLI in a child JVM with {@code prunelab.root} = the test's project folder and no tracking variable. */
    static Child cli(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dprunelab.root=" + project, "-cp", System.getProperty("java.class.path"), "org.prunelab.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("MLFLOW_TRACKING_URI");
        Path out = Files.createTempFile(project, "out", ".txt");
        Path err = Files.createTempFile(project, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("the CLI finished").isTrue();
        return new Child(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void pruneIsTrackedInTheLocalServerOrTheOutboxAndSyncSendsItOnce() throws Exception {
        CliErrorsTest.assumeModelFetched();
        Path venv = MlflowTrackingIntegrationTest.projectRoot().resolve(".venv-mlflow");
        assumeTrue(Files.isExecutable(venv.resolve("bin/mlflow")), "no MLflow venv: run tools/mlflow/setup.sh");
        Files.createSymbolicLink(project.resolve(".venv-mlflow"), venv);
        server = MlflowServer.forProject(project);

        // Online: the child starts the project's server (it keeps running), the run lands there.
        Child first = cli("prune", "--method", "magnitude", "--sparsity", "0.5", "--eval", "udhr:eng", "--eval-seqlen", "64",
                "--eval-windows", "1", "--out", project.resolve("m1").toString());
        assertThat(first.status()).as(first.err()).isZero();
        assertThat(first.err()).contains("tracking: MLflow run magnitude-unstructured-0.50: http://127.0.0.1:");
        URI url = server.url().orElseThrow();
        MlflowRest rest = new MlflowRest(url);
        List<MlflowRest.Run> runs = rest.runList("prunelab");
        assertThat(runs).hasSize(1);
        MlflowRest.Run run = runs.getFirst();
        assertThat(run.status()).isEqualTo("FINISHED");
        assertThat(run.params()).containsEntry("model", "smollm2-135m").containsEntry("method", "magnitude")
                .containsEntry("sparsity", "0.5").containsEntry("pattern", "unstructured").containsEntry("command", "prune")
                .containsEntry("entry_point", "cli").containsEntry("eval_dataset", "udhr:eng").containsEntry("eval_windows", "1")
                .containsKey("language");
        assertThat(run.latestMetrics()).containsKeys("actual_sparsity", "perplexity", "perplexity_dense", "ppl_ratio",
                "prune_seconds", "model_bytes");
        assertThat(run.latestMetrics().get("actual_sparsity")).isBetween(0.5, 0.5001);
        assertThat(rest.artifacts(run.id(), "")).containsKeys("prune_report.json", "run_spec.yaml", "eval_ids.json");
        var report = new ObjectMapper().readTree(Files.readString(project.resolve("m1/prune_report.json")));
        assertThat(run.latestMetrics().get("perplexity")).isEqualTo(report.get("perplexity").asDouble());
        assertThat(rest.experimentTags("prunelab")).containsEntry(MlflowNames.EXPERIMENT_KIND_TAG,
                MlflowNames.EXPERIMENT_KIND_MODEL_TRAINING);

        // Offline: with the server stopped and nothing to start it from, the run goes to the outbox.
        server.stop();
        Files.delete(project.resolve(".venv-mlflow"));
        Child second = cli("prune", "--method", "magnitude", "--pattern", "2:4", "--out", project.resolve("m2").toString());
        assertThat(second.status()).as(second.err()).isZero();
        assertThat(second.err()).contains("kept in mlruns/outbox");
        assertThat(project.resolve("m2/prune_report.json")).exists();

        // Sync (the venv is back, so it starts the server again) sends it once; a second sync sends nothing.
        Files.createSymbolicLink(project.resolve(".venv-mlflow"), venv);
        Child sync = cli("mlflow", "sync");
        assertThat(sync.status()).as(sync.err()).isZero();
        assertThat(server.url().orElseThrow()).as("the restarted server keeps its port: links printed before still work")
                .isEqualTo(url);
        rest = new MlflowRest(server.url().orElseThrow());
        runs = rest.runList("prunelab");
        assertThat(runs).extracting(MlflowRest.Run::name).containsExactlyInAnyOrder("magnitude-unstructured-0.50", "magnitude-2:4");
        MlflowRest.Run synced = runs.stream().filter(r -> r.name().equals("magnitude-2:4")).findFirst().orElseThrow();
        assertThat(synced.status()).isEqualTo("FINISHED");
        assertThat(synced.params()).containsEntry("pattern", "2:4");
        assertThat(rest.artifacts(synced.id(), "")).containsKey("prune_report.json");
        Child again = cli("mlflow", "sync");
        assertThat(again.status()).as(again.err()).isZero();
        assertThat(new MlflowRest(server.url().orElseThrow()).runList("prunelab")).hasSize(2);
    }

    @Test
    void noTrackLeavesNoRecord() throws Exception {
        CliErrorsTest.assumeModelFetched();
        Path other = Files.createDirectory(project.resolve("untracked-project"));
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Dprunelab.root=" + other,
                "-cp", System.getProperty("java.class.path"), "org.prunelab.cli.Main", "prune", "--method", "magnitude",
                "--sparsity", "0.3", "--out", other.resolve("m").toString(), "--no-track");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(log).isZero();
        assertThat(log).contains("not tracked (--no-track)");
        assertThat(other.resolve("mlruns")).doesNotExist();
    }
}
