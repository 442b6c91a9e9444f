package org.prunelab.run;

import org.prunelab.eval.Bootstrap;

/**
 * Perplexity of one run on one evaluation set, beside the model's before this run pruned it (the dense
 * perplexity) on the same windows, each with its 95% bootstrap interval over the evaluation windows
 * ({@link Bootstrap}: percentile, 1000 resamples, fixed seed, so the same run gives the same interval).
 *
 * @param dataset            evaluation dataset name (MLflow param {@code eval_dataset})
 * @param language           ISO 639 code of its text (param {@code language})
 * @param seqlen             tokens per window ({@code eval_seqlen})
 * @param windows            windows evaluated ({@code eval_windows}); the units the intervals resample
 * @param split              {@code evaluation} (the evaluation split) or {@code all} (the whole text)
 * @param part               which part of the dataset was read, in words (split rule and document counts)
 * @param tokens             tokens evaluated, windows x seqlen
 * @param perplexity         the run's perplexity
 * @param perplexityDense    the perplexity of the model before this run's pruning, on the same windows (equal to
 *                           {@code perplexity} for a run that prunes nothing)
 * @param meanNll            mean next-token cross-entropy in nats, ln(perplexity)
 * @param seconds            wall time of the evaluation
 * @param perplexityInterval {@code perplexity}'s interval over the windows (metrics {@code perplexity_lo},
 *                           {@code perplexity_hi}); undefined (NaN ends) with fewer than 2 windows or when unknown
 * @param ratioInterval      the paired interval of {@link #pplRatio()}: each resample draws the same windows for the
 *                           run's and the dense model's losses (metrics {@code ppl_ratio_lo}, {@code ppl_ratio_hi});
 *                           exactly [1, 1] for a run that changes nothing; undefined when the dense model's per-window
 *                           losses are unknown
 */
public record EvalResult(String dataset, String language, int seqlen, int windows, String split, String part,
                         long tokens, double perplexity, double perplexityDense, double meanNll, double seconds,
                         Bootstrap.Interval perplexityInterval, Bootstrap.Interval ratioInterval) {
    /** A null interval (a result stored before intervals existed, a caller without per-window losses) is undefined. */
    public EvalResult {
        if (perplexityInterval == null) perplexityInterval = undefined(perplexity, windows);
        if (ratioInterval == null) ratioInterval = undefined(perplexity / perplexityDense, windows);
    }

    /** A result without intervals (both undefined). */
    public EvalResult(String dataset, String language, int seqlen, int windows, String split, String part,
                      long tokens, double perplexity, double perplexityDense, double meanNll, double seconds) {
        this(dataset, language, seqlen, windows, split, part, tokens, perplexity, perplexityDense, meanNll, seconds, null, null);
    }

    /** perplexity / perplexity_dense (1 = no loss). */
    public double pplRatio() {
        return perplexity / perplexityDense;
    }

    /** Tokens per second of the evaluation. */
    public double tokensPerSecond() {
        return seconds > 0 ? tokens / seconds : Double.NaN;
    }

    /** An interval with no ends (NaN): the estimate alone. */
    public static Bootstrap.Interval undefined(double estimate, int units) {
        return new Bootstrap.Interval(estimate, Double.NaN, Double.NaN, Bootstrap.DEFAULT_LEVEL, units, 0, Bootstrap.DEFAULT_SEED);
    }
}
