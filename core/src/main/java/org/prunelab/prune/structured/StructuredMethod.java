package org.prunelab.prune.structured;

import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.FloatMatrix;

/**
 * How a structured method scores the input channels of a consuming linear (o_proj, down_proj) and repairs the
 * consumer after its removed columns are cut. Weights are {@code [out_features, in_features]}.
 */
public sealed interface StructuredMethod {

    /** MLflow method name. */
    String name();

    /** Whether {@link #compensate} needs the Gram matrix of the consumer's input. */
    boolean needsGram();

    /** Importance of each input channel of {@code w} ({@code [in]}); higher is kept first. */
    double[] channelScores(FloatMatrix w, ChannelStats stats);

    /** The consumer cut to columns {@code kept} (ascending), repaired for the removed ones. */
    DenseLinear compensate(DenseLinear consumer, ChannelStats stats, int[] kept);

    /**
     * FASP (Hu et al. 2025): Wanda-style score on the consuming matrix, {@code sum_i |W_ij| * ||X_j||}; after the
     * cut, the consumer is refit by ridge least squares ({@link LeastSquares}) unless {@code restore} is false.
     */
    record Fasp(boolean restore) implements StructuredMethod {
        @Override
        public String name() { return restore ? "fasp" : "fasp-norestore"; }

        @Override
        public boolean needsGram() { return restore; }

        @Override
        public double[] channelScores(FloatMatrix w, ChannelStats stats) {
            double[] norms = stats.norms();
            double[] s = new double[w.cols()];
            for (int r = 0; r < w.rows(); r++) {
                for (int j = 0; j < w.cols(); j++) s[j] += Math.abs(w.data()[r * w.cols() + j]);
            }
            for (int j = 0; j < s.length; j++) s[j] *= norms[j];
            return s;
        }

        @Override
        public DenseLinear compensate(DenseLinear consumer, ChannelStats stats, int[] kept) {
            FloatMatrix w = restore
                    ? LeastSquares.restore(consumer.weight(), stats.gram(), kept, LeastSquares.DEFAULT_DAMP)
                    : BlockShrinker.columns(consumer.weight(), kept);
            return new DenseLinear(w, consumer.bias());
        }
    }

    /**
     * FLAP (An et al., AAAI 2024): fluctuation score {@code Var(x_j) * ||W_:,j||^2}; the removed channels' mean
     * contribution is folded into a bias, {@code b += W[:, removed] @ mean(x_removed)}, so the output's expectation
     * over the calibration data is unchanged.
     */
    record Flap() implements StructuredMethod {
        @Override
        public String name() { return "flap"; }

        @Override
        public boolean needsGram() { return false; }

        @Override
        public double[] channelScores(FloatMatrix w, ChannelStats stats) {
            double[] var = stats.variance();
            double[] s = new double[w.cols()];
            for (int r = 0; r < w.rows(); r++) {
                for (int j = 0; j < w.cols(); j++) {
                    double v = w.data()[r * w.cols() + j];
                    s[j] += v * v;
                }
            }
            for (int j = 0; j < s.length; j++) s[j] *= var[j];
            return s;
        }

        @Override
        public DenseLinear compensate(DenseLinear consumer, ChannelStats stats, int[] kept) {
            FloatMatrix w = consumer.weight();
            boolean[] isKept = new boolean[w.cols()];
            for (int j : kept) isKept[j] = true;
            double[] mean = stats.mean();
            float[] bias = new float[w.rows()];
            for (int r = 0; r < w.rows(); r++) {
                double b = consumer.bias() == null ? 0 : consumer.bias()[r];
                for (int j = 0; j < w.cols(); j++) if (!isKept[j]) b += w.data()[r * w.cols() + j] * mean[j];
                bias[r] = (float) b;
            }
            return new DenseLinear(BlockShrinker.columns(w, kept), bias);
        }
    }
}
