package org.prunelab.data;

import org.prunelab.PrunelabException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Cuts token windows for evaluation and calibration, following the protocol of the Wanda and SparseGPT
 * reference code (see REFERENCE.md).
 */
public final class Windows {
    private Windows() {}

    /** Separator between documents when a part is joined for evaluation (as the reference does for WikiText-2). */
    public static final String JOIN = "\n\n";

    /**
     * Evaluation windows: the evaluation part's documents joined with {@code "\n\n"}, tokenised once, cut
     * into non-overlapping windows of {@code seqlen} tokens; the remainder is dropped.
     *
     * @return {@code floor(tokens / seqlen)} windows at offsets 0, seqlen, 2 seqlen, ...
     * @throws PrunelabException.InvalidArgument if seqlen &lt; 1
     * @throws PrunelabException.Dataset         if the part has no evaluation documents or fewer than seqlen tokens
     */
    public static List<Window> evaluation(Corpus corpus, Encoder encoder, int seqlen) {
        return evaluation(corpus, encoder, seqlen, false);
    }

    /**
     * As {@link #evaluation(Corpus, Encoder, int)}, or with {@code whole} over the corpus's whole text
     * ({@link Corpus#wholeText()}: calibration and evaluation parts together, in source order) — for a user's own file
     * that serves only for evaluation. Windows then name the split {@link Split#EVALUATION} and document
     * {@link Window#JOINED} all the same.
     */
    public static List<Window> evaluation(Corpus corpus, Encoder encoder, int seqlen, boolean whole) {
        requirePositive(seqlen, "eval.seqlen");
        String text = whole ? corpus.wholeText()
                : String.join(JOIN, corpus.part(Split.EVALUATION).stream().map(Document::text).toList());
        int[] tokens = encoder.encode(text);
        int count = tokens.length / seqlen;
        if (count == 0) {
            throw new PrunelabException.Dataset("the " + (whole ? "whole text" : "evaluation part") + " of " + corpus.name()
                    + " has " + tokens.length + " tokens, fewer than one window of seqlen " + seqlen
                    + "; use a smaller ${eval.seqlen} or a larger dataset");
        }
        List<Window> windows = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * seqlen;
            windows.add(new Window(corpus.name(), Split.EVALUATION, Window.JOINED, from,
                    Arrays.copyOfRange(tokens, from, from + seqlen)));
        }
        return windows;
    }

    /**
     * Calibration windows as in the Wanda reference's C4 loader ({@code lib/data.py get_c4}): for each of
     * {@code nsamples} windows, draw calibration documents uniformly at random until one tokenises to
     * more than {@code seqlen} tokens, then draw a start uniformly from {@code [0, tokens - seqlen - 1]}
     * (the reference's inclusive {@code randint} bounds) and take {@code seqlen} tokens. Windows may
     * repeat or overlap, as in the reference.
     *
     * <p>Random numbers come from {@link java.util.Random} seeded with {@code seed}: its algorithm is fixed
     * by the Java SE specification, so the same seed gives the same windows on every JVM. It is not
     * Python's Mersenne Twister, so the windows differ from the reference's; the procedure is the same.
     * Each document is tokenised at most once.
     *
     * @return nsamples windows, each naming its document index and token offset
     * @throws PrunelabException.InvalidArgument if nsamples or seqlen &lt; 1
     * @throws PrunelabException.Dataset         if the corpus has no calibration part or no calibration
     *                                           document longer than seqlen tokens; the message gives the longest
     */
    public static List<Window> calibration(Corpus corpus, Encoder encoder, int nsamples, int seqlen, long seed) {
        requirePositive(nsamples, "calib.nsamples");
        requirePositive(seqlen, "calib.seqlen");
        List<Document> docs = corpus.part(Split.CALIBRATION);
        Random random = new Random(seed);
        Map<Integer, int[]> tokenised = new HashMap<>();
        Set<Integer> tooShort = new HashSet<>();
        List<Window> windows = new ArrayList<>(nsamples);
        for (int s = 0; s < nsamples; s++) {
            int pick;
            int[] tokens;
            while (true) {
                pick = random.nextInt(docs.size());
                tokens = tokenised.computeIfAbsent(pick, i -> encoder.encode(docs.get(i).text()));
                if (tokens.length > seqlen) break;
                tooShort.add(pick);
                if (tooShort.size() == docs.size()) throw noLongDocument(corpus, docs, tokenised, seqlen);
            }
            int start = random.nextInt(tokens.length - seqlen); // inclusive range [0, length - seqlen - 1]
            windows.add(new Window(corpus.name(), Split.CALIBRATION, docs.get(pick).index(), start,
                    Arrays.copyOfRange(tokens, start, start + seqlen)));
        }
        return windows;
    }

    private static PrunelabException.Dataset noLongDocument(Corpus corpus, List<Document> docs,
                                                            Map<Integer, int[]> tokenised, int seqlen) {
        int longest = tokenised.values().stream().mapToInt(t -> t.length).max().orElse(0);
        long total = tokenised.values().stream().mapToLong(t -> t.length).sum();
        return new PrunelabException.Dataset("no calibration document of " + corpus.name() + " is longer than seqlen "
                + seqlen + " tokens: its " + docs.size() + " calibration documents have " + total
                + " tokens in all, the longest " + longest + "; use ${calib.seqlen} below " + longest + " or another dataset");
    }

    private static void requirePositive(int value, String name) {
        if (value < 1) throw new PrunelabException.InvalidArgument("${" + name + "} must be at least 1, got " + value);
    }
}
