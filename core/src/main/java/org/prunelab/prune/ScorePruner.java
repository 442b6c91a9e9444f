package org.prunelab.prune;

import org.prunelab.tensor.FloatMatrix;

/**
 * A method that only scores weights and removes the lowest, without changing the kept ones. A new
 * score is a subclass with {@link #scores} and {@link #group}; selection stays in {@link MaskSelector}.
 */
public abstract class ScorePruner<S extends CalibrationStats> implements PruningMethod<S> {

    /** Importance of each weight, row-major {@code [out_features, in_features]}; lower is pruned first. */
    protected abstract double[] scores(FloatMatrix weight, S stats);

    /** Which weights compete under an unstructured pattern. */
    protected abstract MaskSelector.Group group();

    /** Input features with no signal in {@code stats}, reported in the result. */
    protected int deadInputs(S stats) { return 0; }

    @Override
    public final PruneResult prune(FloatMatrix weight, S stats, SparsityPattern pattern) {
        Checks.stats(name(), weight, stats, needsCalibration());
        Checks.pattern(weight, pattern);
        Mask mask = MaskSelector.select(scores(weight, stats), weight.rows(), weight.cols(), pattern, group());
        mask.applyTo(weight);
        return new PruneResult(mask, deadInputs(stats), 0);
    }
}
