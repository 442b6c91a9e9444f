package org.prunelab.track;

import org.prunelab.PrunelabException;
import org.prunelab.prune.Methods;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.run.TaskSpec;
import org.prunelab.eval.tasks.McResult;
import org.prunelab.track.MlflowNames.Metric;
import org.prunelab.track.MlflowNames.Param;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How one run is recorded in MLflow, the same for every entry point (the CLI's {@code prune}, {@code eval} and
 * {@code bench}, sweep points, the notebook's {@code track}): a run named {@link RunSpec#name()} with the spec as
 * params, the measurements as metrics (the headline evaluation — the first set — on the run itself), one nested run
 * per evaluation set named {@code "<run> / <dataset>"} (so a dense and a pruned evaluation tell apart in the compare
 * view), and the run's files as artifacts ({@code prune_report.json}, {@code run_spec.yaml}, token ids).
 */
public final class RunTracking {
    private RunTracking() {}

    /**
     * Starts the run of {@code spec}: under {@code parent} when given (a sweep point), else top-level in
     * {@code experiment}; tags it with the spec key and logs the spec's params.
     *
     * @param entryPoint cli, sweep or notebook
     */
    public static TrackedRun start(Tracker tracker, String experiment, TrackedRun parent, RunSpec spec, String entryPoint,
                                   Map<String, String> tags) {
        return start(tracker, experiment, parent, spec, spec.name(), entryPoint, tags);
    }

    /** As above, with the run named {@code runName} (a sweep over several models puts the model in front). */
    public static TrackedRun start(Tracker tracker, String experiment, TrackedRun parent, RunSpec spec, String runName,
                                   String entryPoint, Map<String, String> tags) {
        TrackedRun run = parent != null ? parent.startChild(runName) : tracker.startRun(experiment, runName);
        Map<String, String> t = new LinkedHashMap<>(tags);
        t.put(MlflowNames.SPEC_KEY_TAG, spec.key());
        run.setTags(t);
        Map<Param, Object> p = params(spec);
        p.put(Param.ENTRY_POINT, entryPoint);
        run.logParams(p);
        Map<String, Object> own = new LinkedHashMap<>(spec.params());
        own.remove("sparsity");
        own.remove("pattern");
        if (!own.isEmpty()) run.logMethodParams(own);
        return run;
    }

    /**
     * Logs the result: metrics, one nested run per evaluation set, the files in {@code artifacts} (a folder, or null),
     * then ends the run FINISHED.
     */
    public static void finish(TrackedRun run, RunResult r, Path artifacts) {
        RunSpec spec = r.spec();
        if (Double.isNaN(spec.sparsity()) && Double.isFinite(r.requestedSparsity())) {
            run.logParam(Param.SPARSITY, r.requestedSparsity()); // the share ShortGPT's layers / low-rank's rank mean
        }
        run.logMetrics(metrics(r));
        if (!r.tasks().isEmpty()) run.logNamedMetrics(taskMetrics(r));
        EvalResult head = r.headline();
        if (head != null) {
            // The headline set's language and evaluated windows on the run itself (the spec's windows may say 0 = all).
            run.logParams(Map.of(Param.LANGUAGE, head.language(), Param.EVAL_WINDOWS, head.windows()));
        }
        if (spec.calibration() != null && spec.calibration().datasets().stream().anyMatch(d -> d.startsWith("udhr:"))) {
            // UDHR's calibration part is ~1-1.5k tokens per language: say so where runs are compared.
            run.setTag(MlflowNames.CALIB_SMALL_TAG, "true");
        }
        if (!r.warnings().isEmpty()) {
            String w = String.join("\n", r.warnings());
            run.setTag(MlflowNames.WARNINGS_TAG, w.length() > 4000 ? w.substring(0, 4000) : w);
        }
        if (r.evals().size() > 1) {
            for (EvalResult e : r.evals()) {
                try (TrackedRun eval = run.startChild(spec.name() + " / " + e.dataset())) {
                    Map<Param, Object> p = new LinkedHashMap<>();
                    p.put(Param.MODEL, spec.model());
                    p.put(Param.METHOD, spec.method());
                    p.put(Param.SPARSITY, Double.isNaN(spec.sparsity()) ? r.requestedSparsity() : spec.sparsity());
                    p.put(Param.PATTERN, spec.pattern());
                    evalParams(p, e);
                    eval.logParams(p);
                    eval.logMetrics(evalMetrics(e));
                }
            }
        }
        if (artifacts != null && Files.isDirectory(artifacts)) run.logArtifact(artifacts);
        run.end(RunStatus.FINISHED);
    }

    /** Marks the run FAILED with the error's message as a tag. */
    public static void fail(TrackedRun run, RuntimeException e) {
        String message = e instanceof PrunelabException p ? p.getMessage() : (e.getMessage() == null ? e.toString() : e.getMessage());
        run.setTag(MlflowNames.ERROR_TAG, message.length() > 4000 ? message.substring(0, 4000) : message);
        run.end(RunStatus.FAILED);
    }

    /** The spec's params by MLflow name. */
    public static Map<Param, Object> params(RunSpec spec) {
        Map<Param, Object> p = new LinkedHashMap<>();
        p.put(Param.MODEL, spec.model());
        p.put(Param.METHOD, spec.method());
        p.put(Param.KIND, spec.prunes() ? spec.methodEntry().kind().label() : Methods.DENSE);
        if (!Double.isNaN(spec.sparsity())) p.put(Param.SPARSITY, spec.sparsity());
        p.put(Param.PATTERN, spec.pattern());
        p.put(Param.SEED, spec.seed());
        if (spec.calibration() != null) {
            p.put(Param.CALIB_DATASET, spec.calibration().dataset());
            p.put(Param.NSAMPLES, spec.calibration().nsamples());
            p.put(Param.SEQLEN, spec.calibration().seqlen());
        }
        if (!spec.evaluation().isEmpty()) {
            p.put(Param.EVAL_DATASET, String.join(",", spec.evaluation().stream().map(EvalSpec::dataset).toList()));
            EvalSpec head = spec.evaluation().getFirst();
            p.put(Param.EVAL_SEQLEN, head.seqlen());
            p.put(Param.EVAL_SPLIT, head.split());
        }
        if (!spec.tasks().isEmpty()) p.put(Param.TASKS, String.join(",", spec.tasks().stream().map(TaskSpec::task).toList()));
        if (!spec.format().equals("dense")) p.put(Param.FORMAT, spec.format());
        if (spec.bench() != null) {
            p.put(Param.BENCH_PROMPT_LEN, spec.bench().promptLen());
            p.put(Param.BENCH_GEN, spec.bench().gen());
            p.put(Param.BENCH_REPEAT, spec.bench().repeat());
        }
        return p;
    }

    /** The result's metrics; the headline evaluation set's perplexities too, so the runs table can sort by them. */
    public static Map<Metric, Number> metrics(RunResult r) {
        Map<Metric, Number> m = new LinkedHashMap<>();
        m.put(Metric.ACTUAL_SPARSITY, r.actualSparsity());
        m.put(Metric.PARAMS_TOTAL, r.paramsTotal());
        m.put(Metric.PARAMS_NONZERO, r.paramsNonzero());
        m.put(Metric.MODEL_BYTES, r.modelBytes());
        if (r.spec().prunes()) m.put(Metric.PRUNE_SECONDS, r.pruneSeconds());
        if (r.peakRssBytes() >= 0) m.put(Metric.PEAK_RSS_BYTES, r.peakRssBytes());
        m.put(Metric.MEMORY_OVERHEAD_RATIO, r.memoryOverheadRatio());
        m.put(Metric.PREFILL_TOKENS_PER_S, r.prefillTokensPerS());
        m.put(Metric.SPEEDUP_PREFILL, r.speedupPrefill());
        m.put(Metric.DECODE_TOKENS_PER_S, r.decodeTokensPerS());
        m.put(Metric.SPEEDUP_DECODE, r.speedupDecode());
        EvalResult head = r.headline();
        if (head != null) m.putAll(evalMetrics(head));
        return m;
    }

    /**
     * The accuracy metrics of each task ({@link MlflowNames#taskMetric}): {@code acc/<task>}, {@code acc_lo/<task>},
     * {@code acc_hi/<task>}, the same for {@code acc_norm}, and {@code task_items/<task>}.
     */
    public static Map<String, Number> taskMetrics(RunResult r) {
        Map<String, Number> m = new LinkedHashMap<>();
        for (int i = 0; i < r.tasks().size(); i++) {
            McResult t = r.tasks().get(i);
            String label = i < r.spec().tasks().size() ? r.spec().tasks().get(i).label() : new TaskSpec(t.task(), 0).label();
            for (var e : Map.of("acc", t.acc(), "acc_norm", t.accNorm()).entrySet()) {
                m.put(MlflowNames.taskMetric(e.getKey(), label), e.getValue().estimate());
                m.put(MlflowNames.taskMetric(e.getKey() + "_lo", label), e.getValue().lo());
                m.put(MlflowNames.taskMetric(e.getKey() + "_hi", label), e.getValue().hi());
            }
            m.put(MlflowNames.taskMetric("task_items", label), t.items().size());
        }
        return m;
    }

    private static void evalParams(Map<Param, Object> p, EvalResult e) {
        p.put(Param.EVAL_DATASET, e.dataset());
        p.put(Param.LANGUAGE, e.language());
        p.put(Param.EVAL_SEQLEN, e.seqlen());
        p.put(Param.EVAL_WINDOWS, e.windows());
        p.put(Param.EVAL_SPLIT, e.split());
    }

    /** The metrics of one evaluation (the headline set's on the run itself, each set's on its nested run). */
    public static Map<Metric, Number> evalMetrics(EvalResult e) {
        Map<Metric, Number> m = new LinkedHashMap<>();
        m.put(Metric.PERPLEXITY, e.perplexity());
        m.put(Metric.PERPLEXITY_DENSE, e.perplexityDense());
        m.put(Metric.PPL_RATIO, e.pplRatio());
        if (e.perplexityInterval().defined()) {
            m.put(Metric.PERPLEXITY_LO, e.perplexityInterval().lo());
            m.put(Metric.PERPLEXITY_HI, e.perplexityInterval().hi());
        }
        if (e.ratioInterval().defined()) {
            m.put(Metric.PPL_RATIO_LO, e.ratioInterval().lo());
            m.put(Metric.PPL_RATIO_HI, e.ratioInterval().hi());
        }
        m.put(Metric.MEAN_NLL, e.meanNll());
        m.put(Metric.EVAL_TOKENS, e.tokens());
        return m;
    }
}
