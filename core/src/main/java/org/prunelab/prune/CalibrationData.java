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
                    + ": lower ${calib.nsamples} or ${calib.seqlen}, or calibrate on a larger dataset");
        }
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
