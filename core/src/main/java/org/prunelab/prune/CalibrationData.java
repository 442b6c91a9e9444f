package org.prunelab.prune;

import org.prunelab.model.DecoderModel;

import org.prunelab.PrunelabException;
import org.prunelab.data.Corpus;
import org.prunelab.data.Document;
import org.prunelab.data.Encoder;
import org.prunelab.data.Split;
import org.prunelab.data.Window;
import org.prunelab.data.Windows;

import java.util.List;

/** Checked sampling of calibration windows for {@link LayerwisePruner}. */
public final class CalibrationData {
    private CalibrationData() {}

    /**
     * {@code nsamples} random windows of {@code seqlen} tokens from the corpus's calibration part
     * ({@link Windows#calibration}), after checking that the part holds at least {@code nsamples x seqlen}
     * tokens in documents longer than seqlen (the only ones windows are drawn from). Windows may overlap, as
     * in the reference, but calibrating on less text than that would mostly repeat it.
     *
     * @throws PrunelabException.InvalidArgument if nsamples or seqlen is below 1
     * @throws PrunelabException.Dataset if the calibration text is too short; the message says how many tokens it has
     */
    public static List<Window> sample(Corpus corpus, Encoder encoder, int nsamples, int seqlen, long seed) {
        checkSize(corpus, encoder, nsamples, seqlen);
        return Windows.calibration(corpus, encoder, nsamples, seqlen, seed);
    }

    /**
     * The checks of {@link #sample} without drawing: nsamples and seqlen positive, and at least {@code nsamples x
     * seqlen} tokens in calibration documents longer than seqlen. Tokenises only until there is enough.
     *
     * @throws PrunelabException.InvalidArgument if nsamples or seqlen is below 1
     * @throws PrunelabException.Dataset if the calibration text is too short; the message says how many tokens it has
     */
    public static void checkSize(Corpus corpus, Encoder encoder, int nsamples, int seqlen) {
        if (nsamples < 1) {
            throw new PrunelabException.InvalidArgument("${calib.nsamples} must be at least 1, got " + nsamples
                    + ": the reference calibrates on 128 windows");
        }
        if (seqlen < 1) throw new PrunelabException.InvalidArgument("${calib.seqlen} must be at least 1, got " + seqlen);
        long needed = (long) nsamples * seqlen;
        long usable = 0;
        long all = 0;
        List<Document> docs = corpus.part(Split.CALIBRATION);
        // Stops as soon as there is enough: only a short corpus is tokenised in full.
        for (int i = 0; i < docs.size() && usable < needed; i++) {
            int tokens = encoder.encode(docs.get(i).text()).length;
            all += tokens;
            if (tokens > seqlen) usable += tokens;
        }
        if (usable < needed) {
            throw new PrunelabException.Dataset("the calibration part of " + corpus.name() + " has " + usable
                    + " tokens in documents longer than seqlen " + seqlen + " (" + all + " tokens in all, " + docs.size()
                    + " documents), fewer than nsamples x seqlen = " + nsamples + " x " + seqlen + " = " + needed
                    + ": lower ${calib.nsamples} or ${calib.seqlen}" + suggestion(usable > 0 ? usable : all)
                    + ", or calibrate on a larger dataset"
                    + (org.prunelab.data.UdhrCorpus.isUdhr(corpus) ? " (a UDHR translation calibrates on its articles 1, 4,"
                    + " ..., 28 only, about a third of the text)" : ""));
        }
    }

    /** E.g. {@code " (e.g. --nsamples 8 --seqlen 128 fits)"} for a text of that many tokens; empty if nothing fits. */
    private static String suggestion(long tokens) {
        for (int seqlen : new int[] {128, 64, 32}) {
            long n = Math.min(tokens / seqlen, 128);
            if (n >= 1) return " (e.g. ${calib.nsamples} " + n + " ${calib.seqlen} " + seqlen + " fits)";
        }
        return "";
    }

    /**
     * How {@code nsamples} windows are spread over {@code k} calibration datasets: {@code nsamples / k} from each, the
     * remainder {@code nsamples % k} one each to the first datasets in the order given.
     *
     * @throws PrunelabException.InvalidArgument if nsamples is smaller than k (a listed dataset would get no window)
     */
    public static int[] shares(int nsamples, int k) {
        if (k < 1) throw new IllegalArgumentException("no calibration datasets");
        if (nsamples < k) {
            throw new PrunelabException.InvalidArgument("${calib.nsamples} " + nsamples + " cannot spread over " + k
                    + " calibration datasets: use at least one window per dataset (${calib.nsamples} >= " + k + ")");
        }
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = nsamples / k + (i < nsamples % k ? 1 : 0);
        return out;
    }

