package org.prunelab.tensor.sparse;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The prefill (tokens &gt; 1) half of the sparse kernels, shared by CSR and packed N:M: a weight row
 * given as (column, value) pairs times all tokens at once.
 *
 * <p>Layout: the activations are transposed once per call into {@code xt[in, tokens]}, so the
 * tokens of one input feature are contiguous. Each stored weight is then read once per block of
 * tokens and broadcast against a contiguous run of {@code xt}: no gathers, and the weight bytes are
 * amortised over the block. Blocks are 4 vectors wide (64 tokens with AVX-512) with accumulators in
 * registers; a final block of up to one vector uses a lane mask.
 */
final class TokenBlocks {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private TokenBlocks() {}

    /** {@code xt[c * tokens + t] = x[t * in + c]}: [tokens, in] to [in, tokens]. */
    static float[] transpose(float[] x, int tokens, int in) {
        float[] xt = new float[tokens * in];
        for (int t = 0; t < tokens; t++) {
            int xo = t * in;
            for (int c = 0; c < in; c++) xt[c * tokens + t] = x[xo + c];
        }
        return xt;
    }

    /** Scatter offsets {@code i * out} for lanes 0..4L-1, to write a token block into y[tokens, out]. */
    static int[] outputStrides(int out) {
        int[] strides = new int[4 * L];
        for (int i = 0; i < strides.length; i++) strides[i] = i * out;
        return strides;
    }

    /**
     * {@code y[t * out + row] = sum_k vals[vo + k] * xt[cols[co + k] * tokens + t]} for every token t.
     *
     * @param strides {@link #outputStrides(int)} for {@code out}
     * @param lanes   scratch of at least {@link #L} floats for the last, partial block
     */
    static void row(float[] vals, int vo, int[] cols, int co, int count,
                    float[] xt, int tokens, float[] y, int out, int row, int[] strides, float[] lanes) {
        int t0 = 0;
        for (; t0 + 4 * L <= tokens; t0 += 4 * L) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < count; k++) {
                FloatVector v = FloatVector.broadcast(S, vals[vo + k]);
                int base = cols[co + k] * tokens + t0;
                a0 = FloatVector.fromArray(S, xt, base).fma(v, a0);
                a1 = FloatVector.fromArray(S, xt, base + L).fma(v, a1);
                a2 = FloatVector.fromArray(S, xt, base + 2 * L).fma(v, a2);
                a3 = FloatVector.fromArray(S, xt, base + 3 * L).fma(v, a3);
            }
            int yo = t0 * out + row;
            a0.intoArray(y, yo, strides, 0);
            a1.intoArray(y, yo, strides, L);
            a2.intoArray(y, yo, strides, 2 * L);
            a3.intoArray(y, yo, strides, 3 * L);
        }
        for (; t0 < tokens; t0 += L) {
            VectorMask<Float> inBlock = S.indexInRange(t0, tokens);
            FloatVector a = FloatVector.zero(S);
            for (int k = 0; k < count; k++) {
                int base = cols[co + k] * tokens + t0;
                a = FloatVector.fromArray(S, xt, base, inBlock).fma(FloatVector.broadcast(S, vals[vo + k]), a);
            }
            // A masked scatter still range-checks the masked-off lanes, so the last block goes through scratch.
            a.intoArray(lanes, 0);
            for (int i = 0, live = Math.min(L, tokens - t0); i < live; i++) y[(t0 + i) * out + row] = lanes[i];
        }
    }
}
