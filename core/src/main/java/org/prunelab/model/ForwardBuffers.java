package org.prunelab.model;

/**
 * Scratch activations for one forward pass over up to {@code tokens} rows, allocated once and reused by
 * every block so the pass allocates nothing per layer or per token. Not shared between threads.
 */
final class ForwardBuffers {
    final int tokens;
    final float[] xNorm;   // [tokens, hidden]   normed block input, shared by q/k/v and by gate/up
    final float[] q;       // [tokens, qDim]
    final float[] k;       // [tokens, kvDim]
    final float[] v;       // [tokens, kvDim]
    final float[] attn;    // [tokens, qDim]     attention output, O's input
    final float[] proj;    // [tokens, hidden]   O or DOWN output, added to the residual
    final float[] gate;    // [tokens, intermediate], becomes silu(gate) * up, DOWN's input
    final float[] up;      // [tokens, intermediate]
    private float[] scores = new float[0]; // scratch of one decode step's attention (scores, partial sums), grown on demand

    ForwardBuffers(DecoderConfig c, int tokens) {
        this.tokens = tokens;
        xNorm = new float[tokens * c.hiddenSize()];
        q = new float[tokens * c.qDim()];
        k = new float[tokens * c.kvDim()];
        v = new float[tokens * c.kvDim()];
        attn = new float[tokens * c.qDim()];
        proj = new float[tokens * c.hiddenSize()];
        gate = new float[tokens * c.intermediateSize()];
        up = new float[tokens * c.intermediateSize()];
    }

    /** Scratch of at least {@code size} floats for a decode step's attention scores (grows, never shrinks). */
    float[] scores(int size) {
        if (scores.length < size) scores = new float[Math.max(size, 2 * scores.length)];
        return scores;
    }
}
