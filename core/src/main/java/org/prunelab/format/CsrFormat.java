package org.prunelab.format;

import java.util.Optional;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.sparse.CsrLinear;

/**
 * Compressed sparse rows ({@link CsrLinear}): fp32 values plus int32 column indices of the nonzeros, 8 bytes each,
 * and one row pointer per row. Holds any weight; pays off for unstructured sparsity from about 70% (see
 * {@link WeightFormats#CSR_MIN_SPARSITY}).
 */
final class CsrFormat implements WeightFormat {
    @Override
    public String name() { return "csr"; }

    @Override
    public String description() { return "compressed sparse rows (fp32 value + int32 column per nonzero); unstructured sparsity"; }

    @Override
    public boolean lossless() { return true; }

    @Override
    public boolean holds(Linear layer) { return layer instanceof CsrLinear; }

    @Override
    public Optional<String> misfit(Linear layer) { return Optional.empty(); }

    @Override
    public Linear encode(Linear layer) {
        return holds(layer) ? layer : CsrLinear.of(WeightFormats.denseWeight(layer));
    }

    @Override
    public FloatMatrix decode(Linear layer) {
        if (!(layer instanceof CsrLinear c)) throw new IllegalArgumentException("not a CSR layer: " + layer);
        return c.weight().toDense();
    }

    @Override
    public long weightBytes(int rows, int cols, long nonZeros) { return 8L * nonZeros + 4L * (rows + 1); }
}
