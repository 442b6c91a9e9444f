package org.prunelab.format;

import java.util.Locale;
import java.util.Optional;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * GGUF's 32-weight block formats ({@link QuantType}: Q8_0, 8.5 bits per weight; Q4_0, 4.5 bits), rounded to nearest
 * exactly as {@code llama-quantize} does and executed on the blocks directly ({@link QuantLinear}). Lossy: zeros stay
 * zeros (a pruned weight rounds to 0), but the format stores them. The bytes are GGUF's, so an export copies them.
 * Whole-model conversions put the LM head in Q8_0 for both types (llama-quantize keeps the output tensor at Q6_K or
 * higher for Q4_0; prunelab has no Q6_K kernel, so Q8_0 is the nearest it runs).
 */
final class QuantFormat implements WeightFormat {
    private final QuantType type;

    QuantFormat(QuantType type) {
        this.type = type;
    }

    @Override
    public String name() { return type.name().toLowerCase(Locale.ROOT); }

    @Override
    public String description() {
        return "GGUF " + type.name() + " blocks (32 weights, fp16 scale, " + (type == QuantType.Q8_0 ? "int8" : "4-bit")
                + " values), round to nearest as llama-quantize; matvec on the blocks";
    }

    @Override
    public boolean lossless() { return false; }

    @Override
    public boolean holds(Linear layer) {
        return layer instanceof QuantLinear q && q.type() == type && q.bias() == null;
    }

    @Override
    public Optional<String> misfit(Linear layer) {
        int in = layer.inFeatures();
        return in % QuantType.BLOCK_SIZE == 0 ? Optional.empty()
                : Optional.of("format " + name() + " needs in_features to be a multiple of " + QuantType.BLOCK_SIZE
                + " (one block of 32 weights per scale), but the layer has " + in + ": use a lossless format (dense)");
    }

    @Override
    public Linear encode(Linear layer) {
        if (holds(layer)) return layer;
        misfit(layer).ifPresent(why -> { throw new IllegalArgumentException(why); });
        return QuantLinear.quantize(type, WeightFormats.denseWeight(layer), null);
    }

    @Override
    public FloatMatrix decode(Linear layer) {
        if (!(layer instanceof QuantLinear q) || q.type() != type) {
            throw new IllegalArgumentException("not a " + name() + " layer: " + layer);
        }
        return q.weight().dequantize();
    }

    @Override
    public long weightBytes(int rows, int cols, long nonZeros) { return type.matrixBytes(rows, cols); }

    @Override
    public Optional<String> ggufType() { return Optional.of(type.name()); }

    @Override
    public Optional<String> lmHeadFormat() { return Optional.of("q8_0"); }

    /** The block type. */
    QuantType type() { return type; }
}
