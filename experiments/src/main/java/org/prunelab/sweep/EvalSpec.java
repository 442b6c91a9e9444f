package org.prunelab.sweep;

/**
 * One evaluation of a run: perplexity on the first {@code windows} (0 = all) non-overlapping windows of
 * {@code seqlen} tokens of the evaluation split of {@code dataset} ({@code brown}, {@code udhr:swh}, ...).
 */
public record EvalSpec(String dataset, int seqlen, int windows) {}
