package org.prunelab.run;

/**
 * The calibration set of one run: {@code nsamples} windows of {@code seqlen} tokens sampled (with the run's seed)
 * from the calibration split of {@code dataset} (a {@link org.prunelab.data.Datasets} name), as the Wanda and
 * SparseGPT reference code does (REFERENCE.md "Calibration").
 */
public record CalibrationSpec(String dataset, int nsamples, int seqlen) {
    /** The CLI's default: 128 windows of 512 tokens of Brown. */
    public static final CalibrationSpec DEFAULT = new CalibrationSpec("brown", 128, 512);

    /** e.g. {@code brown 16x128}. */
    public String label() {
        return dataset + " " + nsamples + "x" + seqlen;
    }
}
