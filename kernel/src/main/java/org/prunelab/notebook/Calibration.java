package org.prunelab.notebook;

import org.prunelab.run.CalibrationSpec;

/**
 * Which calibration windows a pruning method sees: {@code nsamples} windows of {@code seqlen} tokens drawn
 * with {@code seed} from the calibration split of {@code dataset} (as {@code prunelab prune --calib
 * --nsamples --seqlen --seed}; REFERENCE.md "Calibration").
 *
 * @param dataset  brown, europarl:&lt;lang&gt;, udhr:&lt;code&gt;, nlpcorpus, wikitext2:&lt;path&gt; or a text file
 * @param nsamples number of windows (the reference uses 128)
 * @param seqlen   tokens per window
 * @param seed     sampling seed
 */
public record Calibration(String dataset, int nsamples, int seqlen, long seed) {
    /** The CLI's default: 128 windows of 512 tokens of Brown, seed 0. */
    public static final Calibration DEFAULT = new Calibration("brown", 128, 512, 0);

    /** e.g. {@code brown 16x128 seed 0}. */
    public String label() {
        return dataset + " " + nsamples + "x" + seqlen + " seed " + seed;
    }

    /** The run's calibration set (the seed travels separately, as in a run spec). */
    CalibrationSpec spec() {
        return new CalibrationSpec(dataset, nsamples, seqlen);
    }
}
