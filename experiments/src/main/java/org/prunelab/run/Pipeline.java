package org.prunelab.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.bench.MemoryMeter;
import org.prunelab.bench.ModelBench;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Overlap;
import org.prunelab.data.Split;
import org.prunelab.data.Tokenizer;
import org.prunelab.data.Window;
import org.prunelab.eval.Bootstrap;
import org.prunelab.eval.Evaluation;
import org.prunelab.eval.Perplexity;
import org.prunelab.eval.PerplexityResult;
import org.prunelab.model.DecoderBlock;
import org.prunelab.format.FormatConversion;
import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.LoadedModel;
import org.prunelab.arch.ModelLoader;
import org.prunelab.model.ModelShape;
import org.prunelab.prune.CalibrationData;
import org.prunelab.prune.PruneOptions;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.prune.Pruner;
import org.prunelab.tensor.Parallel;
import org.prunelab.eval.tasks.McResult;
import org.prunelab.eval.tasks.MultipleChoice;
import org.prunelab.eval.tasks.Tasks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The one run path: every entry point ({@code prune}, {@code eval}, {@code bench}, sweep points, the notebook facade)
 * hands a {@link RunSpec} to this class and nothing else wires the steps. A run is
 *
 * <ol>
 *   <li><b>plan</b> ({@link #plan}): the whole spec is checked before anything is loaded — parameters, the model's
 *       shape read from its header (seqlen against the context, N:M against every in_features, FASP's token minimum,
 *       ShortGPT's layer count), the datasets, the calibration text's length (with the tokenizer alone);</li>
 *   <li><b>load</b> the model (kept across runs of the same model: a sweep loads it once);</li>
 *   <li><b>calibrate</b>: sample the calibration windows; warn when the calibration text is also evaluation text;</li>
 *   <li><b>dense baseline</b>: evaluate (and time) the unpruned model once per model and evaluation set;</li>
 *   <li><b>prune</b> through the method registry's {@link Pruner}, with peak memory metered (copy-on-prune:
 *       {@link PruneOptions});</li>
 *   <li><b>evaluate</b> every evaluation set on the same windows as the baseline, and <b>bench</b> if asked;</li>
 *   <li><b>report</b>: one {@link PruneReport} and the files a run leaves (report, spec, token ids).</li>
 * </ol>
 *
 * Tracking wraps a run from outside ({@link org.prunelab.track.RunTracking}); saving is the caller's
 * ({@link org.prunelab.arch.PrunedModelWriter} with {@link Outcome#files()}). Not thread-safe.
 */
public final class Pipeline implements RunExecutor {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** How a run talks to whoever runs it: a progress listener per stage, and warnings. */
    public interface Ui {
        /** A progress listener for one stage ({@code "eval dense udhr:eng"}, {@code "prune wanda"}, ...). */
        Progress stage(String label);

        /**
         * Something the user should know (calibration text that is also evaluation text, ...); may name parameters with
         * {@code ${param}} placeholders, which the entry point spells its way ({@link PrunelabException#render}).
         */
        void warn(String message);

        /** Ignores everything. */
        Ui SILENT = new Ui() {
            @Override public Progress stage(String label) { return Progress.NONE; }
            @Override public void warn(String message) {}
        };
    }

    /**
     * What the checks before loading found.
     *
     * @param spec        the run
     * @param shape       the model's shape from its header
     * @param pruner      the configured method, or null for dense
     * @param requested   the requested sparsity on this model (0 for dense)
     * @param calibCorpus the calibration corpus (the first of a list), or null when none is used
     * @param evalCorpora one corpus per evaluation set, in order
     * @param calibCorpora every calibration corpus, in the order {@link CalibrationSpec#datasets()} lists them (empty
     *                     when none is used)
     */
    public record Plan(RunSpec spec, ModelShape shape, Pruner pruner, double requested, Corpus calibCorpus,
                       List<Corpus> evalCorpora, List<Corpus> calibCorpora) {
        /** A plan with one calibration corpus (or none). */
        public Plan(RunSpec spec, ModelShape shape, Pruner pruner, double requested, Corpus calibCorpus, List<Corpus> evalCorpora) {
            this(spec, shape, pruner, requested, calibCorpus, evalCorpora, calibCorpus == null ? List.of() : List.of(calibCorpus));
        }
    }

    /**
     * What a run produced, beyond its {@link RunResult}.
     *
     * @param result       the measurements
     * @param model        the model after the run: the pruned one (sharing the tokenizer of the loaded one), or the
     *                     loaded one when nothing was pruned
     * @param pruning      what the pruner did, or null for dense
     * @param calibration  the exact calibration windows (empty when none)
     * @param evalWindows  the windows of each evaluation set, in spec order
     * @param bench        speed details, or null when not measured
     * @param evalFormat   the execution formats of the block linears during evaluation (null without evaluation)
     * @param report       the run's {@code prune_report.json}
     * @param files        the files a run leaves, by name: {@code prune_report.json}, {@code run_spec.yaml},
     *                     {@code calibration_ids.json}, {@code eval_ids.json}
     */
    public record Outcome(RunResult result, LoadedModel model, PruneOutcome pruning, List<Window> calibration,
                          List<List<Window>> evalWindows, BenchDetail bench, FormatConversion evalFormat,
                          PruneReport report, Map<String, String> files) {}

    /**
     * Speed details of a run.
     *
     * @param result             the model's runs
     * @param conversion         the execution formats of its block linears while timed
     * @param comparison         alternating pairs against a baseline model, or null
     * @param baseline           the baseline's model argument, or null
     * @param baselineConversion the baseline's formats (dense), or null
     * @param baselineFileBytes  the baseline's size on disk, or 0
     */
    public record BenchDetail(ModelBench.BenchResult result, FormatConversion conversion, ModelBench.Comparison comparison,
                              String baseline, FormatConversion baselineConversion, long baselineFileBytes) {}

    private record CalibrationKey(CalibrationSpec spec, long seed) {}

    /** What the pipeline remembers about one dense model across runs: a sweep measures its baseline once. */
    private static final class ModelState {
        final Map<EvalSpec, List<Window>> evalWindows = new HashMap<>();
        final Map<EvalSpec, PerplexityResult> densePerplexity = new HashMap<>();
        final Map<CalibrationKey, List<Window>> calibrations = new HashMap<>();
    }

    private final PrunelabHome home;
    private final Map<String, Corpus> corpora = new HashMap<>();
    private final Map<TaskSpec, Tasks.Task> tasks = new HashMap<>();
    /** Calibration sets whose length was checked, by model: a sweep plans many points on the same ones. */
    private final java.util.Set<String> calibrationChecked = new java.util.HashSet<>();
    private LoadedModel loaded;          // the model this pipeline loaded (kept while runs name it)
    private String loadedName;           // whose state loadedState is: it outlives a release and reload of the model
    private ModelState loadedState = new ModelState();

    public Pipeline(PrunelabHome home) {
        this.home = home;
    }

    private Path scratchDir;

    /**
     * Puts the calibration activations' temporary file in {@code dir} (null: {@code java.io.tmpdir}); the folder is
     * checked when a run is planned (writable, room for nsamples x seqlen x hidden fp32 values).
     */
    public Pipeline scratchDir(Path dir) {
        this.scratchDir = dir;
        return this;
    }

    // ------------------------------------------------------------------------------------------------- plan

    /**
     * Checks the whole spec without loading weights (milliseconds to a few seconds: the model's header, the corpora,
     * the tokenizer when calibration text must be measured).
     *
     * @throws PrunelabException naming what is wrong with a {@code ${param}} placeholder for each parameter
     */
    public Plan plan(RunSpec spec) {
        // What needs no file first.
        if (spec.calibration() != null && spec.calibration().nsamples() < 1) {
            throw new PrunelabException.InvalidArgument("${calib.nsamples} must be at least 1, got " + spec.calibration().nsamples()
                    + ": the reference calibrates on 128 windows");
        }
        java.util.Set<EvalSpec> seen = new java.util.HashSet<>();
        for (EvalSpec e : spec.evaluation()) {
            Evaluation.checkWindows(e.windows());
            if (!seen.add(e)) {
                throw new PrunelabException.InvalidArgument("evaluation set " + e.dataset() + " is given twice (${eval.dataset});"
                        + " give each once");
            }
        }
        ModelShape shape = ModelLoader.inspect(spec.model(), home);
        String model = spec.model();
        Pruner pruner = null;
        double requested = 0;
        Corpus calib = null;
        List<Corpus> calibs = new ArrayList<>();
        // GPTQ runs inside the calibration loop (after each block's masks; SparseGPT's joint pass); round to nearest runs
        // after pruning on the result, for every method.
        org.prunelab.prune.QuantSpec gptq = spec.quantize() != null && spec.quantize().calibrated() ? spec.quantize().toCore() : null;
        if (spec.prunes()) {
            pruner = spec.methodEntry().create(spec.methodArgs());
            requested = pruner.requestedSparsity(shape);
            if (gptq != null) pruner = pruner.withQuantization(gptq);
        } else if (gptq != null) {
            pruner = org.prunelab.prune.LayerwisePruner.quantizeOnly(gptq);
        }
        if (pruner != null) {
            CalibrationSpec c = spec.calibration();
            long tokens = 0;
            if (pruner.needsCalibration()) {
                if (c == null) throw new PrunelabException.InvalidArgument((spec.prunes() ? spec.method() : "gptq")
                        + " needs calibration data (${calib.dataset})");
                LoadedModel.checkSeqlen(shape.config(), model, c.seqlen(), "calib.seqlen");
                tokens = (long) c.nsamples() * c.seqlen();
            }
            pruner.check(shape, tokens);
            if (pruner.needsCalibration()) {
                // The activations' scratch file, before anything loads: a full or read-only disk fails here, not in block 12.
                org.prunelab.model.ActivationCache.checkScratch(scratchDir, 4L * c.nsamples() * c.seqlen() * shape.config().hiddenSize());
                for (String d : c.datasets()) {
                    Corpus one = corpus(d);
                    one.part(Split.CALIBRATION); // a dataset without a calibration part fails here
                    calibs.add(one);
                }
                calib = calibs.getFirst();
                CalibrationData.shares(c.nsamples(), calibs.size()); // at least one window per listed dataset
            }
        }
        if (spec.quantize() != null) {
            // Every linear's rows must be whole blocks of 32: checked on the model as it is (a structured method's
            // narrower result is checked again when it is quantised).
            org.prunelab.prune.QuantSpec q = spec.quantize().toCore();
            q.checkFits(shape.config().hiddenSize(), "the LM head (hidden_size)");
            for (int l = 0; l < shape.blocks().size(); l++) {
                for (ModelShape.LinearShape ls : shape.linears(l)) q.checkFits(ls.inFeatures(), "layer " + l + " " + ls.name());
            }
        }
        List<Corpus> evals = new ArrayList<>();
        for (EvalSpec e : spec.evaluation()) {
            LoadedModel.checkSeqlen(shape.config(), model, e.seqlen(), "eval.seqlen");
            Corpus corpus = corpus(e.dataset());
            if (!e.whole()) corpus.part(Split.EVALUATION);
            evals.add(corpus);
        }
        for (TaskSpec t : spec.tasks()) task(t); // an unknown task or a bad task file fails before the model loads
        checkFormat(spec.format(), "format");
        BenchSpec b = spec.bench();
        if (b != null) {
            new ModelBench.Options(b.promptLen(), b.gen(), b.repeat(), b.warmup(), 0); // range checks
            if ((long) b.promptLen() + b.gen() > shape.config().maxPositionEmbeddings()) {
                throw new PrunelabException.InvalidArgument("${bench.prompt_len} " + b.promptLen() + " plus ${bench.gen} " + b.gen()
                        + " is beyond the model's context of " + shape.config().maxPositionEmbeddings() + " tokens; use fewer");
            }
            checkFormat(b.format(), "bench.format");
            checkFormat(b.baselineFormat(), "bench.vs_format");
        }
        if (calib != null) {
            // The calibration text's length needs the tokenizer; it loads in well under a second, the weights in seconds.
            CalibrationSpec c = spec.calibration();
            String key = model + "|" + c;
            if (!calibrationChecked.contains(key)) {
                if (loaded != null && loaded.name().equals(model)) {
                    CalibrationData.checkSize(calibs, loaded.tokenizer()::encodeWithDefaults, c.nsamples(), c.seqlen());
                } else {
                    try (Tokenizer t = ModelLoader.loadTokenizer(model, home)) {
                        CalibrationData.checkSize(calibs, t::encodeWithDefaults, c.nsamples(), c.seqlen());
                    }
                }
                calibrationChecked.add(key);
            }
        }
        return new Plan(spec, shape, pruner, requested, calib, evals, List.copyOf(calibs));
    }

    /** Whether the run's quantisation happens inside the calibration loop (GPTQ), not after it (round to nearest). */
    private static boolean gptqInLoop(RunSpec spec) {
        return spec.quantize() != null && spec.quantize().calibrated();
    }

    /** {@code model} with its LM head as the block formats' whole-model conversions leave it (Q8_0), in place. */
    private static DecoderModel withQuantizedHead(DecoderModel model) {
        model.setLmHead(org.prunelab.format.WeightFormats.convert(model.lmHead(), org.prunelab.format.WeightFormats.byName("q8_0")));
        return model;
    }

    private static void checkFormat(String format, String param) {
        if (!org.prunelab.format.WeightFormats.names().contains(format.strip().toLowerCase(Locale.ROOT))) {
            throw new PrunelabException.InvalidArgument("unknown ${" + param + "} '" + format + "': use "
                    + String.join(", ", org.prunelab.format.WeightFormats.names()));
        }
    }

    // ------------------------------------------------------------------------------------------------- run

    /** The sweep's entry: {@link #execute} with stage progress forwarded to {@code progress}, files into {@code workDir}. */
    @Override
    public RunResult run(RunSpec spec, Path workDir, Progress progress) {
        Ui ui = new Ui() {
            @Override public Progress stage(String label) { return (d, t, l) -> progress.update(d, t, label + ": " + l); }
            @Override public void warn(String message) { progress.update(0, 1, "warning: " + message); }
        };
        // As `prunelab prune` does: the loaded model is given up block by block while pruning, so a point's memory
        // overhead is the method's own (with the dense model kept, the pruned copy would count too). The next point
        // (or this one's speed pairs) loads it again, keeping what was measured on it.
        Outcome o = execute(spec, ui, true);
        writeFiles(workDir, o.files());
        if (o.pruning() != null && o.model().ownsTokenizer()) o.model().close(); // the pruned copy owns the old tokenizer
        return o.result();
    }

    /** Writes a run's files into {@code dir} (created if needed). */
    public static void writeFiles(Path dir, Map<String, String> files) {
        try {
            Files.createDirectories(dir);
            for (Map.Entry<String, String> f : files.entrySet()) Files.writeString(dir.resolve(f.getKey()), f.getValue());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the run's files in " + dir, e);
        }
    }

    /**
     * Runs {@code spec}: plan, load, calibrate, dense baseline, prune, evaluate, bench, report.
     *
     * @param releaseDense whether the loaded model may be given up block by block while pruning (the CLI's
     *                     {@code prune}, which needs nothing of it afterwards); the pipeline then forgets it
     */
    public Outcome execute(RunSpec spec, Ui ui, boolean releaseDense) {
        return execute(plan(spec), ui, releaseDense);
    }

    /** {@link #execute(RunSpec, Ui, boolean)} of a spec already {@linkplain #plan planned}. */
    public Outcome execute(Plan plan, Ui ui, boolean releaseDense) {
        return execute(plan, model(plan.spec().model()), ui, releaseDense);
    }

    /**
     * Runs a planned spec on a model the caller loaded and keeps (the notebook's): it is pruned copy-on-prune and left
     * as it was. Its baseline is measured afresh unless it is the model this pipeline loaded.
     */
    public Outcome execute(Plan plan, LoadedModel dense, Ui ui, boolean releaseDense) {
        return execute(plan, dense, ui, releaseDense, null);
    }

    /**
     * Checks, before anything loads, that {@code plan} can run streamed ({@link #executeStreamed}): a method that
     * prunes block by block in the calibration loop, no quantisation or speed measurement (they need the model in
     * memory), evaluation in the stored format.
     *
     * @throws PrunelabException.InvalidArgument naming what cannot stream and what to do
     */
    public static void checkStreamable(Plan plan) {
        RunSpec spec = plan.spec();
        if (plan.pruner() != null && !plan.pruner().streams()) {
            throw new PrunelabException.InvalidArgument(spec.method() + " cannot run streamed (it needs the whole model at"
                    + " once); use wanda, sparsegpt, magnitude, fasp or flap with --streaming, or drop --streaming");
        }
        if (spec.quantize() != null) {
            throw new PrunelabException.InvalidArgument("--streaming writes the pruned fp32 blocks as they are made;"
                    + " ${quantize} is not supported with it yet: prune streamed, then quantize the saved model");
        }
        if (spec.bench() != null) {
            throw new PrunelabException.InvalidArgument("--streaming cannot measure speed (the model is never whole in memory)");
        }
        String f = spec.format().strip().toLowerCase(Locale.ROOT);
        if (!f.equals("auto") && !f.equals("dense")) {
            throw new PrunelabException.InvalidArgument("--streaming evaluates in the stored fp32 format; ${format} " + spec.format()
                    + " needs the model in memory: drop one of them");
        }
    }

    /**
     * Runs a planned spec on a model larger than memory and writes the result to {@code out} as it is made: the model is
     * opened streamed ({@link ModelLoader#loadStreamed}: each block dequantised from the memory-mapped file when the
     * calibration loop reaches it, one block in memory at a time), every pruned block goes straight to its shard of a
     * Hugging Face checkpoint ({@link org.prunelab.arch.StreamedCheckpoint}) and is dropped, evaluation runs layer by
     * layer ({@link org.prunelab.eval.LayerwisePerplexity}). Masks, weights and perplexities are the in-memory run's,
     * bit for bit. The folder appears complete, with the run's files, or not at all.
     *
     * A spec without a method is evaluated streamed (layer by layer) and {@code out} is not used; the outcome's model
     * then holds the open file: close it.
     *
     * @throws PrunelabException.InvalidArgument for what {@link #checkStreamable} refuses, or if {@code out} exists
     */
    public Outcome executeStreamed(Plan plan, Path out, Ui ui) {
        checkStreamable(plan);
        close(); // a model this pipeline holds in memory is given up first
        org.prunelab.model.BlockResidency residency = new org.prunelab.model.BlockResidency(1);
        LoadedModel dense = ModelLoader.loadStreamed(plan.spec().model(), home, residency);
        if (plan.pruner() == null) {
            // Evaluation only: layer by layer on the streamed model; nothing is written.
            try {
                return execute(plan, dense, ui, false, null);
            } catch (RuntimeException e) {
                dense.close();
                throw e;
            }
        }
        org.prunelab.arch.StreamedCheckpoint checkpoint = null;
        try {
            java.util.Set<org.prunelab.model.LinearRole> biased = java.util.EnumSet.noneOf(org.prunelab.model.LinearRole.class);
            biased.addAll(plan.pruner().addsBiasTo());
            DecoderBlock first = dense.model().block(0);
            for (org.prunelab.model.LinearRole role : org.prunelab.model.LinearRole.values()) {
                if (org.prunelab.format.WeightFormats.bias(first.linear(role)) != null) biased.add(role);
            }
            first.unload();
            org.prunelab.arch.PrunedModelWriter.checkSavable(dense.config(), biased, plan.spec().method(), out);
            checkpoint = org.prunelab.arch.StreamedCheckpoint.begin(out, dense.config(), dense.model().blocks().size(),
                    biased.stream().anyMatch(org.prunelab.model.LinearRole::isAttention),
                    biased.stream().anyMatch(r -> !r.isAttention()), residency);
            Outcome o = execute(plan, dense, ui, true, checkpoint);
            Progress stage = ui.stage("save shards");
            checkpoint.finish(o.model().model(), dense.tokenizer(), o.files());
            stage.finish();
            org.prunelab.arch.StreamedCheckpoint written = checkpoint;
            LoadedModel after = new LoadedModel(dense.name(), dense.path(), o.model().model(), dense.tokenizer(),
                    dense.fileBytes(), dense.loadSeconds(), true, () -> {
                        try {
                            written.close();
                        } finally {
                            dense.weights().close();
                        }
                    });
            return new Outcome(o.result(), after, o.pruning(), o.calibration(), o.evalWindows(), o.bench(), o.evalFormat(),
                    o.report(), o.files());
        } catch (RuntimeException e) {
            if (checkpoint != null) checkpoint.close();
            dense.close();
            throw e;
        }
    }

    private Outcome execute(Plan plan, LoadedModel dense, Ui ui, boolean releaseDense, PruneOptions.BlockSink sink) {
        RunSpec spec = plan.spec();
        ModelState state = dense == loaded ? loadedState : new ModelState();
        List<Window> calibration = plan.pruner() != null && plan.pruner().needsCalibration()
                ? state.calibrations.computeIfAbsent(new CalibrationKey(spec.calibration(), spec.seed()), k ->
                        CalibrationData.sample(plan.calibCorpora(), dense.tokenizer()::encodeWithDefaults, k.spec().nsamples(), k.spec().seqlen(), k.seed()))
                : List.of();
        List<String> calibrationLanguages = calibration.isEmpty() ? List.of() : CalibrationData.languages(calibration, plan.calibCorpora());
        List<List<Window>> windows = new ArrayList<>();
        List<List<Window>> wholeParts = new ArrayList<>(); // every window of each set: what the overlap check reads
        for (int i = 0; i < spec.evaluation().size(); i++) {
            Corpus corpus = plan.evalCorpora().get(i);
            EvalSpec e = spec.evaluation().get(i);
            List<Window> all = state.evalWindows.computeIfAbsent(new EvalSpec(e.dataset(), e.seqlen(), 0, e.whole()), k ->
                    Evaluation.windows(dense, corpus, k.seqlen(), 0, k.whole()));
            wholeParts.add(all);
            windows.add(e.windows() > 0 && all.size() > e.windows() ? all.subList(0, e.windows()) : all);
        }
        List<String> warnings = overlapWarnings(spec, calibration, wholeParts, ui);
        warnings.addAll(calibrationWarnings(plan, calibration, calibrationLanguages, ui));
        for (int i = 0; i < spec.evaluation().size(); i++) {
            EvalSpec e = spec.evaluation().get(i);
            if (e.windows() > wholeParts.get(i).size()) {
                String w = "${eval.windows} " + e.windows() + " asked of " + e.dataset() + ", whose " + e.split() + " text has "
                        + wholeParts.get(i).size() + " windows of " + e.seqlen() + " tokens: all " + wholeParts.get(i).size() + " evaluated";
                warnings.add(PrunelabException.render(w, PrunelabException.PLAIN));
                ui.warn(w);
            }
        }

        List<PerplexityResult> denseEvals = new ArrayList<>();
        boolean changes = spec.prunes() || spec.quantize() != null; // the run's model differs from the one loaded
        if (changes) {
            for (int i = 0; i < spec.evaluation().size(); i++) {
                EvalSpec e = spec.evaluation().get(i);
                List<Window> w = windows.get(i);
                denseEvals.add(state.densePerplexity.computeIfAbsent(e, k -> perplexity(dense.model(), w, ui.stage("eval dense " + k.dataset()))));
            }
        }

        LoadedModel after = dense;
        PruneOutcome pruning = null;
        double pruneSeconds = 0;
        long peak = -1, baseline = -1;
        long denseBytes = ModelBench.modelBytes(dense.model());
        long denseParams = MemoryMeter.parameters(dense.model());
        if (plan.pruner() != null) {
            // Baseline just before pruning: after loading and the dense evaluation, whose buffers would otherwise be
            // charged to the method.
            MemoryMeter meter = MemoryMeter.afterLoad();
            meter.startPeak();
            long start = System.nanoTime();
            try (meter) {
                pruning = plan.pruner().withCalibrationLanguages(calibrationLanguages.isEmpty() ? null : calibrationLanguages)
                        .prune(dense.model(), calibration.stream().map(Window::tokens).toList(),
                        new PruneOptions(ui.stage((spec.prunes() ? "prune " + spec.method() : "quantize")
                                + (gptqInLoop(spec) ? " + gptq " + spec.quantize().type() : "")), releaseDense, sink, scratchDir));
                pruneSeconds = (System.nanoTime() - start) / 1e9;
                peak = meter.peakBytes();
                baseline = meter.baselineBytes();
            } finally {
                if (releaseDense && dense == loaded) forget();
            }
            // The pruned model shares the loaded one's tokenizer; when the loaded one is given up, it owns it.
            // With GPTQ, the quantised linears as QuantLinears over their GGUF blocks, and the LM head rounded to Q8_0.
            DecoderModel result = gptqInLoop(spec) ? withQuantizedHead(pruning.quantizedModel()) : pruning.model();
            after = releaseDense ? new LoadedModel(dense.name(), dense.path(), result, dense.tokenizer(),
                    dense.fileBytes(), dense.loadSeconds(), true) : dense.withModel(result);
            for (String w : pruning.warnings()) {
                warnings.add(PrunelabException.render(w, PrunelabException.PLAIN));
                ui.warn(w);
            }
        }
        double overhead = peak < 0 || baseline < 0 ? Double.NaN : (double) (peak - baseline) / denseBytes;

        FormatConversion quantization = null;
        if (spec.quantize() != null && !gptqInLoop(spec)) {
            // Round to nearest, block by block, on the pruned result (GPTQ ran inside the pruning pass). On fresh blocks, so a model the
            // pipeline or the notebook keeps is left as it was; the conversion never modifies the layers it reads.
            DecoderModel src = after.model();
            DecoderModel copy = src.withBlocks(src.config(), src.blocks().stream().map(b -> b.withLinears(b.index(), b.linears())).toList());
            Progress stage = ui.stage("quantize " + spec.quantize().type());
            quantization = FormatConversion.apply(copy, spec.quantize().type());
            stage.finish();
            after = after.withModel(copy);
        }

        List<EvalResult> evals = new ArrayList<>();
        FormatConversion evalFormat = null;
        LoadedModel evaluated = after;
        if (!spec.evaluation().isEmpty()) {
            Supplier<List<EvalResult>> evaluate = () -> {
                List<EvalResult> out = new ArrayList<>();
                for (int i = 0; i < spec.evaluation().size(); i++) {
                    EvalSpec e = spec.evaluation().get(i);
                    Corpus corpus = plan.evalCorpora().get(i);
                    PerplexityResult r = perplexity(evaluated.model(), windows.get(i),
                            ui.stage((spec.prunes() ? "eval pruned " : changes ? "eval quantized " : "eval ") + e.dataset()));
                    // The dense losses of the same windows pair with the run's for the ratio's interval (itself when nothing changed).
                    out.add(evalResult(e, corpus, r, changes ? denseEvals.get(i) : r));
                }
                return out;
            };
            if (streamed(evaluated.model())) {
                evals = evaluate.get(); // a streamed model runs as it is stored (checkStreamable)
            } else {
                FormatConversion[] conv = new FormatConversion[1];
                evals = withFormat(evaluated.model(), changes ? spec.format() : storedOrAuto(spec.format(), evaluated), conv, evaluate);
                evalFormat = conv[0];
            }
        }

        List<McResult> tasks = new ArrayList<>();
        if (!spec.tasks().isEmpty()) {
            LoadedModel scored = evaluated;
            Supplier<List<McResult>> score = () -> spec.tasks().stream().map(t -> {
                Tasks.Task items = task(t);
                return MultipleChoice.evaluate(scored.model(), scored.tokenizer(), t.task(), items.items(), items.note(),
                        ui.stage((spec.prunes() ? "accuracy pruned " : "accuracy ") + t.label()));
            }).toList();
            tasks = streamed(evaluated.model()) ? score.get()
                    : withFormat(evaluated.model(), changes ? spec.format() : storedOrAuto(spec.format(), evaluated),
                    new FormatConversion[1], score);
        }

        BenchDetail speed = null;
        double speedupPrefill = Double.NaN, speedupDecode = Double.NaN;
        if (spec.bench() != null) {
            if (changes) {
                // Time the pruned and the dense model alternately, so a slow spell of the machine falls on both, and
                // report the median of the per-pair ratios; a dense model given up while pruning is loaded again.
                LoadedModel denseAgain = dense.model().blocks().stream().anyMatch(org.prunelab.model.DecoderBlock::isReleased)
                        ? model(spec.model()) : dense;
                speed = benchPair(after.model(), denseAgain.model(), spec.bench(), ui);
            } else if (!spec.prunes() && spec.bench().baseline() != null) {
                speed = benchVs(after, spec.bench(), ui);
            } else {
                BenchSpec b = spec.bench();
                speed = bench(after.model(), new BenchSpec(b.promptLen(), b.gen(), b.repeat(), b.warmup(),
                        storedOrAuto(b.format(), after), b.baseline(), b.baselineFormat()), ui.stage("bench model"));
            }
            if (speed.comparison() != null) {
                speedupPrefill = speed.comparison().prefillSpeedup().median();
                speedupDecode = speed.comparison().decodeSpeedup().median();
            }
        }

        DecoderModel m = after.model();
        long modelBytes = ModelBench.modelBytes(m);
        long total = MemoryMeter.parameters(m);
        long zeros = 0;
        for (DecoderBlock b : m.blocks()) {
            DecoderBlock.LinearTotals t = b.linearTotals(); // a streamed block written from memory knows them unread
            zeros += t.parameters() - t.nonZero();
        }
        // Without pruning, the share of block-linear parameters that are zero already (dequantised weights have a few).
        double actual = pruning != null ? pruning.actualSparsity()
                : 1 - (double) PruneOutcome.nonzeroParameters(m) / Math.max(1, PruneOutcome.linearParameters(m));
        RunResult result = new RunResult(spec, plan.requested(), actual, total,
                total - zeros, modelBytes, pruneSeconds, peak, overhead,
                speed == null ? Double.NaN : speed.result().prefillTokensPerSecond(), speedupPrefill,
                speed == null ? Double.NaN : speed.result().decodeTokensPerSecond(), speedupDecode,
                speed == null ? (evalFormat != null ? formatName(evalFormat.counts()) : "dense") : formatName(speed.conversion().counts()),
                evals, warnings, tasks);
        PruneReport report = PruneReport.of(result, plan, pruning, calibration, baseline, denseBytes, denseParams, quantization);
        return new Outcome(result, after, pruning, calibration, windows, speed, evalFormat, report,
                files(spec, report, calibration, windows, tasks));
    }

    // ------------------------------------------------------------------------------------------------- steps

    /**
     * The model argument as a run records it: a registered name as given, an existing file or folder as an absolute
     * path (so {@code bench --vs dense} finds the dense model of a report from any working directory).
     */
    public static String modelArgument(String model) {
        try {
            Path p = Path.of(model);
            return Files.exists(p) ? p.toAbsolutePath().normalize().toString() : model;
        } catch (java.nio.file.InvalidPathException e) {
            return model;
        }
    }

    /**
     * The loaded model for {@code model}, loading it (and dropping the previous one) if it is not the current one. A
     * model given up by a pruning run is loaded again; what was measured on it (dense perplexities, windows) is kept.
     */
    public LoadedModel model(String model) {
        if (loaded != null && loaded.name().equals(model)) return loaded;
        if (!model.equals(loadedName)) {
            close();
            loadedState = new ModelState();
            loadedName = model;
        }
        loaded = ModelLoader.load(model, home);
        return loaded;
    }

    /** Forgets the current model's weights (a pruning run released its blocks); its measurements stay. */
    private void forget() {
        loaded = null;
    }

    /** A multiple-choice task's items ({@link Tasks#load}), loaded once per pipeline. */
    public Tasks.Task task(TaskSpec t) {
        return tasks.computeIfAbsent(t, k -> Tasks.load(k.task(), home, k.items()));
    }

    /** The corpus for a dataset name, loaded once per pipeline. */
    public Corpus corpus(String name) {
        return corpora.computeIfAbsent(name, n -> Datasets.resolve(n, home));
    }

    /**
     * Evaluates {@code model} on one evaluation set (the notebook's step; {@link #execute} does the same per set).
     *
     * @param densePerplexity the unpruned model's perplexity on the same windows, or NaN when unknown
     */
    public EvalResult evaluate(LoadedModel model, EvalSpec e, double densePerplexity, Ui ui) {
        Plan plan = plan(RunSpec.dense(model.name(), List.of(e), "dense", null));
        List<Window> w = Evaluation.windows(model, plan.evalCorpora().getFirst(), e.seqlen(), e.windows(), e.whole());
        PerplexityResult r = perplexity(model.model(), w, ui.stage("eval " + e.dataset()));
        if (Double.isNaN(densePerplexity)) return evalResult(e, plan.evalCorpora().getFirst(), r, r);
        // Only the dense perplexity is known, not its per-window losses: the ratio has no interval.
        EvalResult x = evalResult(e, plan.evalCorpora().getFirst(), r, r);
        return new EvalResult(x.dataset(), x.language(), x.seqlen(), x.windows(), x.split(), x.part(), x.tokens(), x.perplexity(),
                densePerplexity, x.meanNll(), x.seconds(), x.perplexityInterval(), null);
    }

    private static PerplexityResult perplexity(DecoderModel model, List<Window> windows, Progress progress) {
        List<int[]> tokens = windows.stream().map(Window::tokens).toList();
        // A streamed model is evaluated layer by layer: window by window it would read every block once per window.
        return streamed(model) ? org.prunelab.eval.LayerwisePerplexity.evaluate(model, tokens, progress)
                : Perplexity.evaluate(model::tokenNll, tokens, progress);
    }

    /** Whether any block of {@code model} is read from a file when needed. */
    static boolean streamed(DecoderModel model) {
        return model.blocks().stream().anyMatch(DecoderBlock::isStreamed);
    }

    /**
     * The result of {@code r} beside {@code dense} (the same windows, before this run changed the model; {@code r} itself
     * for a run that changes nothing), with the bootstrap intervals of the perplexity and of the paired ratio.
     */
    private static EvalResult evalResult(EvalSpec e, Corpus corpus, PerplexityResult r, PerplexityResult dense) {
        Bootstrap.Interval ppl = r.windowLoss() == null ? null : Bootstrap.perplexity(r.windowLoss());
        Bootstrap.Interval ratio = r.windowLoss() == null || dense.windowLoss() == null ? null
                : Bootstrap.perplexityRatio(r.windowLoss(), dense.windowLoss());
        return new EvalResult(e.dataset(), corpus.language(), e.seqlen(), r.windows(), e.split(), corpus.describePart(e.whole()),
                r.tokens(), r.perplexity(), dense.perplexity(), r.meanLoss(), r.seconds(), ppl, ratio);
    }

    /**
     * {@code format}, except that {@code auto} on a model as loaded from a GGUF file whose block linears are all Q8_0 or
     * all Q4_0 is that type ({@link ModelLoader#storedLinearFormat}): the file's own blocks run, not its fp32 decoding.
     */
    static String storedOrAuto(String format, LoadedModel model) {
        if (!format.strip().equalsIgnoreCase("auto") || model.path() == null) return format;
        return ModelLoader.storedLinearFormat(model.path()).orElse(format);
    }

    /** Times {@code model} with its block linears in {@code spec.format()}, then puts the original linears back. */
    public static BenchDetail bench(DecoderModel model, BenchSpec spec, Progress progress) {
        FormatConversion[] conv = new FormatConversion[1];
        ModelBench.BenchResult r = withFormat(model, spec.format(), conv, () -> ModelBench.run(model,
                new ModelBench.Options(spec.promptLen(), spec.gen(), spec.repeat(), spec.warmup(), 0), progress));
        return new BenchDetail(r, conv[0], null, null, null, 0);
    }

    /** Alternating runs of {@code model} and its dense counterpart {@code spec.baseline()} (loaded beside it). */
    private BenchDetail benchVs(LoadedModel model, BenchSpec spec, Ui ui) {
        try (LoadedModel dense = ModelLoader.load(spec.baseline(), home)) {
            FormatConversion conversion = FormatConversion.apply(model.model(), storedOrAuto(spec.format(), model));
            FormatConversion denseConversion = FormatConversion.apply(dense.model(), spec.baselineFormat());
            ModelBench.Comparison c = ModelBench.compare(model.model(), dense.model(),
                    new ModelBench.Options(spec.promptLen(), spec.gen(), spec.repeat(), spec.warmup(), 0));
            ui.stage("bench").finish();
            return new BenchDetail(c.candidate(), conversion, c, spec.baseline(), denseConversion, dense.fileBytes());
        }
    }

    /**
     * Alternating runs of a pruned model (in {@code spec.format()}) and the dense model it was pruned from (dense),
     * both in memory: the speedups are the median of per-pair ratios. The dense model's linears are left as they were.
     */
    private static BenchDetail benchPair(DecoderModel pruned, DecoderModel dense, BenchSpec spec, Ui ui) {
        FormatConversion[] conv = new FormatConversion[1];
        ModelBench.Comparison c = withFormat(pruned, spec.format(), conv, () -> ModelBench.compare(pruned, dense,
                new ModelBench.Options(spec.promptLen(), spec.gen(), spec.repeat(), spec.warmup(), 0)));
        ui.stage("bench pruned vs dense").finish();
        return new BenchDetail(c.candidate(), conv[0], c, "dense", null, 0);
    }

    /**
     * Runs {@code body} with {@code model}'s block linears converted to {@code format}, then restores the original
     * linears (the model may be the pipeline's cached dense model).
     */
    private static <T> T withFormat(DecoderModel model, String format, FormatConversion[] conversion, Supplier<T> body) {
        List<Map<String, Linear>> original = new ArrayList<>();
        for (DecoderBlock b : model.blocks()) original.add(Map.copyOf(b.linears()));
        Linear head = model.lmHead();
        try {
            conversion[0] = FormatConversion.apply(model, format);
            return body.get();
        } finally {
            model.setLmHead(head);
            for (int i = 0; i < original.size(); i++) {
                DecoderBlock b = model.blocks().get(i);
                original.get(i).forEach(b::setLinear);
            }
        }
    }

    /** "dense", "csr", "2:4", or a mix such as "csr 120 + dense 90". */
    static String formatName(Map<String, Integer> counts) {
        if (counts.size() == 1) return counts.keySet().iterator().next();
        StringBuilder s = new StringBuilder();
        counts.forEach((k, v) -> s.append(s.isEmpty() ? "" : " + ").append(k).append(' ').append(v));
        return s.toString();
    }

    /**
     * A warning for every evaluation set whose text (all its windows, not only the evaluated ones) the calibration
     * windows largely contain (token 16-grams, {@link Overlap}): perplexity measured on text the pruner calibrated on is
     * optimistic.
     */
    /**
     * Warnings about the calibration set itself: a UDHR translation's calibration part is small (its articles 1, 4, ...,
     * 28: ~1-1.5k tokens, so windows overlap or repeat and statistics are noisy), and a language-aware method (M-Wanda)
     * calibrated on a single language reduces to its monolingual base (Wanda).
     */
    private static List<String> calibrationWarnings(Plan plan, List<Window> calibration, List<String> languages, Ui ui) {
        List<String> warnings = new ArrayList<>();
        if (calibration.isEmpty()) return warnings;
        List<String> small = plan.calibCorpora().stream().filter(org.prunelab.data.UdhrCorpus::isUdhr).map(Corpus::name).toList();
        if (!small.isEmpty()) {
            String w = "the calibration set is small: " + String.join(", ", small) + " calibrate" + (small.size() == 1 ? "s" : "")
                    + " on UDHR articles 1, 4, ..., 28 only (about 1-1.5k tokens per language); statistics from so little"
                    + " text are noisy: calibrate on a larger text in the same language (a .txt file) for final numbers";
            warnings.add(w);
            ui.warn(w);
        }
        List<String> distinct = languages.stream().distinct().toList();
        if (plan.pruner() != null && plan.pruner().languageAware() && distinct.size() < 2) {
            String w = plan.spec().method() + " was calibrated on one language (" + (distinct.isEmpty() ? "?" : distinct.getFirst())
                    + "): its cross-lingual terms vanish and it prunes exactly as wanda; give ${calib.dataset} several"
                    + " languages, e.g. udhr:eng,udhr:swh,udhr:yor";
            warnings.add(PrunelabException.render(w, PrunelabException.PLAIN));
            ui.warn(w);
        }
        return warnings;
    }

    private static List<String> overlapWarnings(RunSpec spec, List<Window> calibration, List<List<Window>> windows, Ui ui) {
        List<String> warnings = new ArrayList<>();
        if (calibration.isEmpty()) return warnings;
        List<int[]> calib = calibration.stream().map(Window::tokens).toList();
        for (int i = 0; i < windows.size(); i++) {
            double share = Overlap.share(calib, windows.get(i).stream().map(Window::tokens).toList());
            if (share > Overlap.WARN_ABOVE) {
                String w = String.format(Locale.ROOT, "%.1f%% of the calibration text (%s) also occurs in the evaluation text of %s:"
                                + " its perplexity is measured on text the pruner calibrated on; calibrate on other text",
                        100 * share, spec.calibration().dataset(), spec.evaluation().get(i).dataset());
                warnings.add(w);
                ui.warn(w);
            }
        }
        return warnings;
    }

    private static Map<String, String> files(RunSpec spec, PruneReport report, List<Window> calibration,
                                             List<List<Window>> windows, List<McResult> tasks) {
        Map<String, String> files = new LinkedHashMap<>();
        files.put(PruneReport.FILE, report.toJson());
        files.put("run_spec.yaml", spec.toYaml());
        if (!calibration.isEmpty()) files.put("calibration_ids.json", idsJson(calibration));
        if (!windows.isEmpty()) files.put("eval_ids.json", idsJson(windows.getFirst()));
        if (!tasks.isEmpty()) files.put("task_items.json", taskItemsJson(tasks));
        return files;
    }

    /**
     * Every task's items with their scores (id, gold, pred, pred_norm, per-choice log-likelihoods): what a paired
     * accuracy difference between this run and another on the same items needs.
     */
    private static String taskItemsJson(List<McResult> tasks) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (McResult t : tasks) {
            out.add(Map.of("task", t.task(), "items", t.items().stream().map(i -> Map.of("id", i.id(), "gold", i.gold(),
                    "pred", i.pred(), "pred_norm", i.predNorm(), "loglik", i.logLikelihoods())).toList()));
        }
        try {
            return JSON.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("maps of strings and numbers always serialise", e);
        }
    }

    /** Token ids of windows as a JSON list of lists: what tools/reference/compare_unstructured.py replays. */
    private static String idsJson(List<Window> windows) {
        try {
            return JSON.writer().without(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(windows.stream().map(Window::tokens).toList());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("int arrays always serialise", e);
        }
    }

    @Override
    public String describe() {
        return "threads " + Parallel.threads();
    }

    /** Closes the current model. */
    @Override
    public void close() {
        if (loaded != null) loaded.close();
        loaded = null;
        loadedName = null;
        loadedState = new ModelState();
    }
}
