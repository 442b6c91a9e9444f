package org.prunelab.sweep;

/**
 * Perplexity of one run on one evaluation set, beside the dense model's on the same windows.
 *
 * @param dataset         evaluation dataset name (MLflow param {@code eval_dataset})
 * @param language        ISO 639 code of its text (param {@code language})
 * @param seqlen          tokens per window
 * @param windows         windows evaluated
 * @param perplexity      the run's perplexity
 * @param perplexityDense the unpruned model's perplexity on the same windows
 */
public record EvalResult(String dataset, String language, int seqlen, int windows, double perplexity,
                         double perplexityDense) {
    /** perplexity / perplexity_dense (1 = no loss). */
    public double pplRatio() {
        return perplexity / perplexityDense;
    }
}