    /**
     * The sampling seed of the i-th of several calibration datasets: the run's seed for the first (so a single dataset
     * draws exactly the windows it always drew), a fixed mix of the seed and i for the others.
     */
    public static long seedOf(long seed, int i) {
        return i == 0 ? seed : seed ^ (i * 0x9E3779B97F4A7C15L);
    }

    /**
     * Calibration windows from several datasets (a multilingual calibration set): dataset i gives {@link #shares}{@code [i]}
     * windows sampled as {@link #sample(Corpus, Encoder, int, int, long)} does with seed {@link #seedOf}{@code (seed, i)};
     * the windows come in dataset order, each naming its dataset ({@link Window#dataset()}). With one dataset this is
     * exactly {@link #sample(Corpus, Encoder, int, int, long)}.
     *
     * @throws PrunelabException.InvalidArgument if nsamples or seqlen is below 1 or nsamples is below the number of datasets
     * @throws PrunelabException.Dataset if a dataset's calibration text is too short for its share
     */
    public static List<Window> sample(List<Corpus> corpora, Encoder encoder, int nsamples, int seqlen, long seed) {
        checkSize(corpora, encoder, nsamples, seqlen);
        int[] shares = shares(nsamples, corpora.size());
        List<Window> out = new java.util.ArrayList<>(nsamples);
        for (int i = 0; i < corpora.size(); i++) {
            out.addAll(Windows.calibration(corpora.get(i), encoder, shares[i], seqlen, seedOf(seed, i)));
        }
        return out;
    }

    /** {@link #checkSize(Corpus, Encoder, int, int)} of every dataset for its share of nsamples ({@link #shares}). */
    public static void checkSize(List<Corpus> corpora, Encoder encoder, int nsamples, int seqlen) {
        if (nsamples < 1) checkSize(corpora.getFirst(), encoder, nsamples, seqlen); // the usual message
        int[] shares = shares(nsamples, corpora.size());
        for (int i = 0; i < corpora.size(); i++) checkSize(corpora.get(i), encoder, shares[i], seqlen);
    }

    /**
     * The language of each window of a calibration set, in order: the {@link Corpus#language()} of the dataset it came
     * from (its name when the language is unknown, {@code und}). What language-aware methods (M-Wanda) group by.
     *
     * @throws IllegalArgumentException if a window names a dataset that is not among {@code corpora}
     */
    public static List<String> languages(List<Window> windows, List<Corpus> corpora) {
        java.util.Map<String, String> byName = new java.util.HashMap<>();
        for (Corpus c : corpora) byName.put(c.name(), languageOf(c));
        return windows.stream().map(w -> {
            String l = byName.get(w.dataset());
            if (l == null) throw new IllegalArgumentException("window of " + w.dataset() + " is not from the calibration datasets");
            return l;
        }).toList();
    }

    /** {@link Corpus#language()}, or the corpus's name when the language is unknown. */
    public static String languageOf(Corpus corpus) {
        String l = corpus.language();
        return l == null || l.isBlank() || l.equals("und") ? corpus.name() : l;
    }

    /**
     * Checks windows handed to a calibration loop: at least one, all of one length, within the model's context.
     *
     * @throws PrunelabException.InvalidArgument naming what is wrong and the option to change
     */
    public static void checkWindows(DecoderModel model, List<int[]> windows) {
        if (windows.isEmpty()) {
            throw new PrunelabException.InvalidArgument("no calibration windows: ${calib.nsamples} must be at least 1");
        }
        int seqlen = windows.getFirst().length;
        int context = model.config().maxPositionEmbeddings();
        if (seqlen < 1 || seqlen > context) {
            throw new PrunelabException.InvalidArgument("calibration windows of " + seqlen + " tokens do not fit the "
                    + "model's context of " + context + " tokens: use ${calib.seqlen} between 1 and " + context);
        }
        for (int[] w : windows) {
            if (w.length != seqlen) {
                throw new PrunelabException.InvalidArgument("calibration windows differ in length (" + seqlen + " and "
                        + w.length + " tokens): cut every window to the same seqlen");
            }
        }
    }
}
