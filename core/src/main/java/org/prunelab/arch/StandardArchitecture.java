package org.prunelab.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.io.GgufFile;
import org.prunelab.io.GgufMetadata;
import org.prunelab.io.GgufTensorSource;
import org.prunelab.io.GgufValueType;
import org.prunelab.io.SafetensorsWriter;
import org.prunelab.io.TensorLookup;
import org.prunelab.model.BlockLayout;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LowRankLinear;
import org.prunelab.model.BlockShape;
import org.prunelab.model.ModelShape;
import org.prunelab.model.NormRole;
import org.prunelab.model.RmsNorm;
import org.prunelab.model.TensorNames;
import org.prunelab.model.Transformer;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The machinery the Llama-like families share, so that each family's file states only what differs: Hugging Face
 * names {@code model.embed_tokens}, {@code model.layers.N.self_attn.<q,k,v,o>_proj}, {@code model.layers.N.mlp.
 * <gate,up,down>_proj}, {@code model.norm}, {@code lm_head}, with the family's norm names ({@link #hfNormStem}); GGUF
 * names as llama.cpp's {@code convert_hf_to_gguf.py} writes them for every such family ({@code token_embd},
 * {@code blk.N.attn_q}, ..., {@code blk.N.attn_norm}, {@code ffn_norm}, {@code post_attention_norm},
 * {@code post_ffw_norm}, {@code attn_q_norm}, {@code attn_k_norm}, {@code output_norm}, {@code output}); GGUF metadata
 * keys {@code <arch>.embedding_length} etc. (transformers' {@code integrations/ggml.py} reads the same); and the
 * config keys all of them have.
 */
public abstract class StandardArchitecture implements Architecture {
    /** The linears' Hugging Face names, the same in every Llama-like family. */
    public static final BlockLayout LAYOUT = new BlockLayout(Map.of(
            LinearRole.Q, "q_proj", LinearRole.K, "k_proj", LinearRole.V, "v_proj", LinearRole.O, "o_proj",
            LinearRole.GATE, "gate_proj", LinearRole.UP, "up_proj", LinearRole.DOWN, "down_proj"));

    private static final Map<LinearRole, String> HF_LINEAR = new EnumMap<>(Map.of(
            LinearRole.Q, "self_attn.q_proj", LinearRole.K, "self_attn.k_proj", LinearRole.V, "self_attn.v_proj",
            LinearRole.O, "self_attn.o_proj", LinearRole.GATE, "mlp.gate_proj", LinearRole.UP, "mlp.up_proj",
            LinearRole.DOWN, "mlp.down_proj"));
    static final Map<LinearRole, String> GGUF_LINEAR = new EnumMap<>(Map.of(
            LinearRole.Q, "attn_q", LinearRole.K, "attn_k", LinearRole.V, "attn_v", LinearRole.O, "attn_output",
            LinearRole.GATE, "ffn_gate", LinearRole.UP, "ffn_up", LinearRole.DOWN, "ffn_down"));
    static final Map<NormRole, String> GGUF_NORM = new EnumMap<>(Map.of(
            NormRole.ATTENTION_INPUT, "attn_norm", NormRole.ATTENTION_OUTPUT, "post_attention_norm",
            NormRole.MLP_INPUT, "ffn_norm", NormRole.MLP_OUTPUT, "post_ffw_norm",
            NormRole.QUERY, "attn_q_norm", NormRole.KEY, "attn_k_norm"));

    private final TensorNames names = new TensorNames() {
        @Override public String embedTokens() { return "model.embed_tokens.weight"; }
        @Override public String finalNorm() { return "model.norm.weight"; }
        @Override public String lmHead() { return "lm_head.weight"; }
        @Override public String linear(int layer, LinearRole role) { return "model.layers." + layer + "." + HF_LINEAR.get(role); }
        @Override public String norm(int layer, NormRole role) { return "model.layers." + layer + "." + hfNormStem(role) + ".weight"; }
    };

    @Override
    public BlockLayout layout() { return LAYOUT; }

    @Override
    public TensorNames hfNames() { return names; }

    /** The family's Hugging Face name of norm {@code role} within a block, without {@code .weight}. */
    protected abstract String hfNormStem(NormRole role);

    /**
     * Whether llama.cpp's converter reorders q/k rows for its interleaved RoPE (Llama: yes, {@code LlamaModel.permute};
     * the NEOX-RoPE families Qwen2 and Gemma: no).
     */
    protected abstract boolean ggufPermutesQK();

    /**
     * What the family's Hugging Face norm weights are offset by: the forward multiplies by {@code w + offset}
     * (Gemma: 1, {@code Gemma3RMSNorm}'s {@code 1 + weight}; others 0). llama.cpp's converter stores the gain itself.
     */
    protected double hfNormOffset() { return 0; }

    /** GGUF RoPE scaling of the global layers ({@code <arch>.rope.scaling.*}; Llama 3's baked factors refused). */
    protected static DecoderConfig.RopeScaling ggufScaling(GgufFile gguf, String prefix) {
        return ggufRopeScaling(gguf, prefix);
    }

    /** The block variant a config.json describes (Llama's by default). */
    protected DecoderConfig.Variant readHfVariant(HfConfig.Reader r, int numHiddenLayers) { return DecoderConfig.Variant.LLAMA; }

    /** The block variant GGUF metadata describes (prefix {@code <arch>.}). */
    protected DecoderConfig.Variant readGgufVariant(GgufMetadata md, String prefix, int numHiddenLayers) {
        return DecoderConfig.Variant.LLAMA;
    }

    /** Writes the family's own keys (RoPE, activation, biases, variant) into {@code o}. */
    protected abstract void writeHfKeys(ObjectNode o, DecoderConfig c, HfConfig.Export export);

    /** Default {@code tie_word_embeddings} when config.json does not say (transformers' config class default). */
    protected boolean defaultTieWordEmbeddings() { return false; }

    /** Default {@code rms_norm_eps}. */
    protected double defaultRmsNormEps() { return 1e-6; }

    /** Default {@code rope_theta}. */
    protected double defaultRopeTheta() { return 10000.0; }

    /** Default {@code max_position_embeddings}. */
    protected int defaultMaxPositionEmbeddings() { return 2048; }

    /** Default {@code bos_token_id}. */
    protected int defaultBosTokenId() { return 1; }

    /** Default {@code eos_token_id}. */
    protected int defaultEosTokenId() { return 2; }

    @Override
    public DecoderConfig readHfConfig(HfConfig.Reader r) {
        int hidden = r.requiredInt("hidden_size");
        int intermediate = r.requiredInt("intermediate_size");
        int layers = r.requiredInt("num_hidden_layers");
        int heads = r.requiredInt("num_attention_heads");
        checkCounts(r.source(), "num_hidden_layers", layers, "num_attention_heads", heads, "Restore the config.json saved with the model.");
        var ropeParameters = r.root().path("rope_parameters");
        var globalRope = ropeParameters.has(DecoderConfig.Variant.FULL_ATTENTION)
                ? ropeParameters.get(DecoderConfig.Variant.FULL_ATTENTION) : ropeParameters;
        var scaling = r.root().hasNonNull("rope_scaling") ? r.root().get("rope_scaling") : globalRope;
        return new DecoderConfig(
                name(),
                hidden,
                intermediate,
                layers,
                heads,
                r.optionalInt("num_key_value_heads", heads),
                r.optionalInt("head_dim", hidden / heads),
                r.requiredInt("vocab_size"),
                r.optionalInt("max_position_embeddings", defaultMaxPositionEmbeddings()),
                r.optionalDouble("rms_norm_eps", defaultRmsNormEps()),
                r.ropeTheta(globalRope, defaultRopeTheta()),
                r.ropeScaling(scaling),
                r.optionalBoolean("tie_word_embeddings", defaultTieWordEmbeddings()),
                r.tokenId("bos_token_id", defaultBosTokenId()),
                r.tokenId("eos_token_id", defaultEosTokenId()),
                readHfVariant(r, layers));
    }

    /**
     * Most blocks a model may have: llama.cpp's limit ({@code LLAMA_MAX_LAYERS}). Per-layer lists are built from the
     * count before any tensor is looked at, so a count of 2^31 in a 4 KB header must be refused first (issue 16).
     */
    public static final int MAX_LAYERS = 512;

    /**
     * Refuses a block count outside [0, {@link #MAX_LAYERS}] or a head count below 1 (head_dim defaults to
     * hidden / heads), before anything is sized by them.
     */
    static void checkCounts(String source, String layersKey, int layers, String headsKey, int heads, String fix) {
        if (layers < 0 || layers > MAX_LAYERS) {
            throw new PrunelabException.ModelFormat(source + ": '" + layersKey + "' is " + layers + "; a model has 0 to "
                    + MAX_LAYERS + " blocks (llama.cpp's limit). " + fix);
        }
        if (heads <= 0) {
            throw new PrunelabException.ModelFormat(source + ": '" + headsKey + "' must be positive but is " + heads + ". " + fix);
        }
    }

    @Override
    public DecoderConfig readGgufConfig(GgufFile gguf) {
        GgufMetadata md = gguf.metadata();
        String p = ggufArchitecture() + ".";
        int hidden = md.getInt(p + "embedding_length");
        int heads = md.getInt(p + "attention.head_count");
        checkCounts("GGUF file " + gguf.path(), p + "block_count", md.getInt(p + "block_count"), p + "attention.head_count",
                heads, "The file is corrupt; download or re-convert it.");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        int headDim = md.getInt(p + "attention.key_length", md.getInt(p + "rope.dimension_count", hidden / heads));
        int layers = md.getInt(p + "block_count");
        return new DecoderConfig(
                name(),
                hidden,
                md.getInt(p + "feed_forward_length"),
                layers,
                heads,
                kvHeads,
                headDim,
                ggufVocabSize(gguf),
                md.getInt(p + "context_length"),
                md.getDouble(p + "attention.layer_norm_rms_epsilon"),
                md.getDouble(p + "rope.freq_base", defaultRopeTheta()),
                ggufRopeScaling(gguf, p),
                gguf.findTensor("output.weight").isEmpty(),
                md.getInt("tokenizer.ggml.bos_token_id", -1),
                md.getInt("tokenizer.ggml.eos_token_id", -1),
                readGgufVariant(md, p, layers));
    }

    /** Rows of the embedding (what the weights need), else the tokenizer's vocabulary length. */
    private int ggufVocabSize(GgufFile gguf) {
        var embd = gguf.findTensor("token_embd.weight");
        if (embd.isPresent() && embd.get().rank() == 2) return (int) embd.get().ne(1);
        GgufMetadata md = gguf.metadata();
        if (md.contains("tokenizer.ggml.tokens")) return md.arrayLength("tokenizer.ggml.tokens");
        return md.getInt(ggufArchitecture() + ".vocab_size");
    }

    private static DecoderConfig.RopeScaling ggufRopeScaling(GgufFile gguf, String p) {
        GgufMetadata md = gguf.metadata();
        if (gguf.findTensor("rope_freqs.weight").isPresent()) {
            // llama.cpp bakes Llama 3 RoPE scaling into per-frequency factors; the llama3 parameters
            // (factor, low/high_freq_factor, original context) are not stored and cannot be recovered reliably.
            throw new PrunelabException.ModelFormat("GGUF file " + gguf.path() + " stores Llama 3 RoPE scaling as"
                    + " rope_freqs.weight, which prunelab cannot turn back into a rope_scaling config. Use the model's"
                    + " safetensors checkpoint (directory with config.json) instead.");
        }
        String type = md.getString(p + "rope.scaling.type", "none");
        return switch (type) {
            case "none" -> null;
            case "linear" -> new DecoderConfig.RopeScaling("linear", md.getDouble(p + "rope.scaling.factor"), 0, 0, 0);
            default -> throw new PrunelabException.ModelFormat("GGUF file " + gguf.path() + " uses RoPE scaling '" + type
                    + "'; prunelab supports none and linear for GGUF files. Use the safetensors checkpoint instead.");
        };
    }

    @Override
    public ObjectNode writeHfConfig(DecoderConfig c, HfConfig.Export export) {
        ObjectNode o = HfConfig.common(this, c, export);
        writeHfKeys(o, c, export);
        return o;
    }

    /**
     * Hugging Face name to GGUF name of every tensor a model of {@code config} can have (weights and biases of the
     * linears, the variant's norms, embeddings, final norm, LM head), as llama.cpp's converter names them.
     */
    Map<String, String> ggufNames(DecoderConfig config) {
        Map<String, String> hfToGguf = new LinkedHashMap<>();
        hfToGguf.put(names.embedTokens(), "token_embd.weight");
        hfToGguf.put(names.finalNorm(), "output_norm.weight");
        hfToGguf.put(names.lmHead(), "output.weight");
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            for (LinearRole role : LinearRole.values()) {
                String hf = names.linear(l, role), gguf = "blk." + l + "." + GGUF_LINEAR.get(role);
                hfToGguf.put(hf + ".weight", gguf + ".weight");
                hfToGguf.put(hf + ".bias", gguf + ".bias");
            }
            for (NormRole role : Transformer.normRoles(config.variant())) {
                hfToGguf.put(names.norm(l, role), "blk." + l + "." + GGUF_NORM.get(role) + ".weight");
            }
        }
        return hfToGguf;
    }

    @Override
    public TensorLookup fromGguf(GgufTensorSource file, DecoderConfig config) {
        Map<String, String> all = ggufNames(config);
        Map<String, String> hfToGguf = new LinkedHashMap<>(all);
        hfToGguf.values().retainAll(file.names());
        Map<String, String> permuted = new LinkedHashMap<>();
        if (ggufPermutesQK()) {
            for (int l = 0; l < config.numHiddenLayers(); l++) {
                for (String suffix : List.of(".weight", ".bias")) {
                    permuted.put(names.linear(l, LinearRole.Q) + suffix, "q");
                    permuted.put(names.linear(l, LinearRole.K) + suffix, "k");
                }
            }
        }
        return new TensorLookup() {
            @Override
            public FloatMatrix matrix(String name) {
                FloatMatrix m = file.matrix(ggufName(name));
                String kind = permuted.get(name);
                if (kind == null) return m;
                int heads = kind.equals("k") ? config.numKeyValueHeads() : config.numAttentionHeads();
                return new FloatMatrix(m.rows(), m.cols(), GgufRope.reversePermuteRows(m.data(), m.rows(), m.cols(), heads));
            }

            @Override
            public float[] vector(String name) {
                float[] v = file.vector(ggufName(name));
                String kind = permuted.get(name);
                if (kind == null) return v;
                int heads = kind.equals("k") ? config.numKeyValueHeads() : config.numAttentionHeads();
                return GgufRope.reversePermuteRows(v, v.length, 1, heads);
            }

            @Override
            public boolean has(String name) { return hfToGguf.containsKey(name); }

            @Override
            public java.util.Optional<long[]> shape(String name) {
                String g = hfToGguf.get(name);
                return g == null ? java.util.Optional.empty() : file.shape(g); // RoPE row order keeps the shape
            }

            @Override
            public void evict(String name) {
                String g = hfToGguf.get(name);
                if (g != null) file.evict(g);
            }

            private String ggufName(String name) {
                String g = hfToGguf.get(name);
                if (g == null) {
                    String expected = all.get(name);
                    throw new PrunelabException.ModelFormat("GGUF file " + file.file().path() + " has no tensor for '"
                            + name + "'" + (expected == null ? "" : " (GGUF name " + expected + ")") + "; "
                            + org.prunelab.io.NearbyNames.describe(name, hfToGguf.keySet()) + ". The file is incomplete or"
                            + " its metadata does not match its tensors; re-convert it with llama.cpp's convert_hf_to_gguf.py.");
                }
                return g;
            }
        };
    }

    @Override
    public TensorLookup fromHf(TensorLookup checkpoint, DecoderConfig config) {
        double offset = hfNormOffset();
        if (offset == 0) return checkpoint;
        Set<String> norms = new java.util.HashSet<>();
        norms.add(names.finalNorm());
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            for (NormRole role : Transformer.normRoles(config.variant())) norms.add(names.norm(l, role));
        }
        float add = (float) offset;
        return new TensorLookup() {
            @Override public FloatMatrix matrix(String name) { return checkpoint.matrix(name); }

            @Override
            public float[] vector(String name) {
                float[] v = checkpoint.vector(name);
                if (norms.contains(name)) for (int i = 0; i < v.length; i++) v[i] += add;
                return v;
            }

            @Override public boolean has(String name) { return checkpoint.has(name); }

            @Override public java.util.Optional<long[]> shape(String name) { return checkpoint.shape(name); }

            @Override public void evict(String name) { checkpoint.evict(name); }
        };
    }

    @Override
    public SafetensorsWriter hfTensors(DecoderModel model, HfConfig.Export export) {
        SafetensorsWriter w = new SafetensorsWriter();
        w.add(names.embedTokens(), model.embedTokens());
        for (DecoderBlock b : model.blocks()) addHfBlockTensors(w, b, export);
        addHfFinalTensors(w, model, false);
        return w;
    }

    @Override
    public void addHfBlockTensors(SafetensorsWriter w, DecoderBlock b, HfConfig.Export export) {
        int l = b.index();
        // The order prunelab has always written: the input norm, the seven linears, then the other norms.
        w.add(names.norm(l, NormRole.ATTENTION_INPUT), hfNorm(b.norm(NormRole.ATTENTION_INPUT)));
        for (LinearRole role : LinearRole.values()) {
            addLinear(w, names.linear(l, role), b.linear(role), carriesBias(role, export), l, b.layout().name(role));
        }
        for (Map.Entry<NormRole, RmsNorm> n : b.norms().entrySet()) {
            if (n.getKey() != NormRole.ATTENTION_INPUT) w.add(names.norm(l, n.getKey()), hfNorm(n.getValue()));
        }
    }

    @Override
    public void addHfFinalTensors(SafetensorsWriter w, DecoderModel model, boolean withEmbedding) {
        if (withEmbedding) w.add(names.embedTokens(), model.embedTokens());
        w.add(names.finalNorm(), hfNorm(model.norm()));
        if (!model.config().tieWordEmbeddings()) {
            Linear head = model.lmHead() instanceof org.prunelab.model.DeferredLinear d ? d.get() : model.lmHead();
            w.add(names.lmHead(), ((DenseLinear) head).weight());
        }
    }

    /**
     * Whether a saved linear of {@code role} has a bias tensor: transformers creates one for every linear its config
     * switches on, so a bias-less linear there gets zeros.
     */
    protected boolean carriesBias(LinearRole role, HfConfig.Export export) {
        return role.isAttention() ? export.attentionBias() : export.mlpBias();
    }

    /** The roles whose biases the family's Hugging Face checkpoints can carry. */
    protected abstract Set<LinearRole> hfBiasRoles();

    @Override
    public Optional<String> cannotSave(Set<LinearRole> biasOn) {
        EnumSet<LinearRole> missing = EnumSet.noneOf(LinearRole.class);
        for (LinearRole r : biasOn) if (!hfBiasRoles().contains(r)) missing.add(r);
        if (missing.isEmpty()) return Optional.empty();
        List<String> linears = missing.stream().map(LAYOUT::name).toList();
        return Optional.of("a " + name() + " checkpoint (transformers' " + hfClassName() + ") has no bias on "
                + String.join(", ", linears) + ", and the method adds one there");
    }

    // ---- GGUF export: the inverse of readGgufConfig and fromGguf ----

    /**
     * The linears whose biases llama.cpp's loader for the family reads: q/k/v (every family's loader creates them as
     * optional tensors, {@code create_tensor_qkv}); Llama's also reads {@code attn_output.bias} and the three MLP
     * biases ({@code src/models/llama.cpp}); Qwen2, Qwen3 and Gemma 3 have no tensor for an o_proj or MLP bias.
     */
    protected Set<LinearRole> ggufBiasRoles() { return EnumSet.of(LinearRole.Q, LinearRole.K, LinearRole.V); }

    /**
     * Why the family's GGUF metadata cannot describe {@code c}'s block variant (e.g. a sliding window llama.cpp's graph
     * for the family does not have), or empty. {@code shape} holds the (uniform) block widths.
     */
    protected Optional<String> cannotWriteGgufVariant(DecoderConfig c, BlockShape shape) { return Optional.empty(); }

    /**
     * Whether {@code <arch>.attention.key_length} / {@code value_length} must be written: llama.cpp takes head_dim as
     * embedding_length / head_count unless they say otherwise, so whenever that quotient is not head_dim (after head
     * pruning, or Gemma's 256-wide heads).
     */
    protected boolean ggufHeadDimRequired(DecoderConfig c) {
        return c.headDim() != c.hiddenSize() / c.numAttentionHeads();
    }

    /** Appends the family's own {@code <arch>.*} keys (after the common ones). */
    protected void addGgufFamilyKeys(List<GgufPlan.Key> keys, DecoderConfig c) {}

    /** A UINT32 key. */
    protected final GgufPlan.Key ggufUint(String suffix, long value, boolean required) {
        return new GgufPlan.Key(ggufArchitecture() + "." + suffix, GgufValueType.UINT32, value, required);
    }

    /** A FLOAT32 key (the value kept as a double until written, so a FLOAT64 source key keeps its precision). */
    protected final GgufPlan.Key ggufFloat(String suffix, double value, boolean required) {
        return new GgufPlan.Key(ggufArchitecture() + "." + suffix, GgufValueType.FLOAT32, value, required);
    }

    @Override
    public Optional<String> cannotWriteGguf(ModelShape shape, Set<LinearRole> biasOn) {
        return StandardGgufExport.cannotWrite(this, shape, biasOn);
    }

    @Override
    public List<GgufPlan.Key> ggufKeys(DecoderConfig c) { return StandardGgufExport.keys(this, c); }

    @Override
    public List<GgufPlan.Tensor> ggufTensors(DecoderModel model) { return StandardGgufExport.tensors(this, model); }

    private float[] hfNorm(RmsNorm norm) {
        double offset = hfNormOffset();
        float[] w = norm.weight();
        if (offset == 0) return w;
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) out[i] = w[i] - (float) offset;
        return out;
    }

    private static void addLinear(SafetensorsWriter w, String prefix, Linear linear, boolean biased, int layer, String name) {
        // Low-rank factors are saved as they are; every other format as its dense fp32 weight (CSR and packed N:M
        // exactly; a quantised layer as its rounded values), since transformers reads plain weights.
        Linear held = org.prunelab.format.WeightFormats.weightLayer(linear);
        if (held instanceof LowRankLinear lowRank) {
            w.add(prefix + ".lowrank_a", lowRank.a());
            w.add(prefix + ".lowrank_b", lowRank.b());
        } else {
            w.add(prefix + ".weight", org.prunelab.format.WeightFormats.denseWeight(linear));
        }
        float[] bias = org.prunelab.format.WeightFormats.bias(linear);
        if (biased && !(held instanceof LowRankLinear)) w.add(prefix + ".bias", bias != null ? bias : new float[linear.outFeatures()]);
    }

    @Override
    public String toString() { return name(); }
}
