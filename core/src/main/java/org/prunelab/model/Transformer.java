package org.prunelab.model;

import org.prunelab.tensor.Linear;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.VectorMath;

import org.prunelab.io.TensorLookup;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The decoder-only transformer every registered family runs on ({@link DecoderModel}): token embedding (scaled where
 * the family scales it), {@code num_hidden_layers} {@link DecoderBlock}s, a final RMSNorm and the LM head (the
 * embedding matrix itself when {@code tie_word_embeddings}), with the family's departures from Llama taken from
 * {@link DecoderConfig.Variant}. Matches transformers' {@code LlamaForCausalLM}, {@code Qwen2ForCausalLM} and
 * {@code Gemma3ForCausalLM} in fp32 (fixture tests per family).
 *
 * <p>Forward passes allocate their activations per call and never mutate the model, so separate calls may
 * run concurrently; {@link DecoderBlock#setLinear} swaps layers between calls.
 */
public final class Transformer implements DecoderModel {
    /** Logits materialised at a time by {@link #tokenNll}: 128 x 49152 floats is 25 MB. */
    private static final long NLL_CHUNK_FLOATS = 128L * 49152;

    private final DecoderConfig config;
    private final FloatMatrix embedTokens;
    private final List<DecoderBlock> blocks;
    private final RmsNorm norm;
    private volatile Linear lmHead;

    private Transformer(DecoderConfig config, FloatMatrix embedTokens, List<DecoderBlock> blocks, RmsNorm norm,
                        Linear lmHead) {
        this.config = config;
        this.embedTokens = embedTokens;
        this.blocks = Collections.unmodifiableList(blocks);
        this.norm = norm;
        this.lmHead = lmHead;
    }

    /**
     * Binds tensors with Hugging Face names ({@code names}, the family's) to a model, checking every shape against
     * the config. Biases ({@code <linear>.bias}) are used when present. The LM head is {@code names.lmHead()} when the
     * config does not tie embeddings, else the embedding matrix. Norm weights are taken as the gains the forward pass
     * multiplies by (a family that stores {@code w} for a gain of {@code 1 + w}, Gemma, is converted by its
     * architecture before this). Blocks of a structurally pruned model have their own widths ({@code shapes}, one
     * per block, each within the config's widths); null means every block has the config's. A linear stored as two
     * low-rank factors ({@code <linear>.lowrank_a}, {@code <linear>.lowrank_b}) becomes a {@link LowRankLinear}.
     *
     * @throws PrunelabException.ModelFormat if a tensor is missing or its shape disagrees with the config or shapes
     */
    public static Transformer fromTensors(DecoderConfig config, TensorLookup tensors, List<BlockShape> shapes,
                                          TensorNames names, BlockLayout layout) {
        return fromTensors(config, tensors, shapes, names, layout, null);
    }

    /**
     * As {@link #fromTensors(DecoderConfig, TensorLookup, List, TensorNames, BlockLayout)}, but with
     * {@code residency} not null the model is <em>streamed</em>: each block's linears are read from {@code tensors}
     * (dequantised to fp32) only when a pass needs them and dropped again under {@code residency}'s bound
     * ({@link DecoderBlock#isStreamed()}), the stored bytes of each tensor read are released from the resident set
     * ({@link TensorLookup#evict}), and an untied LM head is read on its first use. The embedding and the norms are
     * read now. {@code tensors} must stay open as long as the model is used.
     *
     * @throws PrunelabException.ModelFormat if a tensor read now is missing or has the wrong shape (a streamed block's
     *         linears are checked against the file's header by {@link #checkShapes} and again when read)
     */
    public static Transformer fromTensors(DecoderConfig config, TensorLookup tensors, List<BlockShape> shapes,
                                          TensorNames names, BlockLayout layout, BlockResidency residency) {
        int h = config.hiddenSize();
        if (shapes != null && shapes.size() != config.numHiddenLayers()) {
            throw new PrunelabException.ModelFormat("prunelab_layer_sizes lists " + shapes.size() + " blocks but num_hidden_layers is "
                    + config.numHiddenLayers() + "; restore the config.json saved with the model");
        }
        FloatMatrix embed = matrix(tensors, names.embedTokens(), config.vocabSize(), h);
        if (residency != null) tensors.evict(names.embedTokens());
        DecoderConfig.Variant variant = config.variant();
        Attention global = new Attention(config, new Rope(config), 0);
        Attention local = null;
        for (int i = 0; i < config.numHiddenLayers() && local == null; i++) {
            if (config.isSliding(i)) {
                local = new Attention(config, new Rope(config.headDim(), variant.ropeLocalTheta(), null), variant.slidingWindow());
            }
        }
        Mlp mlp = new Mlp(variant.activation());
        List<DecoderBlock> blocks = new ArrayList<>(config.numHiddenLayers());
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            BlockShape s = shapes == null ? BlockShape.of(config) : shapes.get(i);
            if (!s.fitsIn(config)) {
                throw new PrunelabException.ModelFormat("block " + i + " has shape " + s + ", wider than the config; "
                        + "restore the config.json saved with the model");
            }
            int[][] dims = linearDims(config, s);
            int layer = i;
            java.util.function.Supplier<Linear[]> read = () -> {
                Linear[] linears = new Linear[LinearRole.values().length];
                for (LinearRole role : LinearRole.values()) {
                    int[] d = dims[role.ordinal()];
                    linears[role.ordinal()] = linear(tensors, names.linear(layer, role), d[0], d[1]);
                    if (residency != null) {
                        for (String suffix : List.of(".weight", ".bias", ".lowrank_a", ".lowrank_b")) {
                            tensors.evict(names.linear(layer, role) + suffix);
                        }
                    }
                }
                return linears;
            };
            Map<NormRole, RmsNorm> norms = new EnumMap<>(NormRole.class);
            for (NormRole role : normRoles(variant)) {
                int length = role == NormRole.QUERY || role == NormRole.KEY ? config.headDim() : h;
                norms.put(role, new RmsNorm(vector(tensors, names.norm(i, role), length), config.rmsNormEps()));
            }
            Attention attention = config.isSliding(i) ? local : global;
            if (residency == null) {
                blocks.add(new DecoderBlock(i, layout, norms, attention, mlp, read.get()));
            } else {
                long params = 0;
                for (LinearRole role : LinearRole.values()) {
                    int[] d = dims[role.ordinal()];
                    params += (long) d[0] * d[1] + (tensors.has(names.linear(i, role) + ".bias") ? d[0] : 0);
                }
                DecoderBlock.LinearTotals sizes = new DecoderBlock.LinearTotals(params, -1, params * Float.BYTES);
                blocks.add(DecoderBlock.streamed(i, layout, norms, attention, mlp, s, sizes, read, residency));
            }
        }
        String beyond = names.linear(config.numHiddenLayers(), LinearRole.Q) + ".weight";
        if (tensors.has(beyond)) {
            // Blocks past num_hidden_layers would be silently ignored, and the model would compute nonsense.
            throw new PrunelabException.ModelFormat("the checkpoint has tensors of more blocks than num_hidden_layers ("
                    + config.numHiddenLayers() + "), e.g. " + beyond + "; config and weights do not belong together:"
                    + " restore the config.json saved with the model");
        }
        RmsNorm norm = new RmsNorm(vector(tensors, names.finalNorm(), h), config.rmsNormEps());
        Linear lmHead = config.tieWordEmbeddings() ? new DenseLinear(embed, null)
                : residency == null ? new DenseLinear(matrix(tensors, names.lmHead(), config.vocabSize(), h), null)
                : new DeferredLinear(config.vocabSize(), h, () -> {
                    DenseLinear head = new DenseLinear(matrix(tensors, names.lmHead(), config.vocabSize(), h), null);
                    tensors.evict(names.lmHead());
                    return head;
                });
        return new Transformer(config, embed, blocks, norm, lmHead);
    }

    /** {@code [out, in]} of each linear of a block of shape {@code s}, indexed by {@link LinearRole#ordinal()}. */
    private static int[][] linearDims(DecoderConfig config, BlockShape s) {
        int h = config.hiddenSize();
        int qDim = s.numAttentionHeads() * config.headDim();
        int kvDim = s.numKeyValueHeads() * config.headDim();
        int width = s.intermediateSize();
        int[][] d = new int[LinearRole.values().length][];
        d[LinearRole.Q.ordinal()] = new int[]{qDim, h};
        d[LinearRole.K.ordinal()] = new int[]{kvDim, h};
        d[LinearRole.V.ordinal()] = new int[]{kvDim, h};
        d[LinearRole.O.ordinal()] = new int[]{h, qDim};
        d[LinearRole.GATE.ordinal()] = new int[]{width, h};
        d[LinearRole.UP.ordinal()] = new int[]{width, h};
        d[LinearRole.DOWN.ordinal()] = new int[]{h, width};
        return d;
    }

    /**
     * Checks the shapes the file's header gives for the embedding, the LM head and every linear's weight against
     * {@code config} (and per-block {@code shapes}, null for uniform), without reading any tensor data, so a config
     * that disagrees with its weights is refused before seconds of loading. Tensors whose shape the source cannot
     * tell, and low-rank factors, are left to {@link #fromTensors}.
     *
     * @throws PrunelabException.ModelFormat naming the first tensor whose shape disagrees, with both shapes
     */
    public static void checkShapes(DecoderConfig config, TensorLookup tensors, List<BlockShape> shapes, TensorNames names) {
        int h = config.hiddenSize();
        checkShape(tensors, names.embedTokens(), config.vocabSize(), h);
        if (!config.tieWordEmbeddings()) checkShape(tensors, names.lmHead(), config.vocabSize(), h);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            BlockShape s = shapes == null || shapes.size() != config.numHiddenLayers() ? BlockShape.of(config) : shapes.get(i);
            int[][] dims = linearDims(config, s);
            for (LinearRole role : LinearRole.values()) {
                checkShape(tensors, names.linear(i, role) + ".weight", dims[role.ordinal()][0], dims[role.ordinal()][1]);
            }
        }
    }

    private static void checkShape(TensorLookup tensors, String name, int rows, int cols) {
        long[] shape = tensors.shape(name).orElse(null);
        if (shape == null) return;
        if (shape.length != 2 || shape[0] != rows || shape[1] != cols) {
            throw new PrunelabException.ModelFormat("tensor " + name + " has shape " + java.util.Arrays.toString(shape)
                    + " but the config implies [" + rows + ", " + cols + "]; config and weights do not belong together");
        }
    }

    /** The norms a block of this variant has, in block order. */
    public static List<NormRole> normRoles(DecoderConfig.Variant variant) {
        List<NormRole> roles = new ArrayList<>();
        roles.add(NormRole.ATTENTION_INPUT);
        if (variant.qkNorm()) {
            roles.add(NormRole.QUERY);
            roles.add(NormRole.KEY);
        }
        if (variant.sandwichNorms()) roles.add(NormRole.ATTENTION_OUTPUT);
        roles.add(NormRole.MLP_INPUT);
        if (variant.sandwichNorms()) roles.add(NormRole.MLP_OUTPUT);
        return roles;
    }

    @Override
    public DecoderConfig config() { return config; }

    /**
     * A model sharing this one's embeddings, final norm, LM head and RoPE but with other blocks, e.g. fewer
     * (ShortGPT) or physically smaller ones (structured pruning). Block i must have index i; every block's widths
     * must fit within {@code config}'s, which sizes the forward buffers and KV caches.
     *
     * @param config the new model's config (same hidden_size, head_dim and vocabulary; num_hidden_layers = blocks)
     * @throws PrunelabException.InvalidArgument if the blocks do not match the config
     */
    @Override
    public Transformer withBlocks(DecoderConfig config, List<DecoderBlock> blocks) {
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
        return new Transformer(config, embedTokens, new ArrayList<>(blocks), norm, lmHead);
    }

    @Override
    public FloatMatrix embedTokens() { return embedTokens; }

    @Override
    public List<DecoderBlock> blocks() { return blocks; }

    @Override
    public RmsNorm norm() { return norm; }

    @Override
    public Linear lmHead() { return lmHead; }

    @Override
    public void setLmHead(Linear replacement) {
        if (replacement.inFeatures() != lmHead.inFeatures() || replacement.outFeatures() != lmHead.outFeatures()) {
            throw new PrunelabException.InvalidArgument("the LM head is [" + lmHead.outFeatures() + ", "
                    + lmHead.inFeatures() + "] but the replacement is [" + replacement.outFeatures() + ", "
                    + replacement.inFeatures() + "]; a replacement must keep the shape");
        }
        lmHead = replacement;
    }

    @Override
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
        softcap(logits, t * config.vocabSize());
        return logits;
    }

    @Override
    public double[] tokenNll(int[] tokens) {
        return tokenNllAfterBlocks(hiddenAfterBlocks(tokens), tokens);
    }

    @Override
    public double[] tokenNllAfterBlocks(float[] hidden, int[] tokens) {
        int t = tokens.length;
        int h = config.hiddenSize();
        int vocab = config.vocabSize();
        checkHidden(hidden, t);
        norm.forward(hidden, t, hidden);
        double[] nll = new double[Math.max(0, t - 1)];
        // About 25 MB of logits at a time: 128 rows of SmolLM2's 49k vocabulary, 24 of Gemma's 262k.
        int chunk = (int) Math.max(1, Math.min(Math.max(1, t - 1), NLL_CHUNK_FLOATS / vocab));
        float[] rows = new float[chunk * h];
        float[] logits = new float[chunk * vocab];
        for (int r0 = 0; r0 < t - 1; r0 += chunk) {
            int n = Math.min(chunk, t - 1 - r0);
            int first = r0;
            System.arraycopy(hidden, r0 * h, rows, 0, n * h);
            lmHead.forward(rows, n, logits);
            softcap(logits, n * vocab);
            Parallel.forRange(n, 8, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int target = tokens[first + r + 1];
                    nll[first + r] = VectorMath.logSumExp(logits, r * vocab, vocab) - logits[r * vocab + target];
                }
            });
        }
        return nll;
    }

    @Override
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
        double scale = config.variant().embeddingScale();
        if (scale != 1.0) {
            // As transformers' scaled embedding: the scale is a float32 tensor multiplied in float32.
            float s = (float) scale;
            for (int i = 0; i < hidden.length; i++) hidden[i] *= s;
        }
        return hidden;
    }

    @Override
    public void runBlock(DecoderBlock block, float[] hidden, int tokens, int startPos, LinearInputObserver observer) {
        checkHidden(hidden, tokens);
        if (!block.shape().fitsIn(config)) {
            throw new PrunelabException.InvalidArgument("block " + block.index() + " has shape " + block.shape()
                    + ", wider than the model's config " + config);
        }
        runBlock(block, hidden, tokens, startPos, observer, newScratch(tokens));
    }

    @Override
    public BlockScratch newScratch(int tokens) {
        return new BlockScratch(config, tokens);
    }

    @Override
    public void runBlock(DecoderBlock block, float[] hidden, int tokens, int startPos, LinearInputObserver observer,
                         BlockScratch scratch) {
        checkHidden(hidden, tokens);
        if (scratch.tokens() != tokens) {
            throw new IllegalArgumentException("scratch holds " + scratch.tokens() + " rows, the call runs " + tokens);
        }
        if (!block.shape().fitsIn(config)) {
            throw new PrunelabException.InvalidArgument("block " + block.index() + " has shape " + block.shape()
                    + ", wider than the model's config " + config);
        }
        block.forward(hidden, tokens, new PositionAngles(startPos, tokens), 0, null, null, scratch.buffers, observer);
    }

    @Override
    public void applyFinalNorm(float[] hidden, int tokens) {
        checkHidden(hidden, tokens);
        norm.forward(hidden, tokens, hidden);
    }

    @Override
    public KvCache newCache(int maxTokens) {
        return new KvCache(config, maxTokens);
    }

    @Override
    public float[] prefill(int[] tokens, KvCache cache) {
        int t = tokens.length;
        float[] hidden = cachedHidden(tokens, cache);
        int h = config.hiddenSize();
        float[] last = new float[h];
        System.arraycopy(hidden, (t - 1) * h, last, 0, h);
        norm.forward(last, 1, last);
        float[] logits = new float[config.vocabSize()];
        lmHead.forward(last, 1, logits);
        softcap(logits, logits.length);
        return logits;
    }

    @Override
    public float[] prefillLogits(int[] tokens, KvCache cache) {
        int t = tokens.length;
        if ((long) t * config.vocabSize() > Integer.MAX_VALUE - 8) {
            throw new PrunelabException.InvalidArgument(t + " x " + config.vocabSize()
                    + " logits do not fit one array; prefill fewer tokens at a time");
        }
        float[] hidden = cachedHidden(tokens, cache);
        norm.forward(hidden, t, hidden);
        float[] logits = new float[t * config.vocabSize()];
        lmHead.forward(hidden, t, logits);
        softcap(logits, logits.length);
        return logits;
    }

    /** Runs {@code tokens} after the cached ones through every block, storing their keys and values: {@code [t, hidden]}. */
    private float[] cachedHidden(int[] tokens, KvCache cache) {
        int t = tokens.length;
        cache.checkRoom(t);
        ForwardBuffers buf = t == 1 ? cache.decodeBuffers() : new ForwardBuffers(config, t);
        float[] hidden = embed(tokens);
        int past = cache.length();
        PositionAngles angles = new PositionAngles(past, t);
        for (DecoderBlock block : blocks) {
            block.forward(hidden, t, angles, past, cache.keys(block.index()), cache.values(block.index()), buf, null);
        }
        cache.advance(t);
        return hidden;
    }

    private float[] hiddenAfterBlocks(int[] tokens) {
        int t = tokens.length;
        float[] hidden = embed(tokens);
        ForwardBuffers buf = new ForwardBuffers(config, t);
        PositionAngles angles = new PositionAngles(0, t);
        for (DecoderBlock block : blocks) block.forward(hidden, t, angles, 0, null, null, buf, null);
        return hidden;
    }

    /** {@code x = cap * tanh(x / cap)} on the first n logits where the family caps them (Gemma 2). */
    private void softcap(float[] logits, int n) {
        double cap = config.variant().finalLogitSoftcap();
        if (cap <= 0) return;
        for (int i = 0; i < n; i++) logits[i] = (float) (cap * Math.tanh(logits[i] / cap));
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
                    + "checkpoint of its family or its config does not match it");
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
                    + "checkpoint of its family or its config does not match it");
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
