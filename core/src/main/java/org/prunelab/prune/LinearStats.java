package org.prunelab.prune;

import org.prunelab.model.DecoderBlock;
import org.prunelab.tensor.Linear;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A {@link BlockObserver} that keeps one statistics object per <em>input group</em> of a block
 * ({@link org.prunelab.model.BlockLayout#inputGroups()}: the Q/K/V linears share one, GATE/UP share one), for the linears a method asked for, and
 * feeds it each window's input once. Methods read the statistics by linear name and treat them as read-only.
 *
 * @param <S> the method's statistics type
 */
public final class LinearStats<S extends CalibrationStats> implements BlockObserver {
    private final Map<String, S> byLinear = new LinkedHashMap<>();
    private final Map<String, S> byOwner = new LinkedHashMap<>();

    /**
     * @param block   the block about to run
     * @param linears the linears whose inputs are wanted (the family's names)
     * @param factory new statistics for a linear with that many input features
     */
    public LinearStats(DecoderBlock block, Collection<String> linears, IntFunction<S> factory) {
        for (List<String> group : block.layout().inputGroups()) {
            for (String name : group) {
                if (!linears.contains(name)) continue;
                Linear linear = block.linear(name);
                String owner = group.getFirst();
                byLinear.put(name, byOwner.computeIfAbsent(owner, o -> factory.apply(linear.inFeatures())));
            }
        }
    }

    /** Statistics for every linear of the block. */
    public static <S extends CalibrationStats> LinearStats<S> all(DecoderBlock block, IntFunction<S> factory) {
        return new LinearStats<>(block, block.linearNames(), factory);
    }

    /** The statistics of {@code linear}'s input (shared with the other linears of its input group). */
    public S get(String linear) {
        S s = byLinear.get(linear);
        if (s == null) throw new IllegalArgumentException("no statistics were collected for " + linear);
        return s;
    }

    @Override
    public void onLinearInput(String linear, float[] x, int tokens, int inFeatures) {
        S s = byOwner.get(linear); // only the group's first linear feeds it: each input is counted once
        if (s != null) s.add(x, tokens);
    }
}
