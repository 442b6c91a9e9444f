package org.prunelab.format;

import java.util.Optional;
import org.prunelab.model.LowRankLinear;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Linear;

/**
 * Two fp32 factors {@code W ~= B A} ({@link LowRankLinear}), as the {@code lowrank} pruning method leaves a layer.
 * Only that method makes them (it chooses the rank from the calibration data): this format holds and decodes such
 * layers but encodes no other.
 */
final class LowRankFormat implements WeightFormat {
    @Override
    public String name() { return "lowrank"; }

    @Override
    public String description() { return "two fp32 factors B [out, rank] and A [rank, in]; made by the lowrank method"; }

    @Override
    public boolean lossless() { return true; }

    @Override
    public boolean holds(Linear layer) { return layer instanceof LowRankLinear; }

    @Override
    public Optional<String> misfit(Linear layer) {
        return holds(layer) ? Optional.empty() : Optional.of("low-rank factors are made by the lowrank pruning method"
                + " (it picks each layer's rank); a weight cannot be converted to them: prune with --method lowrank");
    }

    @Override
    public Linear encode(Linear layer) {
        if (!holds(layer)) throw new IllegalArgumentException(misfit(layer).orElseThrow());
        return layer;
    }

    /** The product {@code B A} {@code [out, in]}. */
    @Override
    public FloatMatrix decode(Linear layer) {
        if (!(layer instanceof LowRankLinear l)) throw new IllegalArgumentException("not a low-rank layer: " + layer);
        FloatMatrix a = l.a(), b = l.b();
        float[] w = new float[b.rows() * a.cols()];
        // W = B A: [out, rank] x [rank, in]
        Gemm.active().sgemm(false, false, b.rows(), a.cols(), a.rows(), 1f, b.data(), 0, b.cols(), a.data(), 0,
                a.cols(), 0f, w, 0, a.cols());
        return new FloatMatrix(b.rows(), a.cols(), w);
    }

    /** {@code nonZeros} is read as the stored parameters of both factors, {@code rank * (rows + cols)}. */
    @Override
    public long weightBytes(int rows, int cols, long nonZeros) { return 4L * nonZeros; }
}
