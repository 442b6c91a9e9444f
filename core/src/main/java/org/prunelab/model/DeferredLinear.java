package org.prunelab.model;

import org.prunelab.tensor.Linear;

import java.util.function.Supplier;

/**
 * A dense fp32 linear {@code [out, in]} read on its first forward pass, then held: a streamed model's untied LM head,
 * which pruning never runs (its vocab x hidden fp32 values, 2.2 GB for Qwen2-7B, are only read if the model is
 * evaluated). Sizes are known without reading it; {@link #nonZeroParameters()} reads it.
 */
public final class DeferredLinear implements Linear {
    private final int out;
    private final int in;
    private final Supplier<? extends Linear> reader;
    private volatile Linear loaded;

    /**
     * @param reader returns the layer, {@code [out, in]}, without bias
     */
    public DeferredLinear(int out, int in, Supplier<? extends Linear> reader) {
        this.out = out;
        this.in = in;
        this.reader = reader;
    }

    /** The layer, reading it now if it was not read yet. */
    public Linear get() {
        Linear l = loaded;
        if (l == null) {
            synchronized (this) {
                l = loaded;
                if (l == null) {
                    l = reader.get();
                    if (l.outFeatures() != out || l.inFeatures() != in) {
                        throw new IllegalStateException("deferred linear read as [" + l.outFeatures() + ", " + l.inFeatures()
                                + "], expected [" + out + ", " + in + "]");
                    }
                    loaded = l;
                }
            }
        }
        return l;
    }

    /** Whether the layer has been read. */
    public boolean isLoaded() { return loaded != null; }

    @Override public int inFeatures() { return in; }
    @Override public int outFeatures() { return out; }
    @Override public void forward(float[] x, int tokens, float[] y) { get().forward(x, tokens, y); }
    /** fp32 bytes once read: {@code out * in * 4}. */
    @Override public long parameterBytes() { return (long) out * in * Float.BYTES; }
    @Override public long nonZeroParameters() { return get().nonZeroParameters(); }
    @Override public long totalParameters() { return (long) out * in; }
}
