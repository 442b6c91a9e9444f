package org.prunelab.track;

/**
 * The names prunelab uses in MLflow, the one list every writer follows: snake_case, in the field's own
 * terms, so runs from the CLI, sweeps and notebooks line up in one table in the MLflow UI.
 */
public final class MlflowNames {
    private MlflowNames() {}

    /** Run parameters: what was asked for. */
    public static final class Param {
        private Param() {}

        public static final String MODEL = "model";
        public static final String METHOD = "method";
        public static final String SPARSITY = "sparsity";
        /** {@code unstructured}, {@code 2:4}, {@code 4:8} or {@code structured}. */
        public static final String PATTERN = "pattern";
        public static final String CALIB_DATASET = "calib_dataset";
        public static final String NSAMPLES = "nsamples";
        public static final String SEQLEN = "seqlen";
        public static final String SEED = "seed";
        public static final String EVAL_DATASET = "eval_dataset";
        public static final String LANGUAGE = "language";
    }

    /** Run metrics: what was measured (units in the name's comment). */
    public static final class Metric {
        private Metric() {}

        public static final String PERPLEXITY = "perplexity";
        public static final String PERPLEXITY_DENSE = "perplexity_dense";
        /** perplexity / perplexity_dense. */
        public static final String PPL_RATIO = "ppl_ratio";
        /** Fraction of zero weights in the pruned linears, in [0, 1]. */
        public static final String ACTUAL_SPARSITY = "actual_sparsity";
        public static final String PARAMS_TOTAL = "params_total";
        public static final String PARAMS_NONZERO = "params_nonzero";
        /** Bytes. */
        public static final String MODEL_BYTES = "model_bytes";
        /** Seconds of wall time. */
        public static final String PRUNE_SECONDS = "prune_seconds";
        /** Bytes. */
        public static final String PEAK_RSS_BYTES = "peak_rss_bytes";
        public static final String MEMORY_OVERHEAD_RATIO = "memory_overhead_ratio";
        public static final String PREFILL_TOKENS_PER_S = "prefill_tokens_per_s";
        public static final String DECODE_TOKENS_PER_S = "decode_tokens_per_s";
        public static final String SPEEDUP_PREFILL = "speedup_prefill";
        public static final String SPEEDUP_DECODE = "speedup_decode";
    }

    /** MLflow's own tag that makes a run nested under another in the UI. */
    public static final String PARENT_RUN_ID_TAG = "mlflow.parentRunId";
    /** MLflow's own tag for the run's display name. */
    public static final String RUN_NAME_TAG = "mlflow.runName";
    /** MLflow's own tag for the source commit. */
    public static final String GIT_COMMIT_TAG = "mlflow.source.git.commit";
    /** The client-made idempotency key of a run; replay from the outbox finds runs by it. */
    public static final String RUN_KEY_TAG = "prunelab.run_key";
    public static final String VERSION_TAG = "prunelab.version";
    /** SHA-256 of a sweep point's canonical spec ({@code org.prunelab.sweep.RunSpec#key}); resumed sweeps skip finished keys. */
    public static final String SPEC_KEY_TAG = "prunelab.spec_key";
    /** On a sweep's parent run: the sweep's name; on its points: the same, to find them together. */
    public static final String SWEEP_TAG = "prunelab.sweep";
    /** "true" when the working tree had uncommitted changes. */
    public static final String GIT_DIRTY_TAG = "prunelab.git_dirty";
    public static final String CPU_MODEL_TAG = "host.cpu_model";
    public static final String CPU_COUNT_TAG = "host.cpus";
    public static final String OS_TAG = "host.os";
    public static final String JDK_VERSION_TAG = "jdk.version";
}
