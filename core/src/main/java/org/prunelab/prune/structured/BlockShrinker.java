package org.prunelab.prune.structured;

import org.prunelab.model.BlockLayout;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.LinearRole;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Physically removes what a {@link BlockPlan} drops from a block, the coupled units of {@link
 * org.prunelab.model.BlockLayout}: rows of Q (removed heads), K/V (removed key/value groups), GATE/UP (removed
 * channels), and the matching columns of O and DOWN. Weights are {@code [out_features, in_features]}; biases of the
 * row-cut linears are cut alike (Qwen2's q/k/v biases); per-head norms (Gemma 3's q/k norms, width head_dim) are
 * shared by all heads and stay.
 */
public final class BlockShrinker {
    private BlockShrinker() {}

    /**
     * The block's linears with the plan applied, by the family's names; O and DOWN are replaced by {@code oProj} and
     * {@code downProj} (already cut to the kept columns, possibly restored or bias-compensated).
     */
    static Map<String, Linear> shrink(DecoderBlock block, BlockPlan plan, int headDim, Linear oProj, Linear downProj) {
        Map<String, Linear> l = new LinkedHashMap<>();
        int[] qRows = expand(plan.keptHeads(), headDim);
        int[] kvRows = expand(plan.keptGroups(), headDim);
        BlockLayout names = block.layout();
        l.put(names.name(LinearRole.Q), rows(block.linear(LinearRole.Q), qRows));
        l.put(names.name(LinearRole.K), rows(block.linear(LinearRole.K), kvRows));
        l.put(names.name(LinearRole.V), rows(block.linear(LinearRole.V), kvRows));
        l.put(names.name(LinearRole.O), oProj);
        l.put(names.name(LinearRole.GATE), rows(block.linear(LinearRole.GATE), plan.keptChannels()));
        l.put(names.name(LinearRole.UP), rows(block.linear(LinearRole.UP), plan.keptChannels()));
        l.put(names.name(LinearRole.DOWN), downProj);
        return l;
    }

    /** Indices of the {@code width}-wide slices {@code units} (heads to their rows), ascending. */
    public static int[] expand(int[] units, int width) {
        int[] out = new int[units.length * width];
        for (int i = 0; i < units.length; i++) {
            for (int d = 0; d < width; d++) out[i * width + d] = units[i] * width + d;
        }
        return out;
    }

    /** The dense linear with only rows {@code keep} (bias too). */
    static DenseLinear rows(Linear linear, int[] keep) {
        DenseLinear d = (DenseLinear) linear;
        FloatMatrix w = d.weight();
        int in = w.cols();
        float[] out = new float[keep.length * in];
        for (int i = 0; i < keep.length; i++) System.arraycopy(w.data(), keep[i] * in, out, i * in, in);
        float[] bias = null;
        if (d.bias() != null) {
            bias = new float[keep.length];
            for (int i = 0; i < keep.length; i++) bias[i] = d.bias()[keep[i]];
        }
        return new DenseLinear(new FloatMatrix(keep.length, in, out), bias);
    }

    /** Columns {@code keep} of {@code w} ({@code [rows, keep.length]}). */
    public static FloatMatrix columns(FloatMatrix w, int[] keep) {
        int in = w.cols();
        float[] out = new float[w.rows() * keep.length];
        for (int r = 0; r < w.rows(); r++) {
            for (int i = 0; i < keep.length; i++) out[r * keep.length + i] = w.data()[r * in + keep[i]];
        }
        return new FloatMatrix(w.rows(), keep.length, out);
    }
}
