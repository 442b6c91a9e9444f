package org.prunelab.eval.tasks;

import org.prunelab.PrunelabException;

import java.util.List;

/**
 * One zero-shot multiple-choice item as lm-evaluation-harness scores it: each choice is a (context, continuation) pair
 * whose log-likelihood is {@code log P(continuation | context)}; the prediction is the choice with the highest one.
 * Most tasks give every choice the same context and a different continuation ({@code " " + choice text}); WinoGrande's
 * "partial" scoring gives each choice its own context and the same continuation.
 *
 * @param id      a stable identifier of the item within its task (a line number, a dataset id, {@code article-3/2})
 * @param choices two or more choices, in the order the gold index refers to
 * @param gold    index of the correct choice in {@code choices}
 */
public record McItem(String id, List<Choice> choices, int gold) {

    /**
     * One choice.
     *
     * @param context      the text the model is conditioned on (not empty; lm-eval's {@code doc_to_text})
     * @param continuation the text whose log-likelihood is summed (not empty; lm-eval's target delimiter plus the choice)
     * @param text         what lm-eval's {@code doc_to_choice} lists for this choice: its length in Unicode code points
     *                     (Python's {@code len}) divides the log-likelihood for {@code acc_norm}
     */
    public record Choice(String context, String continuation, String text) {
        public Choice {
            if (context == null || context.isEmpty()) {
                throw new PrunelabException.InvalidArgument("a choice needs a non-empty context (lm-eval scores an empty one"
                        + " after a BOS/EOS token, which no prunelab task does)");
            }
            if (continuation == null || continuation.isEmpty()) {
                throw new PrunelabException.InvalidArgument("a choice needs a non-empty continuation");
            }
            if (text == null || text.isEmpty()) throw new PrunelabException.InvalidArgument("a choice needs a non-empty text");
        }

        /** The usual choice: {@code context}, continuation {@code " " + text} (lm-eval's default target delimiter). */
        public static Choice of(String context, String text) {
            return new Choice(context, " " + text, text);
        }

        /** Length of {@link #text} in code points: the divisor of {@code acc_norm}. */
        public int normLength() {
            return text.codePointCount(0, text.length());
        }
    }

    public McItem {
        if (id == null || id.isEmpty()) throw new PrunelabException.InvalidArgument("a multiple-choice item needs an id");
        choices = List.copyOf(choices);
        if (choices.size() < 2) {
            throw new PrunelabException.InvalidArgument("item " + id + " has " + choices.size() + " choice(s); it needs at least 2");
        }
        if (gold < 0 || gold >= choices.size()) {
            throw new PrunelabException.InvalidArgument("item " + id + ": gold index " + gold + " is outside [0, "
                    + choices.size() + ")");
        }
    }

    /** Items whose choices share one context ({@code " " + text} each) — every format but WinoGrande. */
    public static McItem sharedContext(String id, String context, List<String> texts, int gold) {
        return new McItem(id, texts.stream().map(t -> Choice.of(context, t)).toList(), gold);
    }
}
