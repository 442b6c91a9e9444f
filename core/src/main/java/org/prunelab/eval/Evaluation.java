package org.prunelab.eval;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.data.Corpus;
import org.prunelab.data.Window;
import org.prunelab.data.Windows;
import org.prunelab.model.LoadedModel;

import java.util.List;

/**
 * Dense or pruned perplexity of a loaded model on a corpus's evaluation split: tokenise once, cut
 * non-overlapping windows of {@code seqlen} (remainder dropped), optionally keep only the first
 * {@code maxWindows}, and run {@link Perplexity}.
 */
public final class Evaluation {
    private Evaluation() {}

    /**
     * @param maxWindows evaluate at most this many windows from the start of the split; 0 means all
     * @throws PrunelabException.InvalidArgument for a seqlen outside [2, context] or a negative maxWindows
     * @throws PrunelabException.Dataset         if the split is shorter than one window
     */
    public static PerplexityResult perplexity(LoadedModel model, Corpus corpus, int seqlen, int maxWindows, Progress progress) {
        List<Window> windows = windows(model, corpus, seqlen, maxWindows, false);
        return Perplexity.evaluate(model.model()::tokenNll, windows.stream().map(Window::tokens).toList(), progress);
    }

    /**
     * The evaluation windows {@link #perplexity} uses: the first {@code maxWindows} (0 = all) non-overlapping
     * windows of {@code seqlen} tokens of the corpus's evaluation split.
     *
     * @throws PrunelabException.InvalidArgument for a seqlen outside [2, context] or a negative maxWindows
     * @throws PrunelabException.Dataset         if the split is shorter than one window
     */
    public static List<Window> windows(LoadedModel model, Corpus corpus, int seqlen, int maxWindows) {
        return windows(model, corpus, seqlen, maxWindows, false);
    }

    /**
     * As {@link #windows(LoadedModel, Corpus, int, int)}; with {@code whole}, over the corpus's whole text
     * ({@link Windows#evaluation(Corpus, org.prunelab.data.Encoder, int, boolean)}).
     */
    public static List<Window> windows(LoadedModel model, Corpus corpus, int seqlen, int maxWindows, boolean whole) {
        model.checkSeqlen(seqlen, "eval.seqlen");
        checkWindows(maxWindows);
        List<Window> windows = Windows.evaluation(corpus, model.tokenizer()::encodeWithDefaults, seqlen, whole);
        return maxWindows > 0 && windows.size() > maxWindows ? windows.subList(0, maxWindows) : windows;
    }

    /** @throws PrunelabException.InvalidArgument for a negative window count (0 means all) */
    public static void checkWindows(int maxWindows) {
        if (maxWindows < 0) {
            throw new PrunelabException.InvalidArgument("${eval.windows} must be 0 (all) or positive, got " + maxWindows);
        }
    }
}
