package org.prunelab.format;

import java.util.Optional;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.quant.QuantType;
import org.prunelab.tensor.sparse.NmQuantLinear;
import org.prunelab.tensor.sparse.PackedNmQuantMatrix;

/**
 * Packed 2:4 / 4:8 with quantised kept values ({@link NmQuantLinear}, {@link PackedNmQuantMatrix}): the kept values
 * of a row in ggml blocks of 32 (Q8_0: int8, Q4_0: 4-bit; one fp16 scale each) plus each value's position in its
 * group. At 2:4 that is 0.66 (int8) or 0.41 (4-bit) bytes per dense weight against dense Q8_0's 1.06: the sparsity
 * saves bytes decode must stream. Lossy; the LM head goes to Q8_0 in a whole-model conversion (it is not N:M).
 */
final class NmQuantFormat implements WeightFormat {
    private final QuantType type;

    NmQuantFormat(QuantType type) {
        this.type = type;
    }

    @Override
    public String name() { return type == QuantType.Q8_0 ? "nm-q8" : "nm-q4"; }

    @Override
    public String description() {
        return "packed 2:4 / 4:8 with " + (type == QuantType.Q8_0 ? "int8" : "4-bit")
                + " kept values in ggml blocks of 32 (fp16 scale) + 2-bit positions; decode on kept values only";
    }

    @Override
    public boolean lossless() { return false; }

    @Override
    public boolean holds(Linear layer) {
        return layer instanceof NmQuantLinear q && q.weight().type() == type;
    }

    @Override
    public Optional<String> misfit(Linear layer) {
        if (holds(layer)) return Optional.empty();
        FloatMatrix w = WeightFormats.denseWeight(layer);
        return WeightFormats.nmPattern(w).isPresent() ? Optional.empty()
                : Optional.of(WeightFormats.notNmMessage(w, name()));
    }

    @Override
    public Linear encode(Linear layer) {
        if (holds(layer)) return layer;
        FloatMatrix w = WeightFormats.denseWeight(layer);
        int[] nm = WeightFormats.nmPattern(w).orElseThrow(() -> new IllegalArgumentException(
                WeightFormats.notNmMessage(w, name())));
        return NmQuantLinear.of(w, nm[0], nm[1], type);
    }

    @Override
    public FloatMatrix decode(Linear layer) {
        if (!(layer instanceof NmQuantLinear q) || q.weight().type() != type) {
            throw new IllegalArgumentException("not an " + name() + " layer: " + layer);
        }
        return q.weight().toDense();
    }

    /** 2:4 layout: half the columns' values in whole blocks of 32 per row, plus 2 bits of position per kept value. */
    @Override
    public long weightBytes(int rows, int cols, long nonZeros) {
        return PackedNmQuantMatrix.bytes(rows, cols, 2, 4, type);
    }

    @Override
    public Optional<String> lmHeadFormat() { return Optional.of("q8_0"); }

    @Override
    public String label(Linear layer) {
        return layer instanceof NmQuantLinear q ? q.weight().n() + ":" + q.weight().m() + "-" + (type == QuantType.Q8_0 ? "q8" : "q4") : name();
    }
}
