package org.prunelab.sweep;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.Progress;
import org.prunelab.bench.MemoryMeter;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Window;
import org.prunelab.eval.Evaluation;
import org.prunelab.eval.Perplexity;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.Linear;
import org.prunelab.model.LlamaModel;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.ModelLoader;
import org.prunelab.prune.CalibrationData;
import org.prunelab.prune.LayerwisePruner;
import org.prunelab.prune.LayerwiseResult;
import org.prunelab.prune.PruneReport;
import org.prunelab.prune.PruningMethods;
import org.prunelab.prune.SparsityPattern;
import org.prunelab.prune.structured.StructuredResult;
import org.prunelab.tensor.Parallel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs sweep points on a real model: loads each model once and restores its dense weights between points
 * ({@link ModelSnapshot}); measures the dense baseline (perplexity per evaluation set, speed) once per
 * model, on the unpruned weights; then per point samples calibration windows
 * ({@link CalibrationData#sample}), prunes with {@link LayerwisePruner} while {@link MemoryMeter} tracks
 * peak memory, evaluates every evaluation set on the same windows as the baseline, and times the pruned
 * model with the {@link SpeedProbe}. Corpora and tokenised windows are cached for the whole sweep.
 */
public final class ModelRunExecutor implements RunExecutor {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final PrunelabHome home;
    private final SpeedProbe speedProbe;
    private final Map<String, Corpus> corpora = new HashMap<>();
    // Per loaded model (cleared when the model changes):
    private LoadedModel loaded;
    private ModelSnapshot snapshot;
    private boolean pruned;
    private final Map<EvalSpec, List<int[]>> evalWindows = new HashMap<>();
    private final Map<EvalSpec, Double> densePerplexity = new HashMap<>();
    private SpeedProbe.Speed denseSpeed;

    public ModelRunExecutor(PrunelabHome home, SpeedProbe speedProbe) {
        this.home = home;
        this.speedProbe = speedProbe;
    }

    @Override
    public PointResult run(RunSpec spec, Path workDir, Progress progress) {
        useModel(spec.model());
        if (pruned) {
            snapshot.restore();
            pruned = false;
        }
        int stages = 2 + spec.evaluation().size();
        for (EvalSpec e : spec.evaluation()) {
            densePerplexity.computeIfAbsent(e, k -> perplexity(loaded.model(), k, stage(progress, 0, stages, "dense " + k.dataset())));
        }
        if (denseSpeed == null) {
            progress.update(0, stages, "dense speed");
            denseSpeed = speedProbe.measure(loaded.model());
        }

        List<Window> calibration = List.of();
        if (spec.calibration() != null) {
            CalibrationSpec c = spec.calibration();
            loaded.checkSeqlen(c.seqlen());
            calibration = CalibrationData.sample(corpus(c.dataset()), loaded.tokenizer()::encode, c.nsamples(), c.seqlen(), spec.seed());
        }
        MemoryMeter meter = MemoryMeter.afterLoad();
        meter.startPeak();
        long start = System.nanoTime();
        if (SweepMethods.isStructured(spec.method())) {
            return runStructured(spec, calibration, meter, start, stages, workDir, progress);
        }
        pruned = true;
        LayerwiseResult result = prune(spec, calibration, stage(progress, 0, stages, "prune " + spec.method()));
        double seconds = (System.nanoTime() - start) / 1e9;
        long peak = meter.peakBytes();
        meter.close();
        long modelBytes = MemoryMeter.fp32ModelBytes(loaded.model());
        double overhead = result == null ? 0 : meter.overheadRatio(modelBytes);

        List<EvalResult> evals = new ArrayList<>();
        int i = 1;
        for (EvalSpec e : spec.evaluation()) {
            double ppl = result == null ? densePerplexity.get(e)
                    : perplexity(loaded.model(), e, stage(progress, i, stages, "eval " + e.dataset()));
            evals.add(new EvalResult(e.dataset(), corpus(e.dataset()).language(), e.seqlen(), evalWindows.get(e).size(),
                    ppl, densePerplexity.get(e)));
            i++;
        }
        progress.update(stages - 1, stages, "speed");
        SpeedProbe.Speed speed = result == null ? denseSpeed : speedProbe.measure(loaded.model());
        progress.update(stages, stages, "done");

        long total = modelBytes / 4;
        long zeros = 0;
        for (DecoderBlock b : loaded.model().blocks()) {
            for (Linear l : b.linears().values()) zeros += l.totalParameters() - l.nonZeroParameters();
        }
        double actual = result == null ? 0 : result.actualSparsity();
        writeReport(workDir.resolve("prune_report.json"), spec, result, calibration, seconds, meter.baselineBytes(), peak, modelBytes);
        return new PointResult(spec, actual, total, total - zeros, modelBytes, seconds, result == null ? -1 : peak, overhead,
                speed.prefillTokensPerS(), speed.prefillTokensPerS() / denseSpeed.prefillTokensPerS(),
                speed.decodeTokensPerS(), speed.decodeTokensPerS() / denseSpeed.decodeTokensPerS(), speed.format(), evals);
    }

    /**
     * Prunes the loaded model in place; null for dense. Structured methods (fasp, flap, shortgpt, lowrank)
     * get their branch here once {@link SweepMethods#STRUCTURED} lists them.
     */
    private LayerwiseResult prune(RunSpec spec, List<Window> calibration, Progress progress) {
        if (spec.method().equals(SweepMethods.DENSE)) return null;
        SparsityPattern pattern = spec.pattern().contains(":") ? SparsityPattern.parse(spec.pattern())
                : SparsityPattern.unstructured(spec.sparsity());
        LayerwisePruner pruner = new LayerwisePruner(PruningMethods.byName(spec.method()), pattern);
        return pruner.prune(loaded.model(), calibration.stream().map(Window::tokens).toList(), progress);
    }

    private double perplexity(LlamaModel model, EvalSpec e, Progress progress) {
        List<int[]> windows = evalWindows.computeIfAbsent(e, k ->
                Evaluation.windows(loaded, corpus(k.dataset()), k.seqlen(), k.windows()).stream().map(Window::tokens).toList());
        return Perplexity.evaluate(model::tokenNll, windows, progress).perplexity();
    }

    /**
     * A structured point: the pruner builds a new, smaller model and leaves the loaded dense model untouched,
     * so nothing needs restoring afterwards. Memory overhead therefore includes the smaller copy.
     */
    private PointResult runStructured(RunSpec spec, List<Window> calibration, MemoryMeter meter, long start, int stages,
                                      Path workDir, Progress progress) {
        StructuredResult result = StructuredMethods.prune(spec.method(), spec.sparsity(), loaded.model(),
                calibration.stream().map(Window::tokens).toList(), stage(progress, 0, stages, "prune " + spec.method()));
        double seconds = (System.nanoTime() - start) / 1e9;
        long peak = meter.peakBytes();
        meter.close();
        long denseBytes = MemoryMeter.fp32ModelBytes(loaded.model());
        LlamaModel small = result.model();
        List<EvalResult> evals = new ArrayList<>();
        int i = 1;
        for (EvalSpec e : spec.evaluation()) {
            double ppl = perplexity(small, e, stage(progress, i++, stages, "eval " + e.dataset()));
            evals.add(new EvalResult(e.dataset(), corpus(e.dataset()).language(), e.seqlen(), evalWindows.get(e).size(),
                    ppl, densePerplexity.get(e)));
        }
        progress.update(stages - 1, stages, "speed");
        SpeedProbe.Speed speed = speedProbe.measure(small);
        progress.update(stages, stages, "done");
        long modelBytes = MemoryMeter.fp32ModelBytes(small);
        try {
            ObjectNode o = JSON.createObjectNode().put("model", spec.model()).put("method", result.method())
                    .put("pattern", "structured").put("sparsity", spec.sparsity()).put("allocation", result.allocation())
                    .put("actual_sparsity", result.actualRatio()).put("params_blocks_dense", result.paramsBefore())
                    .put("params_blocks", result.paramsAfter()).put("model_bytes", modelBytes)
                    .put("model_bytes_dense", denseBytes).put("prune_seconds", seconds).put("peak_rss_bytes", peak)
                    .put("rss_after_load_bytes", meter.baselineBytes()).put("memory_overhead_ratio", meter.overheadRatio(denseBytes));
            result.removedLayers().forEach(o.putArray("removed_layers")::add);
            Files.writeString(workDir.resolve("prune_report.json"), JSON.writeValueAsString(o) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the prune report in " + workDir, e);
        }
        long total = modelBytes / 4;
        return new PointResult(spec, result.actualRatio(), total, total, modelBytes, seconds, peak, meter.overheadRatio(denseBytes),
                speed.prefillTokensPerS(), speed.prefillTokensPerS() / denseSpeed.prefillTokensPerS(),
                speed.decodeTokensPerS(), speed.decodeTokensPerS() / denseSpeed.decodeTokensPerS(), speed.format(), evals);
    }

    private void useModel(String name) {
        if (loaded != null && loaded.name().equals(name)) return;
        close();
        loaded = ModelLoader.load(name, home);
        snapshot = new ModelSnapshot(loaded.model());
    }

    private Corpus corpus(String name) {
        return corpora.computeIfAbsent(name, n -> Datasets.resolve(n, home));
    }

    /** Forwards a stage's own progress as the point's stage {@code stage} of {@code stages}, with its label. */
    private static Progress stage(Progress point, int stage, int stages, String what) {
        return (done, total, label) -> point.update(stage, stages, what + ": " + label);
    }

    private void writeReport(Path file, RunSpec spec, LayerwiseResult result, List<Window> calibration, double seconds,
                             long baseline, long peak, long modelBytes) {
        try {
            String text;
            if (result == null) {
                ObjectNode o = JSON.createObjectNode().put("model", spec.model()).put("method", spec.method())
                        .put("sparsity", 0.0).put("pattern", spec.pattern()).put("model_bytes", modelBytes);
                text = JSON.writeValueAsString(o) + "\n";
            } else {
                CalibrationSpec c = spec.calibration();
                text = new PruneReport(spec.model(), result, c == null ? null : c.dataset(), c == null ? 0 : c.nsamples(),
                        c == null ? 0 : c.seqlen(), spec.seed(), calibration, seconds, baseline, peak, modelBytes).toJson();
            }
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    @Override
    public String describe() {
        return "threads " + Parallel.threads() + "; speed: " + speedProbe.describe();
    }

    @Override
    public void close() {
        if (loaded != null) loaded.close();
        loaded = null;
        snapshot = null;
        pruned = false;
        evalWindows.clear();
        densePerplexity.clear();
        denseSpeed = null;
    }
}
