package org.prunelab.arch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.io.AtomicFiles;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Hugging Face {@code config.json}: reading it with errors that name the file and key ({@link Reader}), the keys
 * every family shares, and prunelab's own keys for pruned checkpoints ({@value #LAYER_SIZES_KEY},
 * {@value #LOW_RANK_KEY}). The family-specific keys are read and written by each {@link Architecture}.
 */
public final class HfConfig {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Key under which a non-uniform structured prune stores per-block widths. */
    public static final String LAYER_SIZES_KEY = "prunelab_layer_sizes";
    /** Key marking a checkpoint whose linears are stored as low-rank factors (only prunelab reads it). */
    public static final String LOW_RANK_KEY = "prunelab_low_rank";

    private HfConfig() {}

    /**
     * What a pruned checkpoint needs beyond its {@link DecoderConfig}.
     *
     * @param attentionBias whether the attention linears carry biases (transformers' {@code attention_bias})
     * @param mlpBias       whether the MLP linears carry biases ({@code mlp_bias}; Llama only)
     * @param layerSizes    per-block widths when blocks differ (then only prunelab can load the model), else null
     * @param lowRank       whether some linears are stored as low-rank factors (then only prunelab can load it)
     */
    public record Export(boolean attentionBias, boolean mlpBias, List<BlockShape> layerSizes, boolean lowRank) {
        public static final Export NONE = new Export(false, false, null, false);
    }

    /**
     * Reads {@code configJson} as a JSON object.
     *
     * @throws PrunelabException.ModelFormat if the file is missing, unreadable or not a JSON object
     */
    public static Reader read(Path configJson) {
        if (!Files.isRegularFile(configJson)) {
            throw new PrunelabException.ModelFormat("config file " + configJson + " does not exist. A safetensors"
                    + " checkpoint directory needs the config.json that Hugging Face saves next to the weights.");
        }
        try {
            return parse(Files.readString(configJson), configJson.toString());
        } catch (IOException e) {
            throw new PrunelabException.ModelFormat("cannot read " + configJson + ": " + e.getMessage(), e);
        }
    }

    /** Parses config JSON text; {@code source} names it in error messages. @throws PrunelabException.ModelFormat as {@link #read} */
    public static Reader parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new PrunelabException.ModelFormat(source + " is not valid JSON: " + e.getOriginalMessage()
                    + ". Restore the config.json saved with the model.", e);
        }
        if (root == null || !root.isObject()) {
            throw new PrunelabException.ModelFormat(source + " is not a JSON object. Restore the config.json saved with the model.");
        }
        return new Reader(root, source);
    }

    /**
     * Per-block widths stored under {@value #LAYER_SIZES_KEY} by a non-uniform structured prune: a list of
     * {@code {"intermediate_size": .., "num_attention_heads": .., "num_key_value_heads": ..}}, one per block; null if
     * the config has none (every block has the config's widths).
     *
     * @throws PrunelabException.ModelFormat if the list is malformed
     */
    public static List<BlockShape> layerSizes(Reader config) {
        JsonNode sizes = config.root().get(LAYER_SIZES_KEY);
        if (sizes == null || sizes.isNull()) return null;
        if (!sizes.isArray()) {
            throw new PrunelabException.ModelFormat(config.source() + ": '" + LAYER_SIZES_KEY + "' should be a list of block widths");
        }
        List<BlockShape> out = new ArrayList<>();
        for (JsonNode n : sizes) {
            Reader b = new Reader(n, config.source() + " " + LAYER_SIZES_KEY + "[" + out.size() + "]");
            out.add(new BlockShape(b.requiredInt("intermediate_size"), b.requiredInt("num_attention_heads"),
                    b.requiredInt("num_key_value_heads")));
        }
        return out;
    }

    /**
     * The keys every family shares, as transformers writes them: sizes, heads, vocabulary, context, norm epsilon,
     * tying, special tokens, fp32, and prunelab's keys from {@code export}. RoPE and the family's own keys are the
     * architecture's.
     */
    static ObjectNode common(Architecture arch, DecoderConfig c, Export export) {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(arch.hfClassName());
        o.put("model_type", arch.hfModelTypes().get(0));
        o.put("hidden_size", c.hiddenSize());
        o.put("intermediate_size", c.intermediateSize());
        o.put("num_hidden_layers", c.numHiddenLayers());
        o.put("num_attention_heads", c.numAttentionHeads());
        o.put("num_key_value_heads", c.numKeyValueHeads());
        o.put("head_dim", c.headDim());
        o.put("vocab_size", c.vocabSize());
        o.put("max_position_embeddings", c.maxPositionEmbeddings());
        o.put("rms_norm_eps", c.rmsNormEps());
        o.put("tie_word_embeddings", c.tieWordEmbeddings());
        if (c.bosTokenId() >= 0) o.put("bos_token_id", c.bosTokenId()); else o.putNull("bos_token_id");
        if (c.eosTokenId() >= 0) o.put("eos_token_id", c.eosTokenId()); else o.putNull("eos_token_id");
        o.put("torch_dtype", "float32");
        if (export.layerSizes() != null) {
            var list = o.putArray(LAYER_SIZES_KEY);
            for (BlockShape s : export.layerSizes()) {
                list.addObject().put("intermediate_size", s.intermediateSize())
                        .put("num_attention_heads", s.numAttentionHeads()).put("num_key_value_heads", s.numKeyValueHeads());
            }
        }
        if (export.lowRank()) o.put(LOW_RANK_KEY, true);
        return o;
    }

    /** RoPE keys in the transformers 4 form ({@code rope_theta}, {@code rope_scaling}), which transformers 4 and 5 load. */
    static void putRope(ObjectNode o, DecoderConfig c) {
        o.put("rope_theta", c.ropeTheta());
        if (c.ropeScaling() == null) {
            o.putNull("rope_scaling");
        } else {
            DecoderConfig.RopeScaling s = c.ropeScaling();
            ObjectNode so = o.putObject("rope_scaling");
            so.put("rope_type", s.type());
            so.put("factor", s.factor());
            if (s.type().equals("llama3")) {
                so.put("low_freq_factor", s.lowFreqFactor());
                so.put("high_freq_factor", s.highFreqFactor());
                so.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
            }
        }
    }

    /** The config as {@code config.json} text. */
    static String text(ObjectNode o) {
        try {
            return JSON.writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("serialising a JSON tree cannot fail", e);
        }
    }

    /** Writes {@code config} to {@code configJson} atomically. @throws PrunelabException if the file cannot be written */
    static void write(ObjectNode config, Path configJson) {
        AtomicFiles.writeString(configJson, text(config));
    }

    /**
     * Typed access to one config object, with errors naming the file and key.
     *
     * @param root   the JSON object
     * @param source the file (or part of it) for error messages
     */
    public record Reader(JsonNode root, String source) {
        /** The {@code model_type}, or {@code fallback} when absent. */
        public String modelType(String fallback) {
            return root.path("model_type").asText(fallback);
        }

        /** An integer key that must be present. @throws PrunelabException.ModelFormat if absent or not an integer */
        public int requiredInt(String key) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) {
                throw new PrunelabException.ModelFormat(source + " has no '" + key + "'. A config.json needs"
                        + " hidden_size, intermediate_size, num_hidden_layers, num_attention_heads and vocab_size;"
                        + " restore the config.json saved with the model.");
            }
            return asInt(key, n);
        }

        /** An integer key, or {@code defaultValue} when absent or null. */
        public int optionalInt(String key, int defaultValue) {
            JsonNode n = root.get(key);
            return n == null || n.isNull() ? defaultValue : asInt(key, n);
        }

        /** A number key of {@code obj} (this config or a part of it), or {@code defaultValue} when absent or null. */
        public double optionalDouble(JsonNode obj, String key, double defaultValue) {
            JsonNode n = obj.get(key);
            if (n == null || n.isNull()) return defaultValue;
            if (!n.isNumber()) throw bad(key, "a number", n);
            return n.asDouble();
        }

        /** A number key of this config, or {@code defaultValue}. */
        public double optionalDouble(String key, double defaultValue) {
            return optionalDouble(root, key, defaultValue);
        }

        /** A boolean key, or {@code defaultValue}. */
        public boolean optionalBoolean(String key, boolean defaultValue) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) return defaultValue;
            if (!n.isBoolean()) throw bad(key, "true or false", n);
            return n.asBoolean();
        }

        /** A string key, or {@code defaultValue}. */
        public String optionalString(String key, String defaultValue) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) return defaultValue;
            if (!n.isTextual()) throw bad(key, "a string", n);
            return n.asText();
        }

        /** A token id key: absent gives {@code defaultValue}, null gives -1, a list its first entry. */
        public int tokenId(String key, int defaultValue) {
            JsonNode n = root.get(key);
            if (n == null) return defaultValue;
            if (n.isNull()) return -1;
            if (n.isArray()) return n.isEmpty() ? -1 : asInt(key, n.get(0));
            return asInt(key, n);
        }

        private int asInt(String key, JsonNode n) {
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw bad(key, "an integer", n);
            return n.asInt();
        }

        /**
         * RoPE base and scaling from the transformers 4 keys ({@code rope_theta}, {@code rope_scaling}) or the
         * transformers 5 {@code rope_parameters} dict ({@code part}: that dict, or one of its per-layer-type entries).
         */
        public double ropeTheta(JsonNode part, double defaultValue) {
            return optionalDouble(root, "rope_theta", optionalDouble(part, "rope_theta", defaultValue));
        }

        /** RoPE scaling of {@code s} (a {@code rope_scaling} or {@code rope_parameters} object), null for none. */
        public DecoderConfig.RopeScaling ropeScaling(JsonNode s) {
            if (s == null || s.isMissingNode() || s.isNull()) return null;
            String type = s.hasNonNull("rope_type") ? s.get("rope_type").asText() : s.path("type").asText("default");
            return switch (type) {
                case "default" -> null;
                case "linear" -> new DecoderConfig.RopeScaling("linear", factor(s), 0, 0, 0);
                case "llama3" -> new DecoderConfig.RopeScaling("llama3", factor(s),
                        optionalDouble(s, "low_freq_factor", 1.0), optionalDouble(s, "high_freq_factor", 4.0),
                        s.path("original_max_position_embeddings").asInt(8192));
                default -> throw new PrunelabException.ModelFormat(source + " uses RoPE scaling '" + type
                        + "'; prunelab supports default, linear and llama3. Use a model without that scaling.");
            };
        }

        private double factor(JsonNode s) {
            if (!s.hasNonNull("factor")) {
                throw new PrunelabException.ModelFormat(source + ": rope_scaling has no 'factor'. Restore the"
                        + " config.json saved with the model.");
            }
            return optionalDouble(s, "factor", 1.0);
        }

        /** An error naming this file, the key, what it should be and what it is. */
        public PrunelabException.ModelFormat bad(String key, String expected, JsonNode n) {
            return new PrunelabException.ModelFormat(source + ": '" + key + "' should be " + expected + " but is " + n
                    + ". Restore the config.json saved with the model.");
        }
    }
}
