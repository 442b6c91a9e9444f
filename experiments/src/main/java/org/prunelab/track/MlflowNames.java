package org.prunelab.track;

import java.util.Locale;

/**
 * The names prunelab uses in MLflow, the one list every writer follows: snake_case, in the field's own terms, so
 * runs from the CLI, sweeps and notebooks line up in one table in the MLflow UI. The logging calls of
 * {@link TrackedRun} take these enums (a method's own parameters, declared in the method registry, go through
 * {@link TrackedRun#logMethodParams}), so a name cannot drift.
 */
public final class MlflowNames {
    private MlflowNames() {}

    /** Run parameters: what was asked for. */
    public enum Param {
        MODEL,
        /** A registered method, or {@code dense} for a run without pruning. */
        METHOD,
        /** The requested sparsity, in the method's own terms (the method registry says what it is a share of). */
        SPARSITY,
        /** {@code dense}, {@code unstructured}, {@code 2:4}, {@code 4:8} (any N:M) or {@code structured}. */
        PATTERN,
        /** unstructured, structured, low-rank or dense. */
        KIND,
        CALIB_DATASET,
        /** Calibration windows. */
        NSAMPLES,
        /** Tokens per calibration window. */
        SEQLEN,
        /** Calibration sampling seed. */
        SEED,
        /** The evaluation set (on a run with several: all, comma-separated; each has its nested run). */
        EVAL_DATASET,
        /** Tokens per evaluation window. */
        EVAL_SEQLEN,
        /** Evaluation windows (0 = all, in a spec; the number evaluated, on an evaluation's run). */
        EVAL_WINDOWS,
        /** {@code evaluation} (the evaluation split) or {@code all} (the whole text). */
        EVAL_SPLIT,
        /** The multiple-choice tasks of a run, comma-separated ({@code udhr-next:swh,hellaswag:val.jsonl}). */
        TASKS,
        /** ISO 639 code of an evaluation set's text. */
        LANGUAGE,
        /** Execution format of the block linears (dense, csr, nm, auto). */
        FORMAT,
        /** Which entry point ran it: cli, sweep or notebook. */
        ENTRY_POINT,
        /** The CLI subcommand (prune, eval, bench). */
        COMMAND,
        BENCH_PROMPT_LEN,
        BENCH_GEN,
        BENCH_REPEAT,
        /** On a sweep's parent run. */
        SWEEP,
        PROFILE,
        POINTS,
        POINTS_TO_RUN,
        POINTS_SKIPPED;

        /** The MLflow key: the constant's name in lower case. */
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Run metrics: what was measured (units in the name's comment). */
    /**
     * Per-task accuracy metrics, whose names carry the task's label ({@link org.prunelab.run.TaskSpec#label()}):
     * {@code acc/<task>} and {@code acc_norm/<task>} (shares in [0, 1]) with {@code _lo}/{@code _hi} (their 95% bootstrap
     * interval over items, e.g. {@code acc_lo/udhr-next:swh}), and {@code task_items/<task>}.
     */
    public static String taskMetric(String metric, String taskLabel) {
        return metric + "/" + taskLabel;
    }

    public enum Metric {
        PERPLEXITY,
        /** Perplexity of the model before this run's pruning, on the same windows. */
        PERPLEXITY_DENSE,
        /** perplexity / perplexity_dense. */
        PPL_RATIO,
        /** Ends of perplexity's 95% bootstrap interval over the evaluation windows (logged when there are 2 or more). */
        PERPLEXITY_LO,
        PERPLEXITY_HI,
        /** Ends of ppl_ratio's paired 95% bootstrap interval (the same windows resampled for both models). */
        PPL_RATIO_LO,
        PPL_RATIO_HI,
        /** Mean next-token cross-entropy, nats. */
        MEAN_NLL,
        /** Tokens evaluated. */
        EVAL_TOKENS,
        /** Share of the blocks' linear parameters removed (zeroed or deleted), in [0, 1]; the same for every method. */
        ACTUAL_SPARSITY,
        PARAMS_TOTAL,
        PARAMS_NONZERO,
        /** Bytes. */
        MODEL_BYTES,
        /** Seconds of wall time. */
        PRUNE_SECONDS,
        /** Bytes. */
        PEAK_RSS_BYTES,
        /** (peak RSS while pruning - RSS before) / fp32 model bytes. */
        MEMORY_OVERHEAD_RATIO,
        /** Tokens per second. */
        PREFILL_TOKENS_PER_S,
        /** Tokens per second. */
        DECODE_TOKENS_PER_S,
        SPEEDUP_PREFILL,
        SPEEDUP_DECODE,
        /** Share of the calibration windows' token 16-grams found in an evaluation set's text. */
        CALIBRATION_OVERLAP,
        /** On a sweep's parent run. */
        POINTS_FAILED,
        POINTS_RUN;

        /** The MLflow key: the constant's name in lower case. */
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** MLflow's own tag that makes a run nested under another in the UI. */
    public static final String PARENT_RUN_ID_TAG = "mlflow.parentRunId";
    /** MLflow's own tag for the run's display name. */
    public static final String RUN_NAME_TAG = "mlflow.runName";
    /** MLflow's own tag for the source commit. */
    public static final String GIT_COMMIT_TAG = "mlflow.source.git.commit";
    /**
     * MLflow 3's experiment tag that picks the UI's experiment page: {@value #EXPERIMENT_KIND_MODEL_TRAINING} opens on the
     * runs table (model training) rather than the GenAI traces view.
     */
    public static final String EXPERIMENT_KIND_TAG = "mlflow.experimentKind";
    public static final String EXPERIMENT_KIND_MODEL_TRAINING = "custom_model_development";
    /** The client-made idempotency key of a run; replay from the outbox finds runs by it. */
    public static final String RUN_KEY_TAG = "prunelab.run_key";
    public static final String VERSION_TAG = "prunelab.version";
    /** SHA-256 of a run's canonical spec ({@code org.prunelab.run.RunSpec#key}); resumed sweeps skip finished keys. */
    public static final String SPEC_KEY_TAG = "prunelab.spec_key";
    /** On a sweep's parent run: the sweep's name; on its points: the same, to find them together. */
    public static final String SWEEP_TAG = "prunelab.sweep";
    /** A failed run's error message. */
    public static final String ERROR_TAG = "prunelab.error";
    /**
     * {@code true} on a run calibrated on a UDHR translation (alone or in a list): its calibration set is small (articles
     * 1, 4, ..., 28, about 1-1.5k tokens per language).
     */
    public static final String CALIB_SMALL_TAG = "prunelab.calib_small";

    /** The warnings of a run, one per line. */
    public static final String WARNINGS_TAG = "prunelab.warnings";
    /** "true" when the working tree had uncommitted changes. */
    public static final String GIT_DIRTY_TAG = "prunelab.git_dirty";
    public static final String CPU_MODEL_TAG = "host.cpu_model";
    public static final String CPU_COUNT_TAG = "host.cpus";
    public static final String OS_TAG = "host.os";
    public static final String JDK_VERSION_TAG = "jdk.version";
}
