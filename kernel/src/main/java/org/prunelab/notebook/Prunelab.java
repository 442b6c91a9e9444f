package org.prunelab.notebook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.PrunelabException;
import org.prunelab.bench.ForwardTiming;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Window;
import org.prunelab.eval.Evaluation;
import org.prunelab.eval.PerplexityResult;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.ModelLoader;
import org.prunelab.prune.CalibrationData;
import org.prunelab.prune.LayerwisePruner;
import org.prunelab.prune.LayerwiseResult;
import org.prunelab.prune.PruningMethod;
import org.prunelab.prune.PruningMethods;
import org.prunelab.prune.SparsityPattern;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Parallel;
import org.prunelab.track.MlflowNames;
import org.prunelab.track.TrackedRun;
import org.prunelab.track.Tracker;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.Row;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The notebook facade: one static call per step of the work, named as a researcher says it, each returning
 * something the prunelab kernel shows richly (Tablesaw tables as HTML, XChart charts as PNG, MLflow links).
 * The kernel imports it statically, so a cell reads
 * <pre>{@code
 * var dense  = load("smollm2-135m");
 * var calib  = calibration("brown", 16, 128, 0);
 * var pruned = prune(dense, "wanda", 0.5, calib);
 * perplexity(pruned, List.of("udhr:eng", "udhr:swh"), 128, 4)
 * }</pre>
 * Every call is the same code path as the CLI ({@link ModelLoader}, {@link LayerwisePruner},
 * {@link Evaluation}, {@link ForwardTiming}), so numbers agree with {@code prunelab eval} / {@code prune}
 * on the same settings. Long calls draw a progress bar in the cell and stop when the cell is interrupted.
 * User errors throw {@link PrunelabException} subclasses, as the CLI does.
 */
public final class Prunelab {
    private Prunelab() {}

    // ---------------------------------------------------------------------------------------- models

    /**
     * Loads a model (fp32 weights in memory).
     *
     * @param model a registered name ({@code smollm2-135m}), a {@code .gguf} file, or a checkpoint directory
     * @throws PrunelabException.InvalidArgument for an unknown name; ModelFormat for an unreadable file
     */
    public static Model load(String model) {
        return new Model(ModelLoader.load(model, PrunelabHome.fromEnvironment()), null, null, 0);
    }

    /** Calibration windows to prune with; see {@link Calibration}. */
    public static Calibration calibration(String dataset, int nsamples, int seqlen, long seed) {
        if (nsamples < 1) {
            throw new PrunelabException.InvalidArgument("nsamples must be at least 1, got " + nsamples
                    + ": the reference calibrates on 128 windows");
        }
        return new Calibration(dataset, nsamples, seqlen, seed);
    }

    /** {@link #prune(Model, String, double, Calibration)} with the CLI's calibration (Brown, 128 x 512, seed 0). */
    public static Model prune(Model model, String method, double sparsity) {
        return prune(model, method, sparsity, Calibration.DEFAULT);
    }

    /**
     * Unstructured pruning of every block's seven linears to {@code sparsity}, block by block on the
     * calibration windows (Wanda: Sun et al. 2024; SparseGPT: Frantar &amp; Alistarh 2023; magnitude ignores
     * the calibration). The given model is left as it is: the pruned one is a fresh copy read from the same
     * file (seconds), so dense and pruned can be compared side by side.
     *
     * @param method   magnitude, wanda or sparsegpt
     * @param sparsity fraction of each linear's weights to remove, in [0, 1)
     * @throws PrunelabException.InvalidArgument for an unknown method, a sparsity outside [0, 1), a bad calibration
     */
    public static Model prune(Model model, String method, double sparsity, Calibration calibration) {
        return prune(model, method, SparsityPattern.unstructured(sparsity), calibration);
    }

    /**
     * N:M pruning ({@code "2:4"}, {@code "4:8"}): in every group of M consecutive inputs of a row, N weights
     * are kept; otherwise as {@link #prune(Model, String, double, Calibration)}.
     */
    public static Model prune(Model model, String method, String pattern, Calibration calibration) {
        SparsityPattern p = pattern.equalsIgnoreCase("unstructured")
                ? invalid("pattern \"unstructured\" needs a sparsity: call prune(model, method, 0.5, calibration)")
                : SparsityPattern.parse(pattern);
        return prune(model, method, p, calibration);
    }

