package org.prunelab.io;

import org.prunelab.PrunelabException;
import org.prunelab.model.LlamaConfig;

/**
 * Builds a {@link LlamaConfig} from a llama-architecture GGUF file's metadata, the keys llama.cpp writes
 * ({@code llama.embedding_length}, {@code llama.block_count}, ...; the same mapping transformers uses in
 * {@code integrations/ggml.py}).
 */
final class GgufLlamaConfig {
    private GgufLlamaConfig() {}

    static LlamaConfig read(GgufFile gguf) {
        GgufMetadata md = gguf.metadata();
        String arch = md.getString("general.architecture");
        if (!arch.equals("llama")) {
            throw new PrunelabException.ModelFormat("GGUF file " + gguf.path() + " is of architecture '" + arch
                    + "'; prunelab reads 'llama'-architecture GGUF files (Llama, SmolLM, Mistral conversions)."
                    + " Use a Llama-family model.");
        }
        String p = arch + ".";
        int hidden = md.getInt(p + "embedding_length");
        int heads = md.getInt(p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        int headDim = md.getInt(p + "attention.key_length", md.getInt(p + "rope.dimension_count", hidden / heads));
        return new LlamaConfig(
                hidden,
                md.getInt(p + "feed_forward_length"),
                md.getInt(p + "block_count"),
                heads,
                kvHeads,
                headDim,
                vocabSize(gguf),
                md.getInt(p + "context_length"),
                md.getDouble(p + "attention.layer_norm_rms_epsilon"),
                md.getDouble(p + "rope.freq_base", 10000.0),
                ropeScaling(gguf, p),
                gguf.findTensor("output.weight").isEmpty(),
                md.getInt("tokenizer.ggml.bos_token_id", -1),
                md.getInt("tokenizer.ggml.eos_token_id", -1));
    }

    /** Rows of the embedding (what the weights need), else the tokenizer's vocabulary length. */
    private static int vocabSize(GgufFile gguf) {
        var embd = gguf.findTensor("token_embd.weight");
        if (embd.isPresent() && embd.get().rank() == 2) return (int) embd.get().ne(1);
        GgufMetadata md = gguf.metadata();
        if (md.contains("tokenizer.ggml.tokens")) return md.arrayLength("tokenizer.ggml.tokens");
        return md.getInt("llama.vocab_size");
    }

    private static LlamaConfig.RopeScaling ropeScaling(GgufFile gguf, String p) {
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
            case "linear" -> new LlamaConfig.RopeScaling("linear", md.getDouble(p + "rope.scaling.factor"), 0, 0, 0);
            default -> throw new PrunelabException.ModelFormat("GGUF file " + gguf.path() + " uses RoPE scaling '" + type
                    + "'; prunelab supports none and linear for GGUF files. Use the safetensors checkpoint instead.");
        };
    }
}
