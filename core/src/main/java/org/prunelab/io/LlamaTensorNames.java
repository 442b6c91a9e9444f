package org.prunelab.io;

import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that knows the Llama family's tensor names: Hugging Face's (used throughout prunelab) and
 * llama.cpp's GGUF names (as written by {@code convert_hf_to_gguf.py}, {@code gguf-py}'s
 * {@code TENSOR_NAMES} for {@code MODEL_ARCH.LLAMA}), and the mapping between them. Weights and biases map
 * alike ({@code .weight} / {@code .bias} suffix kept).
 */
public final class LlamaTensorNames {
    public static final String EMBED_TOKENS = "model.embed_tokens.weight";
    public static final String NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    public static final String INPUT_LAYERNORM = "input_layernorm";
    public static final String Q_PROJ = "self_attn.q_proj";
    public static final String K_PROJ = "self_attn.k_proj";
    public static final String V_PROJ = "self_attn.v_proj";
    public static final String O_PROJ = "self_attn.o_proj";
    public static final String POST_ATTENTION_LAYERNORM = "post_attention_layernorm";
    public static final String GATE_PROJ = "mlp.gate_proj";
    public static final String UP_PROJ = "mlp.up_proj";
    public static final String DOWN_PROJ = "mlp.down_proj";

    /** Global tensors, GGUF stem to Hugging Face stem. */
    private static final Map<String, String> GLOBAL = Map.of(
            "token_embd", "model.embed_tokens",
            "output_norm", "model.norm",
            "output", "lm_head");

    /** Per-block tensors, GGUF stem (after {@code blk.N.}) to Hugging Face stem (after {@code model.layers.N.}). */
    private static final Map<String, String> BLOCK = Map.of(
            "attn_norm", INPUT_LAYERNORM,
            "attn_q", Q_PROJ,
            "attn_k", K_PROJ,
            "attn_v", V_PROJ,
            "attn_output", O_PROJ,
            "ffn_norm", POST_ATTENTION_LAYERNORM,
            "ffn_gate", GATE_PROJ,
            "ffn_up", UP_PROJ,
            "ffn_down", DOWN_PROJ);

    private static final Pattern GGUF_BLOCK = Pattern.compile("blk\\.(\\d+)\\.(\\w+)\\.(weight|bias)");
    private static final Pattern GGUF_GLOBAL = Pattern.compile("(\\w+)\\.(weight|bias)");
    private static final Pattern HF_BLOCK = Pattern.compile("model\\.layers\\.(\\d+)\\.([\\w.]+)\\.(weight|bias)");
    private static final Pattern HF_GLOBAL = Pattern.compile("([\\w.]+)\\.(weight|bias)");

    private LlamaTensorNames() {}

    /** {@code model.layers.{layer}.{stem}.weight}, e.g. {@code layerWeight(0, Q_PROJ)}. */
    public static String layerWeight(int layer, String stem) {
        return "model.layers." + layer + "." + stem + ".weight";
    }

    /** {@code model.layers.{layer}.{stem}.bias}. */
    public static String layerBias(int layer, String stem) {
        return "model.layers." + layer + "." + stem + ".bias";
    }

    /** The Hugging Face name of GGUF tensor {@code ggufName}, or empty if it has none (e.g. {@code rope_freqs.weight}). */
    public static Optional<String> ggufToHf(String ggufName) {
        Matcher m = GGUF_BLOCK.matcher(ggufName);
        if (m.matches()) {
            String stem = BLOCK.get(m.group(2));
            return stem == null ? Optional.empty() : Optional.of("model.layers." + m.group(1) + "." + stem + "." + m.group(3));
        }
        m = GGUF_GLOBAL.matcher(ggufName);
        if (m.matches() && GLOBAL.containsKey(m.group(1))) return Optional.of(GLOBAL.get(m.group(1)) + "." + m.group(2));
        return Optional.empty();
    }

    /** The GGUF name of Hugging Face tensor {@code hfName}, or empty if GGUF has no counterpart. */
    public static Optional<String> hfToGguf(String hfName) {
        Matcher m = HF_BLOCK.matcher(hfName);
        if (m.matches()) {
            return BLOCK.entrySet().stream().filter(e -> e.getValue().equals(m.group(2))).findFirst()
                    .map(e -> "blk." + m.group(1) + "." + e.getKey() + "." + m.group(3));
        }
        Matcher g = HF_GLOBAL.matcher(hfName);
        if (!g.matches()) return Optional.empty();
        return GLOBAL.entrySet().stream().filter(e -> e.getValue().equals(g.group(1))).findFirst()
                .map(e -> e.getKey() + "." + g.group(2));
    }

    /** Whether {@code hfName} is a q_proj or k_proj tensor, the two llama.cpp permutes for its RoPE layout. */
    static boolean isRopePermuted(String hfName) {
        return hfName.contains("." + Q_PROJ + ".") || hfName.contains("." + K_PROJ + ".");
    }

    static boolean isKProj(String hfName) {
        return hfName.contains("." + K_PROJ + ".");
    }
}
