package org.prunelab.notebook;

import org.prunelab.PrunelabException;
import org.prunelab.bench.ForwardTiming;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.arch.ModelLoader;
import org.prunelab.arch.PrunedModelWriter;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodParam;
import org.prunelab.prune.Methods;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Parallel;
import org.prunelab.track.RunTracking;
import org.prunelab.track.TrackedRun;
import org.prunelab.track.Tracker;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.Row;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.numbers.NumberColumnFormatter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The notebook facade: one static call per step of the work, named as a researcher says it, each returning
 * something the prunelab kernel shows richly (Tablesaw tables as HTML, XChart charts as PNG, MLflow links).
 * The kernel imports it statically, so a cell reads
 * <pre>{@code
 * var dense  = load("smollm2-135m");
 * var calib  = calibration("brown", 16, 128, 0);
 * var pruned = prune(dense, "wanda", 0.5, calib);
 * var small  = prune(dense, "fasp", Map.of("sparsity", 0.25), calib);
 * perplexity(pruned, List.of("udhr:eng", "udhr:swh"), 128, 4)
 * }</pre>
 * Every method of the registry ({@link #methods()}) is reachable, with the same parameters as {@code prunelab prune}
 * and the sweep spec, and every call goes through the same {@link Pipeline} as the CLI, so numbers agree with
 * {@code prunelab eval} / {@code prune} on the same settings and {@link #report} is the same {@code prune_report.json}.
 * Long calls draw a progress bar in the cell and stop when the cell is interrupted. User errors throw
 * {@link PrunelabException}s whose messages name the arguments of these calls ({@code nsamples}, {@code windows}).
 */
public final class Prunelab {
    private static final PrunelabHome HOME = PrunelabHome.fromEnvironment();
    private static final Pipeline PIPELINE = new Pipeline(HOME);

    private Prunelab() {}

    /** Progress bars in the cell; warnings printed in the cell's output. */
    private static final Pipeline.Ui UI = new Pipeline.Ui() {
        @Override public org.prunelab.Progress stage(String label) { return new NotebookProgress(label); }
        @Override public void warn(String message) { System.out.println("warning: " + PrunelabException.render(message, PrunelabException.PLAIN)); }
    };

    // ---------------------------------------------------------------------------------------- models

    /**
     * Loads a model (fp32 weights in memory).
     *
     * @param model a registered name ({@code smollm2-135m}), a {@code .gguf} file, or a checkpoint directory
     * @throws PrunelabException.InvalidArgument for an unknown name; ModelFormat for an unreadable file
     */
    public static Model load(String model) {
        return new Model(ModelLoader.load(Pipeline.modelArgument(model), HOME), null, null);
    }

    /** The method registry as a table: name, kind, parameters (range = default), what sparsity is a share of, paper. */
    public static Table methods() {
        StringColumn name = StringColumn.create("method");
        StringColumn kind = StringColumn.create("kind");
        StringColumn params = StringColumn.create("parameters");
        StringColumn of = StringColumn.create("sparsity is a share of");
        StringColumn paper = StringColumn.create("paper");
        for (Method m : Methods.all()) {
            name.append(m.name());
            kind.append(m.kind().label());
            List<String> ps = new ArrayList<>();
            for (MethodParam p : m.params()) ps.add(p.name() + " " + p.range() + (p.defaultValue() != null ? " = " + p.defaultValue() : ""));
            params.append(String.join(", ", ps));
            of.append(m.sparsityOf());
            paper.append(m.paper());
        }
        return Table.create("pruning methods", name, kind, params, of, paper);
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
     * Prunes a copy of {@code model} with any registered method at {@code sparsity} (what that is a share of depends on
     * the method: see {@link #methods()}): magnitude, Wanda, SparseGPT remove single weights; FASP, FLAP, ShortGPT remove
     * channels, heads or blocks; low-rank factorises. The given model is left as it is, so dense and pruned can be
     * compared side by side.
     *
     * @throws PrunelabException.InvalidArgument for an unknown method, a sparsity outside [0, 1), a bad calibration
     */
    public static Model prune(Model model, String method, double sparsity, Calibration calibration) {
        return prune(model, method, Map.of("sparsity", sparsity), calibration);
    }

    /**
     * N:M pruning ({@code "2:4"}, {@code "4:8"}): in every group of M consecutive inputs of a row, N weights
     * are kept; otherwise as {@link #prune(Model, String, double, Calibration)}.
     */
    public static Model prune(Model model, String method, String pattern, Calibration calibration) {
        if (pattern.strip().equalsIgnoreCase("unstructured")) {
            throw new PrunelabException.InvalidArgument("pattern \"unstructured\" needs a sparsity: call prune(model, method, 0.5, calibration)");
        }
        return prune(model, method, Map.of("pattern", pattern), calibration);
    }

    /**
     * Prunes a copy of {@code model} with a registered method and its parameters by registry name, e.g.
     * {@code Map.of("sparsity", 0.5, "owl", true)}, {@code Map.of("sparsity", 0.25, "allocation", "global")},
     * {@code Map.of("layers", 8)}, {@code Map.of("rank_ratio", 0.3, "activation_weighted", true)}.
     *
     * @throws PrunelabException.InvalidArgument for an unknown method or parameter, or a value out of range (named)
     */
    public static Model prune(Model model, String method, Map<String, ?> params, Calibration calibration) {
        return prune(model, method, params, calibration, List.of(), 0, 0);
    }

    /**
     * As {@link #prune(Model, String, Map, Calibration)}, and evaluates the dense and the pruned model on the first
     * {@code windows} (0 = all) windows of {@code seqlen} tokens of each dataset's evaluation split, as
     * {@code prunelab prune --eval D --eval-seqlen S --eval-windows W} does: {@link #evaluation(Model)} shows them, and
     * {@link #report(Model)} carries them.
     */
    public static Model prune(Model model, String method, Map<String, ?> params, Calibration calibration,
                              List<String> evalDatasets, int seqlen, int windows) {
        List<EvalSpec> evaluation = evalDatasets.stream().map(d -> new EvalSpec(d, seqlen, windows)).toList();
        RunSpec spec = RunSpec.pruning(model.name(), method, params, calibration.spec(), evaluation, "dense", null,
                calibration.seed());
        Pipeline.Outcome o = PIPELINE.execute(PIPELINE.plan(spec), model.loaded(), UI, false);
        return new Model(o.model(), spec, o);
    }

    /**
     * The evaluation of a pruning run ({@link #prune(Model, String, Map, Calibration, List, int, int)}): one row per
     * dataset with the dense and the pruned perplexity on the same windows and their ratio.
     */
    public static Table evaluation(Model model) {
        if (!model.isPruned()) throw new PrunelabException.InvalidArgument("a dense model has no pruning run; prune(...) one first");
        Table t = Table.create("perplexity before and after " + model.label(), StringColumn.create("dataset"),
                StringColumn.create("language"), IntColumn.create("seqlen"), IntColumn.create("windows"),
                digits(DoubleColumn.create("perplexity_dense"), 4), digits(DoubleColumn.create("perplexity"), 4),
                digits(DoubleColumn.create("ppl_ratio"), 4));
        for (EvalResult e : model.outcome().result().evals()) {
            Row row = t.appendRow();
            row.setString("dataset", e.dataset());
            row.setString("language", e.language());
            row.setInt("seqlen", e.seqlen());
            row.setInt("windows", e.windows());
            row.setDouble("perplexity_dense", e.perplexityDense());
            row.setDouble("perplexity", e.perplexity());
            row.setDouble("ppl_ratio", e.pplRatio());
        }
        return t;
    }

    /**
     * Saves a pruned model as {@code prunelab prune --out} does: safetensors, config.json, tokenizer.json,
     * {@code prune_report.json}, the calibration token ids; transformers and {@code prunelab --model DIR} reload it.
     *
     * @throws PrunelabException.InvalidArgument if {@code dir} exists or the model is not pruned
     */
    public static Path save(Model model, String dir) {
        if (!model.isPruned()) throw new PrunelabException.InvalidArgument("save writes a pruned model; prune(...) one first");
        Path out = Path.of(dir);
        PrunedModelWriter.write(out, model.loaded().model(), model.loaded().tokenizer(), model.outcome().files());
        return out.toAbsolutePath();
    }

    /** The pruned model's {@code prune_report.json} (the CLI's schema), as text. */
    public static String report(Model model) {
        if (!model.isPruned()) throw new PrunelabException.InvalidArgument("a dense model has no prune report; prune(...) one first");
        return model.outcome().report().toJson();
    }

    // ------------------------------------------------------------------------------------ perplexity

    /**
     * Perplexity on the evaluation split of one dataset, as {@code prunelab eval --dataset --seqlen --windows}.
     *
     * @param windows evaluate the first {@code windows} windows of {@code seqlen} tokens (0 = all)
     * @return one row: model, state, dataset, language, split, seqlen, windows, tokens, perplexity, seconds
     */
    public static Table perplexity(Model model, String dataset, int seqlen, int windows) {
        return perplexity(model, List.of(dataset), seqlen, windows);
    }

    /** {@link #perplexity(Model, String, int, int)} for several datasets, one row each (e.g. per language). */
    public static Table perplexity(Model model, List<String> datasets, int seqlen, int windows) {
        Table t = perplexityTable();
        for (String dataset : datasets) {
            EvalResult r = PIPELINE.evaluate(model.loaded(), new EvalSpec(dataset, seqlen, windows), Double.NaN, UI);
            Row row = t.appendRow();
            row.setString("model", model.name());
            row.setString("state", model.label());
            row.setString("dataset", dataset);
            row.setString("language", r.language());
            row.setString("split", r.split());
            row.setInt("seqlen", seqlen);
            row.setInt("windows", r.windows());
            row.setLong("tokens", r.tokens());
            row.setDouble("perplexity", r.perplexity());
            row.setDouble("perplexity_lo", r.perplexityInterval().lo());
            row.setDouble("perplexity_hi", r.perplexityInterval().hi());
            row.setDouble("seconds", r.seconds());
        }
        return t;
    }

    private static Table perplexityTable() {
        return Table.create("perplexity", StringColumn.create("model"), StringColumn.create("state"),
                StringColumn.create("dataset"), StringColumn.create("language"), StringColumn.create("split"),
                IntColumn.create("seqlen"), IntColumn.create("windows"), LongColumn.create("tokens"),
                digits(DoubleColumn.create("perplexity"), 4), digits(DoubleColumn.create("perplexity_lo"), 4),
                digits(DoubleColumn.create("perplexity_hi"), 4), digits(DoubleColumn.create("seconds"), 2));
    }

    // -------------------------------------------------------------------------------------- accuracy

    /**
     * Zero-shot multiple-choice accuracy by log-likelihood, as {@code prunelab eval --task TASK --items N}: lm-eval's
     * scoring, acc and acc_norm with their 95% bootstrap intervals over items.
     *
     * @param tasks {@code udhr-next:<code>}, {@code brown-next}, or {@code <format>:<file>} (e.g. {@code hellaswag:/data/h.jsonl})
     * @param items score the first {@code items} items of each task (0 = all)
     * @return one row per task: model, state, task, items, acc, acc_lo, acc_hi, acc_norm, acc_norm_lo, acc_norm_hi, seconds
     * @throws org.prunelab.PrunelabException for an unknown task, a file in the wrong format, or a language without UDHR text
     */
    public static Table accuracy(Model model, List<String> tasks, int items) {
        Table t = Table.create("accuracy", StringColumn.create("model"), StringColumn.create("state"), StringColumn.create("task"),
                IntColumn.create("items"), digits(DoubleColumn.create("acc"), 3), digits(DoubleColumn.create("acc_lo"), 3),
                digits(DoubleColumn.create("acc_hi"), 3), digits(DoubleColumn.create("acc_norm"), 3),
                digits(DoubleColumn.create("acc_norm_lo"), 3), digits(DoubleColumn.create("acc_norm_hi"), 3),
                digits(DoubleColumn.create("seconds"), 2));
        for (String task : tasks) {
            org.prunelab.run.TaskSpec spec = new org.prunelab.run.TaskSpec(task, items);
            var loaded = PIPELINE.task(spec);
            var r = org.prunelab.eval.tasks.MultipleChoice.evaluate(model.loaded().model(), model.loaded().tokenizer(), task,
                    loaded.items(), loaded.note(), UI.stage("accuracy " + spec.label()));
            Row row = t.appendRow();
            row.setString("model", model.name());
            row.setString("state", model.label());
            row.setString("task", task);
            row.setInt("items", r.items().size());
            row.setDouble("acc", r.acc().estimate());
            row.setDouble("acc_lo", r.acc().lo());
            row.setDouble("acc_hi", r.acc().hi());
            row.setDouble("acc_norm", r.accNorm().estimate());
            row.setDouble("acc_norm_lo", r.accNorm().lo());
            row.setDouble("acc_norm_hi", r.accNorm().hi());
            row.setDouble("seconds", r.seconds());
        }
        return t;
    }

    /**
     * Shows the column with at most {@code n} decimals and no grouping (tables otherwise print full double precision);
     * the values themselves are not rounded.
     */
    static DoubleColumn digits(DoubleColumn c, int n) {
        java.text.DecimalFormat f = new java.text.DecimalFormat("0." + "0".repeat(Math.min(n, 1)) + "#".repeat(Math.max(0, n - 1)),
                java.text.DecimalFormatSymbols.getInstance(java.util.Locale.ROOT));
        c.setPrintFormatter(new NumberColumnFormatter(f, ""));
        return c;
    }

    // ----------------------------------------------------------------------------------------- bench

    /**
     * Prefill speed: median and best tokens/s of {@code repeat} timed forward passes over {@code seqlen}
     * tokens (batch 1, all positions' logits), as {@code prunelab bench forward}. Wall-clock numbers: on a
     * shared machine they vary; compare models measured in the same session.
     */
    public static Table bench(Model model, int seqlen, int repeat) {
        if (repeat < 1) throw new PrunelabException.InvalidArgument("repeat must be at least 1, got " + repeat);
        model.loaded().checkSeqlen(seqlen, "bench.seqlen");
        ForwardTiming.Result r = ForwardTiming.prefill(model.loaded().model(), seqlen, repeat,
                new NotebookProgress("bench " + model.label()));
        Table t = Table.create("prefill speed", StringColumn.create("state"), IntColumn.create("seqlen"),
                IntColumn.create("threads"), StringColumn.create("gemm"), digits(DoubleColumn.create("prefill_tokens_per_s"), 1),
                digits(DoubleColumn.create("prefill_tokens_per_s_best"), 1));
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
                StringColumn.create("method"), DoubleColumn.create("sparsity"), digits(DoubleColumn.create("actual_sparsity"), 4),
                digits(DoubleColumn.create("perplexity"), 4), digits(DoubleColumn.create("perplexity_dense"), 4),
                digits(DoubleColumn.create("ppl_ratio"), 4), digits(DoubleColumn.create("prune_seconds"), 2));
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
                DoubleColumn.create("collapse_sparsity"), digits(DoubleColumn.create("ppl_ratio_there"), 4),
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
     * Records a model and its measurements as an MLflow run, the way the CLI and sweeps record theirs
     * ({@link RunTracking}): the run that made the model (method, its parameters, calibration) as params, the rows of
     * {@code perplexities} as evaluation results (the first as the headline metrics; with several, one nested run
     * each), and as artifacts the model's {@code prune_report.json}, {@code run_spec.yaml} and the table as CSV. Uses
     * {@code MLFLOW_TRACKING_URI} or the project's local server; if none answers, the record waits in the outbox and
     * the link says so.
     *
     * @param experiment MLflow experiment (created if missing)
     */
    public static RunLink track(String experiment, Model model, Table perplexities) {
        Path root = Path.of(System.getProperty("prunelab.root", "."));
        List<EvalResult> evals = new ArrayList<>();
        List<EvalSpec> evalSpecs = new ArrayList<>();
        for (Row r : perplexities) {
            evals.add(new EvalResult(r.getString("dataset"), r.getString("language"), r.getInt("seqlen"), r.getInt("windows"),
                    r.getString("split"), "", r.getLong("tokens"), r.getDouble("perplexity"), Double.NaN,
                    Math.log(r.getDouble("perplexity")), r.getDouble("seconds")));
            evalSpecs.add(new EvalSpec(r.getString("dataset"), r.getInt("seqlen"), r.getInt("windows"), "all".equals(r.getString("split"))));
        }
        RunSpec spec = model.isPruned() ? model.spec() : RunSpec.dense(model.name(), List.of(), "dense", null);
        spec = new RunSpec(spec.model(), spec.method(), spec.params(), spec.calibration(), evalSpecs, spec.format(), null, spec.seed(),
                spec.quantize());
        RunResult base = model.isPruned() ? model.outcome().result() : null;
        long bytes = org.prunelab.bench.ModelBench.modelBytes(model.loaded().model());
        RunResult result = base != null
                ? new RunResult(spec, base.requestedSparsity(), base.actualSparsity(), base.paramsTotal(), base.paramsNonzero(),
                        base.modelBytes(), base.pruneSeconds(), base.peakRssBytes(), base.memoryOverheadRatio(), Double.NaN,
                        Double.NaN, Double.NaN, Double.NaN, "dense", evals, base.warnings())
                : new RunResult(spec, 0, 0, bytes / 4, bytes / 4, bytes, 0, -1, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                        Double.NaN, "dense", evals, List.of());
        try (Tracker tracker = Tracker.open(root)) {
            TrackedRun run = RunTracking.start(tracker, experiment, null, spec, "notebook", Map.of());
            Path files = Files.createTempDirectory("prunelab-notebook-run-");
            try {
                Map<String, String> out = new LinkedHashMap<>();
                if (model.isPruned()) out.putAll(model.outcome().files());
                out.put("run_spec.yaml", spec.toYaml());
                Pipeline.writeFiles(files, out);
                perplexities.write().csv(files.resolve("perplexity.csv").toFile());
                RunTracking.finish(run, result, files);
            } finally {
                try (var walk = Files.walk(files)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
            }
            String url = tracker.runUrl(run).orElse(null);
            return new RunLink(run.name(), url, url != null ? null
                    : "tracking offline (" + tracker.offlineReason().orElse("no server") + "); kept in mlruns/outbox, sent by './prunelab mlflow sync'");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage the run's files for MLflow", e);
        }
    }
}
