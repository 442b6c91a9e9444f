package org.prunelab.sweep;

import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.Linear;
import org.prunelab.model.LlamaModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A copy of every block's linear weights, so one loaded model serves a whole sweep: pruning edits weights
 * in place (or swaps a linear for a packed one), and {@link #restore()} puts the dense originals back
 * before the next point. Costs one extra copy of the linears' fp32 weights (~0.4 GB for SmolLM2-135M);
 * embeddings, norms and the LM head are never pruned and are not copied.
 */
final class ModelSnapshot {
    private final LlamaModel model;
    /** Per block: the original linear objects and a copy of each dense weight's data. */
    private final List<Map<String, Linear>> linears = new ArrayList<>();
    private final List<Map<String, float[]>> weights = new ArrayList<>();

    ModelSnapshot(LlamaModel model) {
        this.model = model;
        for (DecoderBlock block : model.blocks()) {
            Map<String, Linear> l = block.linears();
            Map<String, float[]> w = new LinkedHashMap<>();
            l.forEach((name, linear) -> {
                if (linear instanceof DenseLinear d) w.put(name, d.weight().data().clone());
            });
            linears.add(l);
            weights.add(w);
        }
    }

    /** Puts back every original linear and its original weights. */
    void restore() {
        for (int b = 0; b < linears.size(); b++) {
            DecoderBlock block = model.block(b);
            Map<String, Linear> originals = linears.get(b);
            originals.forEach((name, original) -> {
                if (block.linear(name) != original) block.setLinear(name, original);
            });
            weights.get(b).forEach((name, data) -> {
                float[] live = ((DenseLinear) originals.get(name)).weight().data();
                System.arraycopy(data, 0, live, 0, data.length);
            });
        }
    }
}
