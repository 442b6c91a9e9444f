package org.prunelab.prune;

/** Statistics for methods that need no calibration data (magnitude): only counts tokens. */
public final class NoStats implements CalibrationStats {
    private final int inFeatures;
    private long tokens;

    public NoStats(int inFeatures) {
        this.inFeatures = inFeatures;
    }

    @Override
    public int inFeatures() { return inFeatures; }

    @Override
    public long tokens() { return tokens; }

    @Override
    public void add(float[] x, int tokens) {
        CalibrationStats.checkBatch(x, tokens, inFeatures);
        this.tokens += tokens;
    }
}
