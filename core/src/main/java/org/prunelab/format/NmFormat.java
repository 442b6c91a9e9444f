package org.prunelab.format;

import java.util.Optional;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.sparse.NmLinear;
import org.prunelab.tensor.sparse.PackedNmMatrix;

/**
 * Packed N:M ({@link NmLinear}, {@link PackedNmMatrix}): the N kept fp32 values of every group of M plus an occupancy
 * bitmap; 2:4 or 4:8, whichever the weight satisfies (2:4 first).
 */
final class NmFormat implements WeightFormat {
    @Override
    public String name() { return "nm"; }

    @Override
    public String description() { return "packed 2:4 / 4:8: kept fp32 values + a bitmap of their positions"; }

    @Override
    public boolean lossless() { return true; }

    @Override
    public boolean holds(Linear layer) { return layer instanceof NmLinear; }

    @Override
    public Optional<String> misfit(Linear layer) {
        if (holds(layer)) return Optional.empty();
        return WeightFormats.nmPattern(WeightFormats.denseWeight(layer)).isPresent() ? Optional.empty()
                : Optional.of(WeightFormats.notNmMessage(WeightFormats.denseWeight(layer), "nm"));
    }

    @Override
    public Linear encode(Linear layer) {
        if (holds(layer)) return layer;
        FloatMatrix w = WeightFormats.denseWeight(layer);
        int[] nm = WeightFormats.nmPattern(w).orElseThrow(() -> new IllegalArgumentException(
                WeightFormats.notNmMessage(w, "nm")));
        return NmLinear.of(w, nm[0], nm[1]);
    }

    @Override
    public FloatMatrix decode(Linear layer) {
        if (!(layer instanceof NmLinear n)) throw new IllegalArgumentException("not a packed N:M layer: " + layer);
        return n.weight().toDense();
    }

    /** 2:4 layout: half the weights as fp32 plus one bit per weight. */
    @Override
    public long weightBytes(int rows, int cols, long nonZeros) {
        long words = (cols + 63L) / 64;
        return 4L * rows * ((cols + 1) / 2) + 8L * rows * words;
    }

    @Override
    public String label(Linear layer) {
        return layer instanceof NmLinear n ? n.weight().n() + ":" + n.weight().m() : name();
    }
}
