package org.prunelab.prune.structured;

import org.prunelab.model.DenseLinear;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodParam;
import org.prunelab.tensor.FloatMatrix;

import java.util.List;

/**
 * FASP (Hu et al. 2025): Wanda-style score on the consuming matrix, {@code sum_i |W_ij| * ||X_j||}; after the
 * cut, the consumer is refit by ridge least squares ({@link LeastSquares}) unless {@code restore} is false.
 *
 * @param restore whether O and DOWN are refit on the calibration activations after the cut
 */
public record Fasp(boolean restore) implements StructuredMethod {

    /** The registry entry. */
    public static final Method METHOD = new Method("fasp", Method.Kind.STRUCTURED,
            "remove MLP channels (gate/up rows + down column) and attention heads (q rows + o columns; k/v in whole groups), "
                    + "then refit the attention output and MLP down projections by least squares",
            "Hu et al., \"FASP: Fast and Accurate Structured Pruning of Large Language Models\", arXiv:2501.09412, 2025",
            "the MLP channels and the attention heads of every block (uniform), or the blocks' linear parameters (global)",
            List.of(MethodParam.number("sparsity", null, 0, true, 1, false,
                            "share of MLP channels and attention heads to remove per block (uniform), or of the blocks' linear parameters (global)"),
                    MethodParam.choice("allocation", "uniform", List.of("uniform", "global"),
                            "uniform: the same share in every block; global: units ranked across blocks (FLAP's z-scores)"),
                    MethodParam.bool("restore", true, "refit the attention output and MLP down projections by ridge least squares on the calibration activations")),
            args -> new StructuredPruner(new Fasp(args.bool("restore")), args.number("sparsity"),
                    StructuredPruner.Allocation.of(args.text("allocation"))));

    @Override
    public String name() { return "fasp"; }

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
