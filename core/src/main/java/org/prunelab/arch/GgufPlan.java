package org.prunelab.arch;

import org.prunelab.io.GgufValueType;
import org.prunelab.tensor.Linear;

/**
 * What an {@link Architecture} tells {@link GgufExporter} about a model it exports: the family's {@code <arch>.*}
 * metadata keys and the model's tensors under llama.cpp's names and in its layout. The exporter knows nothing of any
 * family's names; the architecture knows nothing of encodings or files.
 */
public final class GgufPlan {
    private GgufPlan() {}

    /**
     * One {@code <arch>.*} metadata key.
     *
     * @param key      the full key, e.g. {@code llama.feed_forward_length}
     * @param type     the value type llama.cpp's converter writes (UINT32 for counts, FLOAT32 for floats)
     * @param value    the value as {@link org.prunelab.io.GgufMetadata} holds it (Long for integers, String, Boolean,
     *                 GgufArray), except floats: a Double, narrowed to float when written as FLOAT32
     * @param required whether the key is always written; an optional key (one llama.cpp can derive, such as
     *                 {@code key_length} equal to embedding_length / head_count) is written only when the source file
     *                 has it, so a file read and written back keeps exactly its keys
     */
    public record Key(String key, GgufValueType type, Object value, boolean required) {}

    /**
     * How llama-quantize treats a tensor: the token embedding and the output head get their own type rules, block
     * weights the target type, 1-D tensors (norm gains, biases) stay F32.
     */
    public enum Category {
        /** {@code token_embd.weight}, {@code [vocab, hidden]}. */
        TOKEN_EMBD,
        /** {@code output.weight} (an untied LM head), {@code [vocab, hidden]}. */
        OUTPUT,
        /** A block linear's weight {@code [out, in]}. */
        BLOCK_WEIGHT,
        /** An RMSNorm gain (what the forward pass multiplies by). */
        NORM,
        /** A block linear's bias. */
        BIAS;

        /** Whether tensors of this category are 2-D. */
        public boolean isMatrix() { return this == TOKEN_EMBD || this == OUTPUT || this == BLOCK_WEIGHT; }
    }

    /** A tensor's content: a linear's weight (any format) or a vector. */
    public sealed interface Data permits Matrix, Vector {}

    /** The weight {@code [out, in]} of {@code linear} (dense, sparse, low-rank or quantised); GGUF ne = {@code [in, out]}. */
    public record Matrix(Linear linear) implements Data {}

    /** A 1-D tensor. */
    public record Vector(float[] values) implements Data {}

    /**
     * One tensor to export.
     *
     * @param name      llama.cpp's name, e.g. {@code blk.0.attn_q.weight}
     * @param category  what llama-quantize's type rules see
     * @param data      the values, in Hugging Face row order
     * @param ropeHeads 0, or the heads the rows are split into for llama.cpp's interleaved-RoPE row order
     *                  ({@link GgufRope#permuteRows}): q rows and bias by the query heads, k by the key/value heads
     */
    public record Tensor(String name, Category category, Data data, int ropeHeads) {
        public Tensor {
            if (category.isMatrix() != (data instanceof Matrix)) {
                throw new IllegalArgumentException("tensor " + name + ": category " + category + " does not hold " + data);
            }
        }
    }
}
