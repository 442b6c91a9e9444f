package org.prunelab.prune.structured;

import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.FloatMatrix;

/**
 * How a coupled-removal method ({@link StructuredPruner}) scores the input channels of a consuming linear (O,
 * DOWN) and repairs the consumer after its removed columns are cut. Weights are {@code [out_features,
 * in_features]}. {@link Fasp} and {@link Flap} are the two; a new scoring rule is one more implementation with its
 * own registry entry.
 */
public interface StructuredMethod {

    /** The registered method name. */
    String name();

    /** Whether {@link #compensate} needs the Gram matrix of the consumer's input. */
    boolean needsGram();

    /** Importance of each input channel of {@code w} ({@code [in]}); higher is kept first. */
    double[] channelScores(FloatMatrix w, ChannelStats stats);

    /**
     * Whether {@link #compensate} gives the consumer a bias (FLAP folds the removed channels' mean into one), which the
     * saved checkpoint's family must be able to hold on O and DOWN.
     */
    default boolean addsBias() { return false; }

    /** The consumer cut to columns {@code kept} (ascending), repaired for the removed ones. */
    DenseLinear compensate(DenseLinear consumer, ChannelStats stats, int[] kept);
}
