package org.prunelab.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.cli.Main;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Window;
import org.prunelab.eval.Evaluation;
import org.prunelab.model.LoadedModel;
import org.prunelab.arch.ModelLoader;
import org.prunelab.prune.CalibrationData;
import org.prunelab.prune.LayerwisePruner;
import org.prunelab.prune.WandaPruner;
import org.prunelab.prune.SparsityPattern;
import org.prunelab.track.MlflowServer;
import org.prunelab.Progress;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Executes every notebook headless through Jupyter (nbclient) on the real model at tiny parameters, and
 * checks what a reader would see: no errors, tables as text/html, charts as image/png, and numbers equal to
 * what the CLI and the core API compute on the same settings. Also interrupts a running cell through the
 * Jupyter client and checks the kernel answers the next cell.
 */
class NotebooksTest {
    /** Calibration and evaluation small enough for 2 shared cores. */
    private static final int NSAMPLES = 2, SEQLEN = 64, WINDOWS = 2;
    private static final String SMALL = "\"nsamples\": " + NSAMPLES + ", \"calibSeqlen\": " + SEQLEN + ", \"seqlen\": "
            + SEQLEN + ", \"windows\": " + WINDOWS;

    @TempDir
    static Path work;
    static JupyterHarness jupyter;

    @BeforeAll
    static void installKernel() throws Exception {
        jupyter = new JupyterHarness(work);
    }

