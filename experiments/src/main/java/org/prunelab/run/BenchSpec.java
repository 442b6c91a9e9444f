package org.prunelab.run;

/**
 * How a run's speed is measured ({@link org.prunelab.bench.ModelBench}): a seeded prompt of {@code promptLen}
 * tokens prefilled into a KV cache, then {@code gen} tokens decoded at batch 1, {@code repeat} timed runs after
 * {@code warmup} untimed ones (medians), each block linear in execution format {@code format} ({@code auto},
 * {@code dense}, {@code csr}, {@code nm}). A measurement setting: not part of a run's key.
 *
 * <p>Speedups: a run that prunes (and keeps its dense model, as sweeps do) alternates runs of the pruned and the dense
 * model (A B, B A, ...); a run that prunes nothing and names a {@code baseline} (the dense model a pruned checkpoint came
 * from) loads it beside the model and alternates the same way. Both report the median of the per-pair ratios.
 *
 * @param baseline       model argument of the dense counterpart to alternate with, or null
 * @param baselineFormat the execution format the baseline runs in ({@code dense} unless given: e.g. {@code q8_0} to
 *                       compare packed 2:4 + int8 with dense Q8_0)
 */
public record BenchSpec(int promptLen, int gen, int repeat, int warmup, String format, String baseline, String baselineFormat) {

    public BenchSpec {
        if (baselineFormat == null) baselineFormat = "dense";
    }

    /** A spec whose baseline (if any) runs dense. */
    public BenchSpec(int promptLen, int gen, int repeat, int warmup, String format, String baseline) {
        this(promptLen, gen, repeat, warmup, format, baseline, "dense");
    }

    /** The sweep's default: 128 prompt tokens, 16 decoded, 3 runs after 1 warm-up, the format auto picks. */
    public static final BenchSpec SWEEP_DEFAULT = new BenchSpec(128, 16, 3, 1, "auto", null);

    /** One line saying what is measured, for result files. */
    public String describe() {
        return "prefill of " + promptLen + " tokens, then " + gen + " decode steps at batch 1, " + repeat
                + " timed runs after " + warmup + " warm-up, each linear in the format --format " + format + " picks"
                + ("auto".equals(format) ? " (packed N:M, CSR or dense)" : "")
                + "; a pruned point alternates its runs with the dense model's (median of the per-pair ratios)";
    }
}
