package org.prunelab.model;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.VectorMath;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A Llama-family decoder-only language model (Llama 2/3, SmolLM2, Mistral without sliding window):
 * token embedding, {@code num_hidden_layers} {@link DecoderBlock}s, a final RMSNorm and the LM head
 * (the embedding matrix itself when {@code tie_word_embeddings}). Matches transformers'
 * {@code LlamaForCausalLM} in fp32.
 *
 * <p>Forward passes allocate their activations per call and never mutate the model, so separate calls may
 * run concurrently; {@link DecoderBlock#setLinear} swaps layers between calls.
 */
public final class LlamaModel {
    /** Rows of logits materialised at a time by {@link #tokenNll}: 128 x 49152 floats is 25 MB. */
    private static final int NLL_CHUNK = 128;

    private final LlamaConfig config;
    private final FloatMatrix embedTokens;
    private final List<DecoderBlock> blocks;
    private final RmsNorm norm;
    private final Linear lmHead;
    private final Rope rope;

    private LlamaModel(LlamaConfig config, FloatMatrix embedTokens, List<DecoderBlock> blocks, RmsNorm norm,
                       Linear lmHead, Rope rope) {
        this.config = config;
        this.embedTokens = embedTokens;
        this.blocks = Collections.unmodifiableList(blocks);
        this.norm = norm;
        this.lmHead = lmHead;
        this.rope = rope;
    }

    /**
     * Binds tensors with Hugging Face names to a model, checking every shape against the config.
     * Biases ({@code ...q_proj.bias} etc.) are used when present. {@code lm_head.weight} is used when the
     * config does not tie embeddings; with tied embeddings the LM head is the embedding matrix.
     *
     * @throws PrunelabException.ModelFormat if a tensor is missing or its shape disagrees with the config
     */
    public static LlamaModel fromTensors(LlamaConfig config, TensorLookup tensors) {
        return fromTensors(config, tensors, null);
    }

    /**
     * As {@link #fromTensors(LlamaConfig, TensorLookup)} for a structurally pruned model whose blocks have their
     * own widths ({@code shapes}, one per block, each within the config's widths); null means every block has the
     * config's. A linear stored as two low-rank factors ({@code <prefix>.lowrank_a}, {@code <prefix>.lowrank_b})
     * becomes a {@link LowRankLinear}.
     *
     * @throws PrunelabException.ModelFormat if a tensor is missing or its shape disagrees with the config or shapes
     */
    public static LlamaModel fromTensors(LlamaConfig config, TensorLookup tensors, java.util.List<BlockShape> shapes) {
        int h = config.hiddenSize();
        if (shapes != null && shapes.size() != config.numHiddenLayers()) {
            throw new PrunelabException.ModelFormat("prunelab_layer_sizes lists " + shapes.size() + " blocks but num_hidden_layers is "
                    + config.numHiddenLayers() + "; restore the config.json saved with the model");
        }
        FloatMatrix embed = matrix(tensors, "model.embed_tokens.weight", config.vocabSize(), h);
        Rope rope = new Rope(config);
        Attention attention = new Attention(config, rope);
        List<DecoderBlock> blocks = new ArrayList<>(config.numHiddenLayers());
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            BlockShape s = shapes == null ? BlockShape.of(config) : shapes.get(i);
            if (!s.fitsIn(config)) {
                throw new PrunelabException.ModelFormat("block " + i + " has shape " + s + ", wider than the config; "
                        + "restore the config.json saved with the model");
            }
            int qDim = s.numAttentionHeads() * config.headDim();
            int kvDim = s.numKeyValueHeads() * config.headDim();
            int width = s.intermediateSize();
            var linears = new DecoderBlock.Linears(
                    linear(tensors, p + "self_attn.q_proj", qDim, h),
                    linear(tensors, p + "self_attn.k_proj", kvDim, h),
                    linear(tensors, p + "self_attn.v_proj", kvDim, h),
                    linear(tensors, p + "self_attn.o_proj", h, qDim),
                    linear(tensors, p + "mlp.gate_proj", width, h),
                    linear(tensors, p + "mlp.up_proj", width, h),
                    linear(tensors, p + "mlp.down_proj", h, width));
            blocks.add(new DecoderBlock(i,
                    new RmsNorm(vector(tensors, p + "input_layernorm.weight", h), config.rmsNormEps()),
                    new RmsNorm(vector(tensors, p + "post_attention_layernorm.weight", h), config.rmsNormEps()),
                    attention, linears));
        }
        RmsNorm norm = new RmsNorm(vector(tensors, "model.norm.weight", h), config.rmsNormEps());
        Linear lmHead = config.tieWordEmbeddings()
                ? new DenseLinear(embed, null)
                : new DenseLinear(matrix(tensors, "lm_head.weight", config.vocabSize(), h), null);
        return new LlamaModel(config, embed, blocks, norm, lmHead, rope);
    }

    public LlamaConfig config() { return config; }

    /**
     * A model sharing this one's embeddings, final norm, LM head and RoPE but with other blocks, e.g. fewer
     * (ShortGPT) or physically smaller ones (structured pruning). Block i must have index i; every block's widths
     * must fit within {@code config}'s, which sizes the forward buffers and KV caches.
     *
     * @param config the new model's config (same hidden_size, head_dim and vocabulary; num_hidden_layers = blocks)
     * @throws PrunelabException.InvalidArgument if the blocks do not match the config
     */
    public LlamaModel withBlocks(LlamaConfig config, List<DecoderBlock> blocks) {
        if (config.hiddenSize() != this.config.hiddenSize() || config.headDim() != this.config.headDim()
                || config.vocabSize() != this.config.vocabSize() || config.numHiddenLayers() != blocks.size()) {
            throw new PrunelabException.InvalidArgument("config " + config + " does not fit " + blocks.size()
                    + " blocks of a model with hidden_size " + this.config.hiddenSize());
        }
        for (int i = 0; i < blocks.size(); i++) {
            DecoderBlock b = blocks.get(i);
            if (b.index() != i || !b.shape().fitsIn(config)) {
                throw new PrunelabException.InvalidArgument("block at position " + i + " has index " + b.index()
                        + " and shape " + b.shape() + "; it must have index " + i + " and fit " + config);
            }
        }
        return new LlamaModel(config, embedTokens, new ArrayList<>(blocks), norm, lmHead, rope);
    }

    /** The embedding matrix {@code [vocab, hidden]} (not a copy). */
    public FloatMatrix embedTokens() { return embedTokens; }

    /** The decoder blocks, in order (the list is fixed; the blocks' linears can be swapped). */
    public List<DecoderBlock> blocks() { return blocks; }

    public DecoderBlock block(int layer) { return blocks.get(layer); }

    /** The final RMSNorm before the LM head. */
    public RmsNorm norm() { return norm; }

    /** The LM head {@code [vocab, hidden]}; shares its weight with the embedding when tied. */
    public Linear lmHead() { return lmHead; }

    public Rope rope() { return rope; }

    /**
     * Next-token logits at every position, as transformers' {@code LlamaForCausalLM(...).logits}.
     *
     * @param tokens token ids, positions 0..T-1
     * @return row-major {@code [T, vocab]}
     * @throws PrunelabException.InvalidArgument for an empty input, an id outside the vocabulary, or
     *         T x vocab beyond one array (use {@link #tokenNll} for long inputs)
     */
    public float[] logits(int[] tokens) {
        int t = tokens.length;
        if ((long) t * config.vocabSize() > Integer.MAX_VALUE - 8) {
            throw new PrunelabException.InvalidArgument(t + " x " + config.vocabSize()
                    + " logits do not fit one array; use tokenNll for perplexity or split the input");
        }
        float[] hidden = hiddenAfterBlocks(tokens);
        norm.forward(hidden, t, hidden);
        float[] logits = new float[t * config.vocabSize()];
        lmHead.forward(hidden, t, logits);
        return logits;
    }

    /**
     * Cross-entropy of each next token: entry i is {@code -log softmax(logits[i])[tokens[i + 1]]} in nats.
     * Logits are computed {@value #NLL_CHUNK} rows at a time, never all T x vocab at once.
     *
     * @return {@code [T - 1]} values (empty for T = 1)
     */
    public double[] tokenNll(int[] tokens) {
        int t = tokens.length;
        int h = config.hiddenSize();
        int vocab = config.vocabSize();
        float[] hidden = hiddenAfterBlocks(tokens);
        norm.forward(hidden, t, hidden);
        double[] nll = new double[Math.max(0, t - 1)];
        int chunk = Math.min(NLL_CHUNK, Math.max(1, t - 1));
        float[] rows = new float[chunk * h];
        float[] logits = new float[chunk * vocab];
        for (int r0 = 0; r0 < t - 1; r0 += chunk) {
            int n = Math.min(chunk, t - 1 - r0);
            int first = r0;
            System.arraycopy(hidden, r0 * h, rows, 0, n * h);
            lmHead.forward(rows, n, logits);
            Parallel.forRange(n, 8, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int target = tokens[first + r + 1];
                    nll[first + r] = VectorMath.logSumExp(logits, r * vocab, vocab) - logits[r * vocab + target];
                }
            });
        }
        return nll;
    }

    /** Embedding rows of the tokens: {@code [T, hidden]}, the input of block 0. */
    public float[] embed(int[] tokens) {
        if (tokens.length == 0) throw new PrunelabException.InvalidArgument("no tokens to run; pass at least one");
        int h = config.hiddenSize();
        float[] hidden = new float[tokens.length * h];
        for (int i = 0; i < tokens.length; i++) {
            int id = tokens[i];
            if (id < 0 || id >= config.vocabSize()) {
                throw new PrunelabException.InvalidArgument("token id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + config.vocabSize() + "); is the tokenizer the model's own?");
            }
            System.arraycopy(embedTokens.data(), id * h, hidden, i * h, h);
        }
        return hidden;
    }

    /**
     * Runs block {@code layer} in place on hidden states {@code [tokens, hidden]} whose rows are at positions
     * {@code startPos, startPos + 1, ...}, attending causally within these tokens only (no cache). Reports
     * each linear's input to {@code observer} if not null. This is pruning's calibration step.
     */
    public void runBlock(int layer, float[] hidden, int tokens, int startPos, LinearInputObserver observer) {
        checkHidden(hidden, tokens);
        blocks.get(layer).forward(hidden, tokens, rope.table(startPos, tokens), 0, null, null,
                new ForwardBuffers(config, tokens), observer);
    }

    /**
     * Runs {@code block} (not necessarily one of this model's, e.g. a freshly pruned replacement for block
     * {@code block.index()}) in place on hidden states {@code [tokens, hidden]} at positions {@code startPos, ...},
     * with this model's RoPE and buffers sized by its config, as {@link #runBlock(int, float[], int, int,
     * LinearInputObserver)} does for its own blocks.
     *
     * @throws PrunelabException.InvalidArgument if the block's widths exceed this model's config
     */
    public void runBlock(DecoderBlock block, float[] hidden, int tokens, int startPos, LinearInputObserver observer) {
        checkHidden(hidden, tokens);
        if (!block.shape().fitsIn(config)) {
            throw new PrunelabException.InvalidArgument("block " + block.index() + " has shape " + block.shape()
                    + ", wider than the model's config " + config);
        }
        block.forward(hidden, tokens, rope.table(startPos, tokens), 0, null, null, new ForwardBuffers(config, tokens), observer);
    }

    /** Applies the final RMSNorm in place to hidden states {@code [tokens, hidden]}. */
    public void applyFinalNorm(float[] hidden, int tokens) {
        checkHidden(hidden, tokens);
        norm.forward(hidden, tokens, hidden);
    }

    /**
     * A KV cache for one sequence of up to {@code maxTokens} tokens (prompt plus generated).
     *
     * @throws PrunelabException.InvalidArgument if maxTokens is not positive
     */
    public KvCache newCache(int maxTokens) {
        return new KvCache(config, maxTokens);
    }

    /**
     * Runs {@code tokens} after those already in the cache, stores their keys and values, and returns the
     * logits {@code [vocab]} for the token that follows the last one.
     *
     * @throws PrunelabException.InvalidArgument if the cache has no room for them
     */
    public float[] prefill(int[] tokens, KvCache cache) {
        int t = tokens.length;
        cache.checkRoom(t);
        ForwardBuffers buf = t == 1 ? cache.decodeBuffers() : new ForwardBuffers(config, t);
        float[] hidden = embed(tokens);
        int past = cache.length();
        Rope.Table angles = rope.table(past, t);
        for (DecoderBlock block : blocks) {
            block.forward(hidden, t, angles, past, cache.keys(block.index()), cache.values(block.index()), buf, null);
        }
        cache.advance(t);
        int h = config.hiddenSize();
        float[] last = new float[h];
        System.arraycopy(hidden, (t - 1) * h, last, 0, h);
        norm.forward(last, 1, last);
        float[] logits = new float[config.vocabSize()];
        lmHead.forward(last, 1, logits);
        return logits;
    }

    /** One decoding step: feeds {@code token} at position {@code cache.length()}, returns logits {@code [vocab]}. */
    public float[] decode(int token, KvCache cache) {
        return prefill(new int[]{token}, cache);
    }

    private float[] hiddenAfterBlocks(int[] tokens) {
        int t = tokens.length;
        float[] hidden = embed(tokens);
        ForwardBuffers buf = new ForwardBuffers(config, t);
        Rope.Table angles = rope.table(0, t);
        for (DecoderBlock block : blocks) block.forward(hidden, t, angles, 0, null, null, buf, null);
        return hidden;
    }

    private void checkHidden(float[] hidden, int tokens) {
        if (tokens < 1 || hidden.length < (long) tokens * config.hiddenSize()) {
            throw new PrunelabException.InvalidArgument("hidden states hold " + hidden.length + " floats, fewer than "
                    + tokens + " tokens x hidden_size " + config.hiddenSize());
        }
    }

    private static FloatMatrix matrix(TensorLookup tensors, String name, int rows, int cols) {
        if (!tensors.has(name)) {
            throw new PrunelabException.ModelFormat("tensor " + name + " is missing; the file is not a complete "
                    + "Llama checkpoint or its config does not match it");
        }
        FloatMatrix m = tensors.matrix(name);
        if (m.rows() != rows || m.cols() != cols) {
            throw new PrunelabException.ModelFormat("tensor " + name + " has shape [" + m.rows() + ", " + m.cols()
                    + "] but the config implies [" + rows + ", " + cols + "]; config and weights do not belong together");
        }
        return m;
    }

    private static float[] vector(TensorLookup tensors, String name, int length) {
        if (!tensors.has(name)) {
            throw new PrunelabException.ModelFormat("tensor " + name + " is missing; the file is not a complete "
                    + "Llama checkpoint or its config does not match it");
        }
        float[] v = tensors.vector(name);
        if (v.length != length) {
            throw new PrunelabException.ModelFormat("tensor " + name + " has " + v.length
                    + " entries but the config implies " + length + "; config and weights do not belong together");
        }
        return v;
    }

    private static Linear linear(TensorLookup tensors, String prefix, int out, int in) {
        if (!tensors.has(prefix + ".weight") && tensors.has(prefix + ".lowrank_a")) {
            FloatMatrix a = tensors.matrix(prefix + ".lowrank_a");
            FloatMatrix b = tensors.matrix(prefix + ".lowrank_b");
            if (a.cols() != in || b.rows() != out || a.rows() != b.cols()) {
                throw new PrunelabException.ModelFormat("low-rank factors of " + prefix + " are [" + a.rows() + ", " + a.cols()
                        + "] and [" + b.rows() + ", " + b.cols() + "] but the config implies a [" + out + ", " + in + "] layer");
            }
            return new LowRankLinear(a, b);
        }
        FloatMatrix w = matrix(tensors, prefix + ".weight", out, in);
        float[] b = tensors.has(prefix + ".bias") ? vector(tensors, prefix + ".bias", out) : null;
        return new DenseLinear(w, b);
    }
}
