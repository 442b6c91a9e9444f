package org.prunelab.format;

import java.util.Optional;
import org.prunelab.model.LowRankLinear;
import org.prunelab.tensor.FloatMatrix;
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

    /** The product {@code B A} {@code [out, in]}, accumulated in double and rounded once to float. */
    @Override
    public FloatMatrix decode(Linear layer) {
        if (!(layer instanceof LowRankLinear l)) throw new IllegalArgumentException("not a low-rank layer: " + layer);
        FloatMatrix a = l.a(), b = l.b();
        int out = b.rows(), in = a.cols(), rank = a.rows();
        float[] w = new float[out * in];
        double[] row = new double[in];
        for (int o = 0; o < out; o++) {
            java.util.Arrays.fill(row, 0);
            for (int r = 0; r < rank; r++) {
                double bor = b.get(o, r);
                if (bor == 0) continue;
                int aOff = r * in;
                for (int i = 0; i < in; i++) row[i] += bor * a.data()[aOff + i];
            }
            for (int i = 0; i < in; i++) w[o * in + i] = (float) row[i];
        }
        return new FloatMatrix(out, in, w);
    }

    /** {@code nonZeros} is read as the stored parameters of both factors, {@code rank * (rows + cols)}. */
    @Override
    public long weightBytes(int rows, int cols, long nonZeros) { return 4L * nonZeros; }
}
