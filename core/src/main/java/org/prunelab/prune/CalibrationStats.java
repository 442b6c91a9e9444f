package org.prunelab.prune;

/**
 * What a pruning method accumulates about one linear layer's inputs during calibration. The calibration
 * loop creates one per linear ({@link PruningMethod#newStats(int)}), feeds it every batch of inputs the
 * linear sees, then hands it to {@link PruningMethod#prune}.
 */
public interface CalibrationStats {

    /** Number of input features (columns of the weight) this object was made for. */
    int inFeatures();

    /** Number of calibration tokens added so far. */
    long tokens();

    /**
     * Adds a batch of inputs.
     *
     * @param x      row-major {@code [tokens, inFeatures]} inputs of the linear (extra elements are ignored)
     * @param tokens number of rows of x to add, at least 0
     * @throws org.prunelab.PrunelabException.InvalidArgument if tokens is negative or x is too short
     */
    void add(float[] x, int tokens);

    /** Shared validation of {@link #add} arguments. */
    static void checkBatch(float[] x, int tokens, int inFeatures) {
        if (tokens < 0 || (long) tokens * inFeatures > x.length) {
            throw new org.prunelab.PrunelabException.InvalidArgument("calibration batch of " + tokens
                    + " tokens x " + inFeatures + " features needs " + (long) tokens * inFeatures
                    + " values but the array holds " + x.length + ": pass inputs shaped [tokens, in_features]");
        }
    }
}