    @Test
    void quickstartAgreesWithTheCliAndTheCoreApi() throws Exception {
        // track(...) records the pruned model on a real MLflow server of this test's own.
        Path mlflowExe = jupyter.root.resolve(".venv-mlflow/bin/mlflow");
        assertThat(mlflowExe).as("the MLflow venv; create it with tools/mlflow/setup.sh (./prunelab test does)").isExecutable();
        MlflowServer mlflow = new MlflowServer(work.resolve("mlflow"), mlflowExe);
        JsonNode nb;
        JsonNode run;
        URI mlflowUrl;
        try {
            mlflowUrl = mlflow.start();
            nb = jupyter.runNotebook("01-quickstart", "{" + SMALL + ", \"trackRun\": true}",
                    Map.of("MLFLOW_TRACKING_URI", mlflowUrl.toString()));
            Matcher link = Pattern.compile("MLflow run (.+): (\\S+)/#/experiments/([0-9]+)/runs/([0-9a-f]{32})")
                    .matcher(JupyterHarness.plainText(nb));
            assertThat(link.find()).as("the last cell shows a link to the run:\n" + JupyterHarness.plainText(nb)).isTrue();
            assertThat(URI.create(link.group(2) + "/")).isEqualTo(mlflowUrl.resolve("/"));
            run = mlflowGet(mlflowUrl, "/api/2.0/mlflow/runs/get?run_id=" + link.group(4)).path("run");
            assertThat(run.path("info").path("run_name").asText()).isEqualTo(link.group(1));
            assertThat(run.path("info").path("experiment_id").asText()).isEqualTo(link.group(3));
            assertThat(mlflowGet(mlflowUrl, "/api/2.0/mlflow/experiments/get?experiment_id=" + link.group(3))
                    .path("experiment").path("name").asText()).isEqualTo("notebooks");
        } finally {
            mlflow.stop();
        }

        assertThat(JupyterHarness.errors(nb)).isEmpty();
        assertThat(JupyterHarness.mimeTypes(nb)).contains("text/html", "text/plain");

        Matcher m = Pattern.compile("perplexity udhr:eng dense ([0-9.]+) pruned ([0-9.]+)").matcher(JupyterHarness.stdout(nb));
        assertThat(m.find()).as("the notebook prints both perplexities").isTrue();
        double notebookDense = Double.parseDouble(m.group(1));
        double notebookPruned = Double.parseDouble(m.group(2));

        // Dense: the CLI's own eval on the same split and windows.
        StringWriter out = new StringWriter();
        int rc = Main.execute(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "eval",
                "--dataset", "udhr:eng", "--seqlen", String.valueOf(SEQLEN), "--windows", String.valueOf(WINDOWS), "--json");
        assertThat(rc).isZero();
        double cliDense = JupyterHarness.JSON.readTree(out.toString()).get("perplexity").asDouble();
        assertThat(notebookDense).isCloseTo(cliDense, within(cliDense * 1e-6));

        // Pruned: the prune CLI's path (LayerwisePruner on CalibrationData windows, then Evaluation), in this JVM.
        PrunelabHome home = PrunelabHome.fromEnvironment();
        try (LoadedModel model = ModelLoader.load("smollm2-135m", home)) {
            Corpus brown = Datasets.resolve("brown", home);
            var windows = CalibrationData.sample(brown, model.tokenizer()::encodeWithDefaults, NSAMPLES, SEQLEN, 0)
                    .stream().map(Window::tokens).toList();
            var outcome = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5))
                    .prune(model.model(), windows, Progress.NONE);
            double pruned = Evaluation.perplexity(model.withModel(outcome.model()), Datasets.resolve("udhr:eng", home), SEQLEN,
                    WINDOWS, Progress.NONE).perplexity();
            assertThat(notebookPruned).isCloseTo(pruned, within(pruned * 1e-6));
            assertThat(notebookPruned).isGreaterThan(notebookDense);
        }

        // The tracked run is the pruned model with its calibration and the perplexity the notebook printed.
        assertThat(run.path("info").path("status").asText()).isEqualTo("FINISHED");
        Map<String, String> params = new HashMap<>();
        run.path("data").path("params").forEach(x -> params.put(x.path("key").asText(), x.path("value").asText()));
        assertThat(params).containsEntry("model", "smollm2-135m").containsEntry("method", "wanda")
                .containsEntry("sparsity", "0.5").containsEntry("calib_dataset", "brown")
                .containsEntry("nsamples", String.valueOf(NSAMPLES)).containsEntry("eval_dataset", "udhr:eng");
        Map<String, Double> metrics = new HashMap<>();
        run.path("data").path("metrics").forEach(x -> metrics.put(x.path("key").asText(), x.path("value").asDouble()));
        assertThat(metrics.get("perplexity")).isCloseTo(notebookPruned, within(notebookPruned * 1e-6));
    }

    /** GET on the MLflow REST API; fails the test on a non-200 answer. */
    private static JsonNode mlflowGet(URI server, String pathAndQuery) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(server.resolve(pathAndQuery)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(pathAndQuery + ": " + r.body()).isEqualTo(200);
        return JupyterHarness.JSON.readTree(r.body());
    }

    @Test
    void tradeoffShowsATableAndAChart() throws Exception {
        JsonNode nb = jupyter.runNotebook("02-tradeoff",
                "{\"methods\": [\"magnitude\", \"wanda\"], \"sparsities\": [0.5], " + SMALL + "}");
        assertThat(JupyterHarness.errors(nb)).isEmpty();
        assertThat(JupyterHarness.mimeTypes(nb)).contains("text/html", "image/png");
    }

    @Test
    void collapseNotebookFindsCollapsePoints() throws Exception {
        JsonNode nb = jupyter.runNotebook("03-sparsity-collapse",
                "{\"methods\": [\"magnitude\"], \"sparsities\": [0.2, 0.9], \"collapseFactor\": 2.0, " + SMALL + "}");
        assertThat(JupyterHarness.errors(nb)).isEmpty();
        assertThat(JupyterHarness.mimeTypes(nb)).contains("text/html", "image/png");
        // Magnitude at 90% is far beyond twice the dense perplexity, at 20% well within: the collapse table's
        // row reads magnitude | collapse_sparsity 0.9 | ppl_ratio_there | last_sparsity_within 0.2.
        JsonNode last = JupyterHarness.outputs(nb).getLast();
        assertThat(JupyterHarness.text(last.path("data").path("text/plain")))
                .containsPattern("magnitude\\s*\\|\\s*0\\.9\\s*\\|\\s*[0-9.E]+\\s*\\|\\s*0\\.2\\s*\\|");
    }

    @Test
    void languageSlicesCompareCalibrationSets() throws Exception {
        JsonNode nb = jupyter.runNotebook("04-language-slices", "{\"languages\": [\"udhr:eng\", \"udhr:swh\"], "
                + "\"calibDatasets\": [\"brown\", \"europarl:de\"], " + SMALL + "}");
        assertThat(JupyterHarness.errors(nb)).isEmpty();
        assertThat(JupyterHarness.mimeTypes(nb)).contains("text/html", "image/png");
        String tables = JupyterHarness.plainText(nb);
        assertThat(tables).contains("wanda 0.50 (brown)").contains("wanda 0.50 (europarl:de)").contains("sw");
    }

    @Test
    void languageStudyGivesPerplexityAndAccuracyWithIntervals() throws Exception {
        JsonNode nb = jupyter.runNotebook("05-language-study", "{\"languages\": [\"udhr:eng\", \"udhr:swh\"], \"items\": 3, "
                + SMALL + "}");
        assertThat(JupyterHarness.errors(nb)).isEmpty();
        assertThat(JupyterHarness.mimeTypes(nb)).contains("text/html", "image/png");
        String tables = JupyterHarness.plainText(nb);
        assertThat(tables).contains("udhr-next:swh").contains("acc_lo").contains("perplexity_hi").contains("wanda 0.50 (brown)");
    }

    @Test
    void interruptingALongCellLeavesTheKernelUsable() throws Exception {
        String log = jupyter.python("tools/jupyter/interrupt_check.py");
        String json = log.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow();
        JsonNode r = JupyterHarness.JSON.readTree(json);
        assertThat(r.get("setup_status").asText()).isEqualTo("ok");
        assertThat(r.get("interrupt_sent").asBoolean()).as(log).isTrue();
        assertThat(r.get("long_status").asText()).isEqualTo("error");
        assertThat(r.get("long_ename").asText()).isEqualTo("Interrupted");
        assertThat(r.get("after_status").asText()).isEqualTo("ok");
        // The model defined before the interrupt is still there, and new code runs.
        assertThat(r.get("after_result").asText()).contains("dense 2");
    }
}
