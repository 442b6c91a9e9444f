package org.prunelab.model;

import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.VectorMath;

/**
 * Causal grouped-query self-attention (Ainslie et al. 2023, "GQA") with RoPE, as transformers'
 * {@code LlamaAttention}: query head h reads key/value head {@code h / groupSize}; scores are scaled by
 * {@code 1 / sqrt(headDim)}; a query at position p sees keys at positions 0..p.
 *
 * <p>Batched prefill over T new tokens after {@code past} cached ones: the scores of a tile of query rows
 * against all visible keys are one GEMM ({@code Q K^T}), then a row softmax, then one GEMM ({@code P V}); the
 * query heads that share a key/value head are stacked into one operand, so each GEMM has {@code group} times
 * more rows. KV groups and row tiles are independent, so they run in parallel on {@link Parallel}; the GEMMs inside are
 * the active backend's single-threaded form because the parallelism is already outside them. Each tile only computes the key
 * columns its last row can see, which skips most of the masked upper triangle.
 */
public final class Attention {
    private static final int ROW_TILE = 32;

    private final LlamaConfig config;
    private final Rope rope;
    private final float scale;

    Attention(LlamaConfig config, Rope rope) {
        this.config = config;
        this.rope = rope;
        this.scale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    /** Width of one head (the config's head_dim). */
    int headDim() { return config.headDim(); }

    /**
     * Runs q/k/v projections, RoPE, scaled dot-product attention and o_proj; the result lands in {@code buf.proj}.
     *
     * @param linears the block's q_proj, k_proj, v_proj, o_proj
     * @param past    tokens already in {@code keys}/{@code values} before these T (0 without a cache)
     * @param keys    store of K rows {@code [capacity, kvDim]}, or null to attend only within these T tokens
     * @param values  store of V rows, like keys
     */
    void forward(DecoderBlock.Linears linears, ForwardBuffers buf, int tokens, Rope.Table angles,
                 int past, float[] keys, float[] values, LinearInputObserver observer, int layer) {
        // Head counts come from the block's own q_proj/k_proj: a structurally pruned block may have fewer
        // heads than the config (buffers and caches are sized for the config's, an upper bound).
        int headDim = config.headDim();
        int heads = linears.qProj().outFeatures() / headDim;
        int kvHeads = linears.kProj().outFeatures() / headDim;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        int hidden = config.hiddenSize();
        if (observer != null) {
            observer.onInput(layer, "q_proj", buf.xNorm, tokens, hidden);
            observer.onInput(layer, "k_proj", buf.xNorm, tokens, hidden);
            observer.onInput(layer, "v_proj", buf.xNorm, tokens, hidden);
        }
        linears.qProj().forward(buf.xNorm, tokens, buf.q);
        linears.kProj().forward(buf.xNorm, tokens, buf.k);
        linears.vProj().forward(buf.xNorm, tokens, buf.v);
        rope.apply(buf.q, tokens, heads, angles);
        rope.apply(buf.k, tokens, kvHeads, angles);
        if (keys == null) {
            keys = buf.k;
            values = buf.v;
            past = 0;
        } else {
            System.arraycopy(buf.k, 0, keys, past * kvDim, tokens * kvDim);
            System.arraycopy(buf.v, 0, values, past * kvDim, tokens * kvDim);
        }
        scaledDotProduct(buf.q, keys, values, tokens, past, buf.attn, heads, kvHeads);
        if (observer != null) observer.onInput(layer, "o_proj", buf.attn, tokens, qDim);
        linears.oProj().forward(buf.attn, tokens, buf.proj);
    }

    /**
     * {@code out = softmax(scale * Q K^T + causal mask) V} for every query head.
     *
     * @param q    {@code [tokens, qDim]}, RoPE applied; row t is at position {@code past + t}
     * @param keys {@code [past + tokens, kvDim]} (or longer), RoPE applied
     * @param out  {@code [tokens, qDim]}, overwritten
     */
    void scaledDotProduct(float[] q, float[] keys, float[] values, int tokens, int past, float[] out) {
        scaledDotProduct(q, keys, values, tokens, past, out, config.numAttentionHeads(), config.numKeyValueHeads());
    }

    /** As above for a block with {@code heads} query and {@code kvHeads} key/value heads (strides follow them). */
    void scaledDotProduct(float[] q, float[] keys, float[] values, int tokens, int past, float[] out,
                          int heads, int kvHeads) {
        int headDim = config.headDim();
        int group = heads / kvHeads;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        int tiles = (tokens + ROW_TILE - 1) / ROW_TILE;
        int tileRows = Math.min(ROW_TILE, tokens);
        Gemm gemm = Gemm.active().singleThreaded();
        Parallel.forRange(kvHeads * tiles, 1, (from, to) -> {
            // The query heads of one KV group read the same keys and values, so their rows are stacked into one
            // [rows * group, headDim] operand (row r * group + j = position r of head j): one pair of larger GEMMs
            // per tile instead of one pair per head.
            float[] stackedQ = new float[tileRows * group * headDim];
            float[] stackedOut = new float[tileRows * group * headDim];
            float[] scores = new float[tileRows * group * (past + tokens)];
            int groupWidth = group * headDim;
            for (int task = from; task < to; task++) {
                int g = task / tiles;
                int r0 = (task % tiles) * ROW_TILE;
                int rows = Math.min(ROW_TILE, tokens - r0);
                int visible = past + r0 + rows; // keys the tile's last row can see
                int kvOff = g * headDim;
                int qCol = g * groupWidth; // this group's first query column
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(q, (r0 + r) * qDim + qCol, stackedQ, r * groupWidth, groupWidth);
                }
                int stacked = rows * group;
                gemm.sgemm(false, true, stacked, visible, headDim, scale,
                        stackedQ, 0, headDim, keys, kvOff, kvDim, 0f, scores, 0, visible);
                for (int i = 0; i < stacked; i++) {
                    int seen = past + r0 + i / group + 1;
                    VectorMath.softmaxInPlace(scores, i * visible, seen);
                    java.util.Arrays.fill(scores, i * visible + seen, (i + 1) * visible, 0f);
                }
                gemm.sgemm(false, false, stacked, headDim, visible, 1f,
                        scores, 0, visible, values, kvOff, kvDim, 0f, stackedOut, 0, headDim);
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(stackedOut, r * groupWidth, out, (r0 + r) * qDim + qCol, groupWidth);
                }
            }
        });
    }
}
