package org.prunelab.format;

import java.util.Optional;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;

/**
 * Plain fp32 {@code [out_features, in_features]} (zeros stored: "masked dense"), computed by BLAS for several tokens
 * and by the Vector API matrix-vector kernel for one ({@link DenseLinear}). Every layer can be decoded to it.
 */
final class DenseFormat implements WeightFormat {
    @Override
    public String name() { return "dense"; }

    @Override
    public String description() { return "fp32, zeros stored; BLAS sgemm for prefill, Vector API matvec for decode"; }

    @Override
    public boolean lossless() { return true; }

    @Override
    public boolean holds(Linear layer) { return layer instanceof DenseLinear; }

    @Override
    public Optional<String> misfit(Linear layer) { return Optional.empty(); }

    @Override
    public Linear encode(Linear layer) {
        return holds(layer) ? layer : new DenseLinear(WeightFormats.denseWeight(layer), null);
    }

    @Override
    public FloatMatrix decode(Linear layer) {
        if (!(layer instanceof DenseLinear d)) throw new IllegalArgumentException("not a dense layer: " + layer);
        return d.weight();
    }

    @Override
    public long weightBytes(int rows, int cols, long nonZeros) { return 4L * rows * cols; }

    @Override
    public Optional<String> ggufType() { return Optional.of("F32"); }
}