    private static Model prune(Model model, String method, SparsityPattern pattern, Calibration calibration) {
        PruningMethod<?> m = PruningMethods.byName(method);
        LayerwisePruner pruner = new LayerwisePruner(m, pattern);
        PrunelabHome home = PrunelabHome.fromEnvironment();
        Corpus calib = m.needsCalibration() ? Datasets.resolve(calibration.dataset(), home) : null;
        LoadedModel copy = ModelLoader.load(model.loaded().path().toString(), home);
        boolean ok = false;
        try {
            List<int[]> windows = List.of();
            if (m.needsCalibration()) {
                copy.checkSeqlen(calibration.seqlen());
                windows = CalibrationData.sample(calib, copy.tokenizer()::encode, calibration.nsamples(),
                        calibration.seqlen(), calibration.seed()).stream().map(Window::tokens).toList();
            }
            long start = System.nanoTime();
            LayerwiseResult result = pruner.prune(copy.model(), windows, new NotebookProgress("prune " + m.name()));
            double seconds = (System.nanoTime() - start) / 1e9;
            ok = true;
            return new Model(new LoadedModel(model.name(), copy.path(), copy.model(), copy.tokenizer(), copy.fileBytes(),
                    copy.loadSeconds()), result, m.needsCalibration() ? calibration : null, seconds);
        } finally {
            if (!ok) copy.close();
        }
    }

    // ------------------------------------------------------------------------------------ perplexity

    /**
     * Perplexity on the evaluation split of one dataset, as {@code prunelab eval --dataset --seqlen --windows}.
     *
     * @param windows evaluate the first {@code windows} windows of {@code seqlen} tokens (0 = all)
     * @return one row: model, state, dataset, language, seqlen, windows, tokens, perplexity, seconds
     */
    public static Table perplexity(Model model, String dataset, int seqlen, int windows) {
        return perplexity(model, List.of(dataset), seqlen, windows);
    }

    /** {@link #perplexity(Model, String, int, int)} for several datasets, one row each (e.g. per language). */
    public static Table perplexity(Model model, List<String> datasets, int seqlen, int windows) {
        Table t = perplexityTable("perplexity, " + model.label());
        PrunelabHome home = PrunelabHome.fromEnvironment();
        for (String dataset : datasets) {
            Corpus corpus = Datasets.resolve(dataset, home);
            PerplexityResult r = Evaluation.perplexity(model.loaded(), corpus, seqlen, windows,
                    new NotebookProgress("eval " + dataset));
            Row row = t.appendRow();
            row.setString("model", model.name());
            row.setString("state", model.label());
            row.setString("dataset", dataset);
            row.setString("language", corpus.language());
            row.setInt("seqlen", seqlen);
            row.setInt("windows", r.windows());
            row.setDouble("perplexity", r.perplexity());
            row.setDouble("seconds", r.seconds());
        }
        return t;
    }

    private static Table perplexityTable(String name) {
        return Table.create(name, StringColumn.create("model"), StringColumn.create("state"),
                StringColumn.create("dataset"), StringColumn.create("language"), IntColumn.create("seqlen"),
                IntColumn.create("windows"), DoubleColumn.create("perplexity"), DoubleColumn.create("seconds"));
    }

    // ----------------------------------------------------------------------------------------- bench

