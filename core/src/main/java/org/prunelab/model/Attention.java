package org.prunelab.model;

import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.VectorMath;

/**
 * Causal grouped-query self-attention (Ainslie et al. 2023, "GQA") with RoPE, as transformers'
 * {@code LlamaAttention}: query head h reads key/value head {@code h / groupSize}; scores are scaled by
 * {@code 1 / sqrt(head_dim)} (or {@code 1 / sqrt(query_pre_attn_scalar)} where the family sets it, Gemma); a query at
 * position p sees keys at positions 0..p, or only the last {@code sliding_window} of them (itself included) in a
 * sliding-window layer (Gemma 3's local layers, transformers' {@code sliding_window_overlay}). Families with q/k norms
 * (Gemma 3) normalise every query and key head over head_dim before RoPE.
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
    /** Key positions per block of a decode step's attention: 64 SmolLM2 rows are 48 KB of keys, a share of L2. */
    private static final int KEY_BLOCK = 64;

    private final DecoderConfig config;
    private final Rope rope;
    private final float scale;
    private final int slidingWindow;

    /**
     * @param rope          the RoPE of this kind of layer (Gemma 3's local layers have their own base)
     * @param slidingWindow keys a query sees counting itself, or 0 for full causal attention
     */
    Attention(DecoderConfig config, Rope rope, int slidingWindow) {
        this.config = config;
        this.rope = rope;
        double scalar = config.variant().queryPreAttnScalar() > 0 ? config.variant().queryPreAttnScalar() : config.headDim();
        this.scale = (float) (1.0 / Math.sqrt(scalar));
        this.slidingWindow = slidingWindow;
    }

    /** Width of one head (the config's head_dim). */
    int headDim() { return config.headDim(); }

    /** Keys a query sees within its window (itself included), or 0 for full causal attention. */
    int slidingWindow() { return slidingWindow; }

    /** This layer kind's RoPE. */
    Rope rope() { return rope; }

    /**
     * Runs the Q/K/V projections, the q/k norms if any, RoPE, scaled dot-product attention and O; the result lands in
     * {@code buf.proj}.
     *
     * @param linears the block's linears by role ordinal
     * @param qNorm   per-head query norm {@code [head_dim]}, or null
     * @param kNorm   per-head key norm, or null
     * @param past    tokens already in {@code keys}/{@code values} before these T (0 without a cache)
     * @param keys    store of K rows {@code [capacity, kvDim]}, or null to attend only within these T tokens
     * @param values  store of V rows, like keys
     */
    void forward(Linear[] linears, BlockLayout layout, RmsNorm qNorm, RmsNorm kNorm, ForwardBuffers buf, int tokens,
                 PositionAngles angles, int past, float[] keys, float[] values, LinearInputObserver observer, int layer) {
        Linear qProj = linears[LinearRole.Q.ordinal()], kProj = linears[LinearRole.K.ordinal()],
                vProj = linears[LinearRole.V.ordinal()], oProj = linears[LinearRole.O.ordinal()];
        // Head counts come from the block's own Q/K: a structurally pruned block may have fewer heads than the config
        // (buffers and caches are sized for the config's, an upper bound).
        int headDim = config.headDim();
        int heads = qProj.outFeatures() / headDim;
        int kvHeads = kProj.outFeatures() / headDim;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        int hidden = config.hiddenSize();
        if (observer != null) {
            observer.onInput(layer, layout.name(LinearRole.Q), buf.xNorm, tokens, hidden);
            observer.onInput(layer, layout.name(LinearRole.K), buf.xNorm, tokens, hidden);
            observer.onInput(layer, layout.name(LinearRole.V), buf.xNorm, tokens, hidden);
        }
        DenseLinear.forwardTogether(new Linear[]{qProj, kProj, vProj}, buf.xNorm, tokens, new float[][]{buf.q, buf.k, buf.v});
        if (qNorm != null) qNorm.forward(buf.q, tokens * heads, buf.q);
        if (kNorm != null) kNorm.forward(buf.k, tokens * kvHeads, buf.k);
        Rope.Table table = angles.of(rope);
        rope.apply(buf.q, tokens, heads, table);
        rope.apply(buf.k, tokens, kvHeads, table);
        if (keys == null) {
            keys = buf.k;
            values = buf.v;
            past = 0;
        } else {
            System.arraycopy(buf.k, 0, keys, past * kvDim, tokens * kvDim);
            System.arraycopy(buf.v, 0, values, past * kvDim, tokens * kvDim);
        }
        if (tokens == 1) {
            attendOne(buf.q, keys, values, past, buf.attn, heads, kvHeads, buf.scores(decodeScratch(heads, past)));
        } else {
            scaledDotProduct(buf.q, keys, values, tokens, past, buf.attn, heads, kvHeads);
        }
        if (observer != null) observer.onInput(layer, layout.name(LinearRole.O), buf.attn, tokens, qDim);
        oProj.forward(buf.attn, tokens, buf.proj);
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
        if (tokens == 1) {
            attendOne(q, keys, values, past, out, heads, kvHeads, new float[decodeScratch(heads, past)]);
            return;
        }
        int headDim = config.headDim();
        int group = heads / kvHeads;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        int tiles = (tokens + ROW_TILE - 1) / ROW_TILE;
        int tileRows = Math.min(ROW_TILE, tokens);
        int window = slidingWindow;
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
                    // A sliding-window layer's query at position p sees keys p - window + 1 .. p.
                    int first = window > 0 ? Math.max(0, seen - window) : 0;
                    VectorMath.softmaxInPlace(scores, i * visible + first, seen - first);
                    java.util.Arrays.fill(scores, i * visible, i * visible + first, 0f);
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

    /**
     * One query row (a decode step at position {@code past}) on the Vector API, split over the keys as in
     * flash-decoding (Dao et al. 2023): the visible keys are cut into blocks of {@link #KEY_BLOCK} positions, and
     * {@link Parallel}'s threads take whole blocks, each reading a contiguous stretch of the cache once for every
     * head. A block yields per head its maximum score {@code m}, the sum {@code l} of {@code exp(score - m)} and the
     * unnormalised {@code sum exp(score - m) v}; the blocks are then merged exactly, rescaled to the largest maximum.
     * Decode attention is bound by reading the cache (at 512 tokens SmolLM2's is 26 MB over its 30 layers, out of
     * cache by the time a token comes back to a layer), so the split keeps both threads streaming; splitting by head
     * would give 2 of SmolLM2's 3 key/value heads to one thread. A GEMM per head would also pay its call overhead
     * (through BLAS, a JNI call) for 2 x 64 x 512 multiply-adds.
     *
     * @param q       {@code [qDim]}, RoPE applied, at position {@code past}
     * @param scratch at least {@link #decodeScratch} floats
     */
    private void attendOne(float[] q, float[] keys, float[] values, int past, float[] out, int heads, int kvHeads,
                           float[] scratch) {
        int headDim = config.headDim();
        int group = heads / kvHeads;
        int kvDim = kvHeads * headDim;
        int seen = past + 1;
        int first = slidingWindow > 0 ? Math.max(0, seen - slidingWindow) : 0;
        int n = seen - first;
        int blocks = (n + KEY_BLOCK - 1) / KEY_BLOCK;
        int part = headDim + 2; // per block and head: max, sum, unnormalised output [headDim]
        int partials = heads * n; // scratch: scores [heads, n] block by block, then partials [blocks, heads, part]
        int prefetched = partials + blocks * heads * part; // then one float per block that keeps readThrough's loads
        Parallel.forRange(blocks, 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int j0 = b * KEY_BLOCK;
                int len = Math.min(KEY_BLOCK, n - j0);
                int sc = heads * j0; // this block's scores [heads, len]
                // Pull the block's keys and values into cache as two sequential streams first: the per-head passes
                // below stride over the rows (head_dim of every kvDim floats), which the hardware prefetchers follow far
                // worse (SmolLM2 decode profile: attention 2.6 vs 5.4 ms per token, alternating runs, same JVM).
                scratch[prefetched + b] = VectorMath.readThrough(keys, (first + j0) * kvDim, len * kvDim)
                        + VectorMath.readThrough(values, (first + j0) * kvDim, len * kvDim);
                for (int g = 0; g < kvHeads; g++) {
                    int kv = (first + j0) * kvDim + g * headDim;
                    int h;
                    for (h = g * group; h < (g + 1) * group; h++) {
                        VectorMath.dotRows(q, h * headDim, keys, kv, kvDim, len, headDim, scale, scratch, sc + h * len);
                    }
                    for (h = g * group; h < (g + 1) * group; h++) {
                        float m = VectorMath.max(scratch, sc + h * len, len);
                        int p = partials + (b * heads + h) * part;
                        scratch[p] = m;
                        scratch[p + 1] = VectorMath.expShiftedInPlace(scratch, sc + h * len, len, m);
                    }
                    int o = partials + b * heads * part + 2; // + h * part: head h's unnormalised output
                    // The query heads of one key/value head three at a time, so each value row is read once for three.
                    for (h = g * group; h + 3 <= (g + 1) * group; h += 3) {
                        VectorMath.weightedRowSum3(scratch, sc + h * len, sc + (h + 1) * len, sc + (h + 2) * len, values, kv,
                                kvDim, len, headDim, scratch, o + h * part, o + (h + 1) * part, o + (h + 2) * part);
                    }
                    for (; h < (g + 1) * group; h++) {
                        VectorMath.weightedRowSum(scratch, sc + h * len, values, kv, kvDim, len, headDim, scratch, o + h * part);
                    }
                }
            }
        });
        for (int h = 0; h < heads; h++) {
            float m = Float.NEGATIVE_INFINITY;
            for (int b = 0; b < blocks; b++) m = Math.max(m, scratch[partials + (b * heads + h) * part]);
            java.util.Arrays.fill(out, h * headDim, (h + 1) * headDim, 0f);
            float total = 0f;
            for (int b = 0; b < blocks; b++) {
                int p = partials + (b * heads + h) * part;
                float w = (float) Math.exp(scratch[p] - m);
                total += w * scratch[p + 1];
                VectorMath.addScaled(out, h * headDim, scratch, p + 2, headDim, w);
            }
            VectorMath.scale(out, h * headDim, headDim, 1f / total);
        }
    }

    /** Floats of scratch {@link #attendOne} needs for a step that sees {@code past + 1} keys. */
    int decodeScratch(int heads, int past) {
        int n = past + 1;
        int blocks = (n + KEY_BLOCK - 1) / KEY_BLOCK;
        return heads * n + blocks * heads * (config.headDim() + 2) + blocks;
    }
}
