package org.prunelab.eval.tasks;

import org.prunelab.eval.Bootstrap;

import java.util.List;

/**
 * Zero-shot accuracy of a model on one multiple-choice task, with every item's scores so that two models evaluated on
 * the same items (a pruned one and its dense original) can be compared item by item
 * ({@link Bootstrap#pairedDifference} of {@link #correct()} arrays).
 *
 * @param task    the task as named on the command line ({@code udhr-next:swh}, {@code hellaswag:file.jsonl})
 * @param items   one result per item, in task order
 * @param acc     share of items whose highest log-likelihood choice is the gold one, with its 95% bootstrap interval
 *                over items ({@link Bootstrap#accuracy})
 * @param accNorm the same with each log-likelihood divided by its choice text's length in characters (lm-eval's
 *                {@code acc_norm})
 * @param tokens  tokens run through the model (contexts once per distinct context, continuations without their last)
 * @param seconds wall time of the scoring
 * @param note    how the items were made or read, in words (the source, items dropped and why)
 */
public record McResult(String task, List<ItemResult> items, Bootstrap.Interval acc, Bootstrap.Interval accNorm,
                       long tokens, double seconds, String note) {
    public McResult {
        items = List.copyOf(items);
    }

    /**
     * One item's scores.
     *
     * @param id             the item's id
     * @param gold           the correct choice
     * @param logLikelihoods summed log-probability of each choice's continuation, nats
     * @param greedy         per choice, whether its continuation is the greedy one
     * @param pred           argmax of {@code logLikelihoods} (first on ties, as numpy)
     * @param predNorm       argmax of {@code logLikelihoods[i] / length(choice text i)}
     */
    public record ItemResult(String id, int gold, double[] logLikelihoods, boolean[] greedy, int pred, int predNorm) {
        public boolean correct() { return pred == gold; }

        public boolean correctNorm() { return predNorm == gold; }
    }

    /** 1/0 per item for {@code acc}: the input of {@link Bootstrap#pairedDifference}. */
    public double[] correct() {
        return items.stream().mapToDouble(i -> i.correct() ? 1 : 0).toArray();
    }

    /** 1/0 per item for {@code acc_norm}. */
    public double[] correctNorm() {
        return items.stream().mapToDouble(i -> i.correctNorm() ? 1 : 0).toArray();
    }

    /** Tokens per second of the scoring. */
    public double tokensPerSecond() {
        return seconds > 0 ? tokens / seconds : Double.NaN;
    }
}