    /**
     * Prefill speed: median and best tokens/s of {@code repeat} timed forward passes over {@code seqlen}
     * tokens (batch 1, all positions' logits), as {@code prunelab bench forward}. Wall-clock numbers: on a
     * shared machine they vary; compare models measured in the same session.
     */
    public static Table bench(Model model, int seqlen, int repeat) {
        if (repeat < 1) invalid("repeat must be at least 1, got " + repeat);
        model.loaded().checkSeqlen(seqlen);
        NotebookProgress progress = new NotebookProgress("bench " + model.label());
        progress.update(0, 1, "prefill passes");
        ForwardTiming.Result r = ForwardTiming.prefill(model.loaded().model(), seqlen, repeat);
        progress.update(1, 1, "prefill passes");
        Table t = Table.create("prefill speed, " + model.label(), StringColumn.create("state"), IntColumn.create("seqlen"),
                IntColumn.create("threads"), StringColumn.create("gemm"), DoubleColumn.create("prefill_tokens_per_s"),
                DoubleColumn.create("prefill_tokens_per_s_best"));
        Row row = t.appendRow();
        row.setString("state", model.label());
        row.setInt("seqlen", seqlen);
        row.setInt("threads", Parallel.threads());
        row.setString("gemm", Gemm.active().backend().name().toLowerCase());
        row.setDouble("prefill_tokens_per_s", r.tokensPerSecondMedian());
        row.setDouble("prefill_tokens_per_s_best", r.tokensPerSecondBest());
        return t;
    }

    // ------------------------------------------------------------------------------- grids and plots

    /**
     * A trade-off grid: every method at every sparsity, each pruned from {@code dense} with the same
     * calibration and evaluated on {@code evalDataset}. Pruned copies are dropped after evaluation, so
     * memory holds one pruned model at a time.
     *
     * @return one row per point: method, sparsity, actual_sparsity, perplexity, perplexity_dense, ppl_ratio,
     *         prune_seconds (MLflow's names)
     */
    public static Table tradeoff(Model dense, List<String> methods, List<Double> sparsities, Calibration calibration,
                                 String evalDataset, int seqlen, int windows) {
        double denseppl = perplexity(dense, evalDataset, seqlen, windows).doubleColumn("perplexity").get(0);
        Table t = Table.create("trade-off on " + evalDataset + ", calibration " + calibration.label(),
                StringColumn.create("method"), DoubleColumn.create("sparsity"), DoubleColumn.create("actual_sparsity"),
                DoubleColumn.create("perplexity"), DoubleColumn.create("perplexity_dense"), DoubleColumn.create("ppl_ratio"),
                DoubleColumn.create("prune_seconds"));
        for (String method : methods) {
            for (double sparsity : sparsities) {
                Model pruned = prune(dense, method, sparsity, calibration);
                double ppl = perplexity(pruned, evalDataset, seqlen, windows).doubleColumn("perplexity").get(0);
                pruned.loaded().close();
                Row row = t.appendRow();
                row.setString("method", method);
                row.setDouble("sparsity", sparsity);
                row.setDouble("actual_sparsity", pruned.actualSparsity());
                row.setDouble("perplexity", ppl);
                row.setDouble("perplexity_dense", denseppl);
                row.setDouble("ppl_ratio", ppl / denseppl);
                row.setDouble("prune_seconds", pruned.pruneSeconds());
            }
        }
        return t;
    }

    /**
     * Where each method collapses: per method of a {@link #tradeoff} table, the lowest sparsity whose
     * perplexity exceeds {@code factor} times the dense one (NaN if none does), and the ratio there.
     */
    public static Table collapse(Table tradeoff, double factor) {
        Table t = Table.create("collapse (perplexity > " + factor + " x dense)", StringColumn.create("method"),
                DoubleColumn.create("collapse_sparsity"), DoubleColumn.create("ppl_ratio_there"),
                DoubleColumn.create("last_sparsity_within"));
        for (String method : Charts.distinct(tradeoff, "method")) {
            Table rows = tradeoff.where(tradeoff.stringColumn("method").isEqualTo(method)).sortOn("sparsity");
            double at = Double.NaN, ratio = Double.NaN, within = Double.NaN;
            for (Row r : rows) {
                if (r.getDouble("ppl_ratio") > factor) {
                    at = r.getDouble("sparsity");
                    ratio = r.getDouble("ppl_ratio");
                    break;
                }
                within = r.getDouble("sparsity");
            }
            Row row = t.appendRow();
            row.setString("method", method);
            row.setDouble("collapse_sparsity", at);
            row.setDouble("ppl_ratio_there", ratio);
            row.setDouble("last_sparsity_within", within);
        }
        return t;
    }

