package org.prunelab.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.model.BlockShape;
import org.prunelab.model.LlamaConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * Reads and writes a Hugging Face Llama {@code config.json} (transformers' {@code LlamaConfig}). Absent
 * optional keys take transformers' defaults: num_key_value_heads = num_attention_heads, head_dim =
 * hidden_size / num_attention_heads, max_position_embeddings 2048, rms_norm_eps 1e-6, rope_theta 10000,
 * tie_word_embeddings false, bos/eos 1/2 (an explicit null becomes -1; a list of eos ids keeps the first).
 * RoPE settings are read from the transformers 4 keys ({@code rope_theta}, {@code rope_scaling}) or the
 * transformers 5 {@code rope_parameters} dict; they are written in the transformers 4 form, which both load.
 */
public final class HfConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Set<String> MODEL_TYPES = Set.of("llama", "mistral");

    private HfConfigJson() {}

    /**
     * Reads {@code configJson}.
     *
     * @throws PrunelabException.ModelFormat if the file is missing, not JSON, not a Llama config, or lacks a
     *                                       required key (hidden_size, intermediate_size, num_hidden_layers,
     *                                       num_attention_heads, vocab_size)
     */
    public static LlamaConfig read(Path configJson) {
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
    public static LlamaConfig parse(String json, String source) {
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
        String modelType = root.path("model_type").asText("llama");
        if (!MODEL_TYPES.contains(modelType)) {
            throw new PrunelabException.ModelFormat(source + " has model_type '" + modelType + "'; prunelab reads "
                    + MODEL_TYPES + " configs. Use a Llama-family model.");
        }
        Reader r = new Reader(root, source);
        int hidden = r.requiredInt("hidden_size");
        int heads = r.requiredInt("num_attention_heads");
        JsonNode ropeParameters = root.path("rope_parameters");
        double ropeTheta = r.optionalDouble(root, "rope_theta",
                r.optionalDouble(ropeParameters, "rope_theta", 10000.0));
        JsonNode scaling = root.hasNonNull("rope_scaling") ? root.get("rope_scaling") : ropeParameters;
        return new LlamaConfig(
                hidden,
                r.requiredInt("intermediate_size"),
                r.requiredInt("num_hidden_layers"),
                heads,
                r.optionalInt("num_key_value_heads", heads),
                r.optionalInt("head_dim", hidden / heads),
                r.requiredInt("vocab_size"),
                r.optionalInt("max_position_embeddings", 2048),
                r.optionalDouble(root, "rms_norm_eps", 1e-6),
                ropeTheta,
                r.ropeScaling(scaling),
                root.path("tie_word_embeddings").asBoolean(false),
                r.tokenId("bos_token_id", 1),
                r.tokenId("eos_token_id", 2));
    }

    /** Key under which {@link #toJson(LlamaConfig, Extras)} stores per-block widths of a non-uniform model. */
    public static final String LAYER_SIZES_KEY = "prunelab_layer_sizes";

    /**
     * What a pruned checkpoint needs beyond {@link LlamaConfig}.
     *
     * @param attentionBias whether q/k/v/o_proj carry biases (transformers' {@code attention_bias})
     * @param mlpBias       whether gate/up/down_proj carry biases ({@code mlp_bias})
     * @param layerSizes    per-block widths when blocks differ (then only prunelab can load the model), else null
     * @param lowRank       whether some linears are stored as low-rank factors (then only prunelab can load it)
     */
    public record Extras(boolean attentionBias, boolean mlpBias, java.util.List<BlockShape> layerSizes, boolean lowRank) {
        public static final Extras NONE = new Extras(false, false, null, false);
    }

    /**
     * Per-block widths stored under {@value #LAYER_SIZES_KEY} by a non-uniform structured prune: a list of
     * {@code {"intermediate_size": .., "num_attention_heads": .., "num_key_value_heads": ..}}, one per block;
     * null if the file has none (every block has the config's widths).
     *
     * @throws PrunelabException.ModelFormat if the file cannot be read or the list is malformed
     */
    public static java.util.List<BlockShape> readLayerSizes(Path configJson) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(configJson));
        } catch (IOException e) {
            throw new PrunelabException.ModelFormat("cannot read " + configJson + ": " + e.getMessage(), e);
        }
        JsonNode sizes = root.get(LAYER_SIZES_KEY);
        if (sizes == null || sizes.isNull()) return null;
        if (!sizes.isArray()) {
            throw new PrunelabException.ModelFormat(configJson + ": '" + LAYER_SIZES_KEY + "' should be a list of block widths");
        }
        java.util.List<BlockShape> out = new java.util.ArrayList<>();
        for (JsonNode n : sizes) {
            Reader b = new Reader(n, configJson + " " + LAYER_SIZES_KEY + "[" + out.size() + "]");
            out.add(new BlockShape(b.requiredInt("intermediate_size"), b.requiredInt("num_attention_heads"),
                    b.requiredInt("num_key_value_heads")));
        }
        return out;
    }

    /** The config as transformers' {@code config.json} text for {@code LlamaForCausalLM} in fp32. */
    public static String toJson(LlamaConfig c) {
        return toJson(c, Extras.NONE);
    }

    /** As {@link #toJson(LlamaConfig)}, with biases, per-block widths and a low-rank marker as {@code extras} say. */
    public static String toJson(LlamaConfig c, Extras extras) {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add("LlamaForCausalLM");
        o.put("model_type", "llama");
        o.put("hidden_size", c.hiddenSize());
        o.put("intermediate_size", c.intermediateSize());
        o.put("num_hidden_layers", c.numHiddenLayers());
        o.put("num_attention_heads", c.numAttentionHeads());
        o.put("num_key_value_heads", c.numKeyValueHeads());
        o.put("head_dim", c.headDim());
        o.put("vocab_size", c.vocabSize());
        o.put("max_position_embeddings", c.maxPositionEmbeddings());
        o.put("rms_norm_eps", c.rmsNormEps());
        o.put("rope_theta", c.ropeTheta());
        if (c.ropeScaling() == null) {
            o.putNull("rope_scaling");
        } else {
            LlamaConfig.RopeScaling s = c.ropeScaling();
            ObjectNode so = o.putObject("rope_scaling");
            so.put("rope_type", s.type());
            so.put("factor", s.factor());
            if (s.type().equals("llama3")) {
                so.put("low_freq_factor", s.lowFreqFactor());
                so.put("high_freq_factor", s.highFreqFactor());
                so.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
            }
        }
        o.put("tie_word_embeddings", c.tieWordEmbeddings());
        if (c.bosTokenId() >= 0) o.put("bos_token_id", c.bosTokenId()); else o.putNull("bos_token_id");
        if (c.eosTokenId() >= 0) o.put("eos_token_id", c.eosTokenId()); else o.putNull("eos_token_id");
        o.put("hidden_act", "silu");
        o.put("attention_bias", extras.attentionBias());
        o.put("mlp_bias", extras.mlpBias());
        o.put("torch_dtype", "float32");
        if (extras.layerSizes() != null) {
            var list = o.putArray(LAYER_SIZES_KEY);
            for (BlockShape s : extras.layerSizes()) {
                list.addObject().put("intermediate_size", s.intermediateSize())
                        .put("num_attention_heads", s.numAttentionHeads()).put("num_key_value_heads", s.numKeyValueHeads());
            }
        }
        if (extras.lowRank()) o.put("prunelab_low_rank", true);
        try {
            return JSON.writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("serialising a JSON tree cannot fail", e);
        }
    }

    /** Writes {@link #toJson} to {@code configJson} atomically. @throws PrunelabException if the file cannot be written */
    public static void write(LlamaConfig c, Path configJson) {
        AtomicFiles.writeString(configJson, toJson(c));
    }

    /** Writes {@link #toJson(LlamaConfig, Extras)} to {@code configJson} atomically. */
    public static void write(LlamaConfig c, Extras extras, Path configJson) {
        AtomicFiles.writeString(configJson, toJson(c, extras));
    }

    /** Typed access to one config object, with errors naming the file and key. */
    private record Reader(JsonNode root, String source) {
        int requiredInt(String key) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) {
                throw new PrunelabException.ModelFormat(source + " has no '" + key + "'. A Llama config.json needs"
                        + " hidden_size, intermediate_size, num_hidden_layers, num_attention_heads and vocab_size;"
                        + " restore the config.json saved with the model.");
            }
            return asInt(key, n);
        }

        int optionalInt(String key, int defaultValue) {
            JsonNode n = root.get(key);
            return n == null || n.isNull() ? defaultValue : asInt(key, n);
        }

        double optionalDouble(JsonNode obj, String key, double defaultValue) {
            JsonNode n = obj.get(key);
            if (n == null || n.isNull()) return defaultValue;
            if (!n.isNumber()) throw bad(key, "a number", n);
            return n.asDouble();
        }

        int tokenId(String key, int defaultValue) {
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

        LlamaConfig.RopeScaling ropeScaling(JsonNode s) {
            if (s == null || s.isMissingNode() || s.isNull()) return null;
            String type = s.hasNonNull("rope_type") ? s.get("rope_type").asText() : s.path("type").asText("default");
            return switch (type) {
                case "default" -> null;
                case "linear" -> new LlamaConfig.RopeScaling("linear", factor(s), 0, 0, 0);
                case "llama3" -> new LlamaConfig.RopeScaling("llama3", factor(s),
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

        private PrunelabException.ModelFormat bad(String key, String expected, JsonNode n) {
            return new PrunelabException.ModelFormat(source + ": '" + key + "' should be " + expected + " but is " + n
                    + ". Restore the config.json saved with the model.");
        }
    }
}
