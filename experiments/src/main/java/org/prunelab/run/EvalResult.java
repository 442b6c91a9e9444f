package org.prunelab.run;

/**
 * Perplexity of one run on one evaluation set, beside the model's before this run pruned it (the dense
 * perplexity) on the same windows.
 *
 * @param dataset         evaluation dataset name (MLflow param {@code eval_dataset})
 * @param language        ISO 639 code of its text (param {@code language})
 * @param seqlen          tokens per window ({@code eval_seqlen})
 * @param windows         windows evaluated ({@code eval_windows})
 * @param split           {@code evaluation} (the evaluation split) or {@code all} (the whole text)
 * @param part            which part of the dataset was read, in words (split rule and document counts)
 * @param tokens          tokens evaluated, windows x seqlen
 * @param perplexity      the run's perplexity
 * @param perplexityDense the perplexity of the model before this run's pruning, on the same windows (equal to
 *                        {@code perplexity} for a run that prunes nothing)
 * @param meanNll         mean next-token cross-entropy in nats, ln(perplexity)
 * @param seconds         wall time of the evaluation
 */
public record EvalResult(String dataset, String language, int seqlen, int windows, String split, String part,
                         long tokens, double perplexity, double perplexityDense, double meanNll, double seconds) {
    /** perplexity / perplexity_dense (1 = no loss). */
    public double pplRatio() {
        return perplexity / perplexityDense;
    }

    /** Tokens per second of the evaluation. */
    public double tokensPerSecond() {
        return seconds > 0 ? tokens / seconds : Double.NaN;
    }
}
