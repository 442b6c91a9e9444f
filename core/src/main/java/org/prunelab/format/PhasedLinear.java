package org.prunelab.format;

import org.prunelab.tensor.Linear;

/**
 * One layer held in two formats, one per phase: several tokens at once (prefill, evaluation) run {@link #prefill()},
 * one token (batch-1 decode) runs {@link #decode()}. {@code --format auto} builds it where the two phases measure
 * fastest in different formats; both copies are in memory and counted in {@link #parameterBytes()}.
 */
public final class PhasedLinear implements Linear {
    private final Linear prefill;
    private final Linear decode;

    /** @throws IllegalArgumentException if the two layers' shapes differ */
    public PhasedLinear(Linear prefill, Linear decode) {
        if (prefill.inFeatures() != decode.inFeatures() || prefill.outFeatures() != decode.outFeatures()) {
            throw new IllegalArgumentException("phases disagree on the shape: " + prefill + " vs " + decode);
        }
        this.prefill = prefill;
        this.decode = decode;
    }

    /** The layer used for more than one token. */
    public Linear prefill() { return prefill; }

    /** The layer used for one token. */
    public Linear decode() { return decode; }

    @Override
    public int inFeatures() { return decode.inFeatures(); }

    @Override
    public int outFeatures() { return decode.outFeatures(); }

    @Override
    public void forward(float[] x, int tokens, float[] y) {
        (tokens == 1 ? decode : prefill).forward(x, tokens, y);
    }

    @Override
    public long parameterBytes() { return prefill.parameterBytes() + decode.parameterBytes(); }

    @Override
    public long nonZeroParameters() { return decode.nonZeroParameters(); }

    @Override
    public long totalParameters() { return decode.totalParameters(); }

    @Override
    public String toString() { return "PhasedLinear[prefill " + prefill + ", decode " + decode + "]"; }
}
