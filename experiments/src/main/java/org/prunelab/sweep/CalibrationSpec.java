package org.prunelab.sweep;

/**
 * The calibration set of one run: {@code nsamples} windows of {@code seqlen} tokens sampled (with the run's
 * seed) from the calibration split of {@code dataset} (a {@link org.prunelab.data.Datasets} name).
 */
public record CalibrationSpec(String dataset, int nsamples, int seqlen) {}
