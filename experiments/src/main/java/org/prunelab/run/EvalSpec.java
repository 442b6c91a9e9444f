package org.prunelab.run;

/**
 * One evaluation of a run: perplexity on the first {@code windows} (0 = all) non-overlapping windows of
 * {@code seqlen} tokens of {@code dataset} ({@code brown}, {@code udhr:swh}, a text file, ...): of its evaluation
 * split, or with {@code whole} of its whole text (calibration and evaluation parts together, for a file used only
 * to evaluate).
 */
public record EvalSpec(String dataset, int seqlen, int windows, boolean whole) {

    /** The evaluation split. */
    public EvalSpec(String dataset, int seqlen, int windows) {
        this(dataset, seqlen, windows, false);
    }

    /** {@code evaluation} or {@code all}: the MLflow {@code eval_split} value. */
    public String split() {
        return whole ? "all" : "evaluation";
    }
}