    /** {@link Charts#lines}: one line per value of {@code series}, {@code y} against {@code x}; log y-axis. */
    public static org.knowm.xchart.XYChart chart(Table table, String x, String y, String series) {
        return Charts.lines(table, x, y, series, true);
    }

    /** {@link Charts#bars}: grouped bars, e.g. perplexity per language for each model state; linear y-axis (bars start at 0). */
    public static org.knowm.xchart.CategoryChart barChart(Table table, String category, String y, String series) {
        return Charts.bars(table, category, y, series, false);
    }

    // -------------------------------------------------------------------------------------- tracking

    /**
     * Records a model and its measurements as an MLflow run (names as in {@code org.prunelab.track.MlflowNames}): params
     * model, method, sparsity, pattern, calibration; for each row of {@code perplexities}, a nested run with
     * eval_dataset, language, seqlen and metric perplexity (for a single row, in the run itself). Uses the
     * project's tracking server ({@code MLFLOW_TRACKING_URI} or the local one the launcher starts); if none
     * answers, the record waits in the outbox and the link says so.
     *
     * @param experiment MLflow experiment (created if missing)
     */
    public static RunLink track(String experiment, Model model, Table perplexities) {
        Path root = Path.of(System.getProperty("prunelab.root", "."));
        String runName = model.name() + " " + model.label();
        try (Tracker tracker = Tracker.open(root); TrackedRun run = tracker.startRun(experiment, runName)) {
            run.logParam(MlflowNames.Param.MODEL, model.name());
            LayerwiseResult p = model.pruning();
            run.logParam(MlflowNames.Param.METHOD, p == null ? "dense" : p.method());
            run.logParam(MlflowNames.Param.SPARSITY, p == null ? 0.0 : p.pattern().sparsity());
            run.logParam(MlflowNames.Param.PATTERN, p == null ? "unstructured" : p.pattern().label());
            Calibration c = model.calibration();
            if (c != null) {
                run.logParam(MlflowNames.Param.CALIB_DATASET, c.dataset()).logParam(MlflowNames.Param.NSAMPLES, c.nsamples())
                        .logParam(MlflowNames.Param.SEQLEN, c.seqlen()).logParam(MlflowNames.Param.SEED, c.seed());
            }
            if (p != null) {
                run.logMetric(MlflowNames.Metric.ACTUAL_SPARSITY, p.actualSparsity())
                        .logMetric(MlflowNames.Metric.PRUNE_SECONDS, model.pruneSeconds());
            }
            for (Row r : perplexities) {
                if (perplexities.rowCount() == 1) {
                    logEval(run, r);
                } else {
                    try (TrackedRun child = run.startChild(r.getString("dataset"))) {
                        logEval(child, r);
                    }
                }
            }
            String url = tracker.trackingUri().flatMap(uri -> run.runId().map(id -> runUrl(uri, id))).orElse(null);
            return new RunLink(runName, url, url != null ? null
                    : "tracking offline (" + tracker.offlineReason().orElse("no server") + "); kept in mlruns/outbox, sent by './prunelab mlflow sync'");
        }
    }

    private static void logEval(TrackedRun run, Row r) {
        run.logParam(MlflowNames.Param.EVAL_DATASET, r.getString("dataset"))
                .logParam(MlflowNames.Param.LANGUAGE, r.getString("language"))
                .logParam("eval_seqlen", r.getInt("seqlen"))
                .logMetric(MlflowNames.Metric.PERPLEXITY, r.getDouble("perplexity"));
    }

    /** The MLflow UI page of a run; the experiment id comes from the server (REST runs/get). */
    private static String runUrl(URI tracking, String runId) {
        String base = tracking.toString().replaceAll("/+$", "");
        try {
            HttpResponse<String> resp = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create(base + "/api/2.0/mlflow/runs/get?run_id=" + runId)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode info = new ObjectMapper().readTree(resp.body()).path("run").path("info");
            return base + "/#/experiments/" + info.path("experiment_id").asText() + "/runs/" + runId;
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            return base + "/#/runs/" + runId; // without the experiment id the UI still finds the run by id
        }
    }

    private static <T> T invalid(String message) {
        throw new PrunelabException.InvalidArgument(message);
    }
}
