package org.prunelab.prune.structured;

import org.prunelab.model.DenseLinear;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodParam;
import org.prunelab.tensor.FloatMatrix;

import java.util.List;

/**
 * FLAP (An et al., AAAI 2024): fluctuation score {@code Var(x_j) * ||W_:,j||^2}; the removed channels' mean
 * contribution is folded into a bias, {@code b += W[:, removed] @ mean(x_removed)}, so the output's expectation
 * over the calibration data is unchanged.
 */
public record Flap() implements StructuredMethod {

    /** The registry entry. */
    public static final Method METHOD = new Method("flap", Method.Kind.STRUCTURED,
            "remove the channels and key/value groups of lowest fluctuation Var(x_j) * ||W_:,j||^2, fold their mean into a bias",
            "An et al., \"Fluctuation-based Adaptive Structured Pruning for Large Language Models\", AAAI 2024",
            "the blocks' linear parameters (global), or the MLP channels and heads of every block (uniform)",
            List.of(MethodParam.number("sparsity", null, 0, true, 1, false,
                            "share of the blocks' linear parameters to remove (global), or of each block's channels and heads (uniform)"),
                    MethodParam.choice("allocation", "global", List.of("uniform", "global"),
                            "global: z-scored units ranked across blocks (the paper's); uniform: the same share in every block")),
            args -> new StructuredPruner(new Flap(), args.number("sparsity"), StructuredPruner.Allocation.of(args.text("allocation"))));

    @Override
    public String name() { return "flap"; }

    @Override
    public boolean needsGram() { return false; }

    @Override
    public boolean addsBias() { return true; }

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
