package org.prunelab.prune.structured;

import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.LlamaModel;

import java.util.List;

/**
 * The outcome of a structured prune: a new, smaller model and what it cost.
 *
 * @param method          MLflow method name (fasp, fasp-norestore, flap, shortgpt, lowrank)
 * @param requested       the requested ratio (sparsity, layers / num_hidden_layers, or 1 - rank ratio)
 * @param allocation      uniform or global (shortgpt/lowrank: uniform)
 * @param model           the pruned model (the input model is untouched)
 * @param paramsBefore    parameters of the blocks' linears before pruning
 * @param paramsAfter     parameters of the blocks' linears after pruning
 * @param removedLayers   indices of removed decoder blocks (ShortGPT), else empty
 */
public record StructuredResult(String method, double requested, String allocation, LlamaModel model,
                               long paramsBefore, long paramsAfter, List<Integer> removedLayers) {

    public StructuredResult {
        removedLayers = List.copyOf(removedLayers);
    }

    /** Share of the blocks' linear parameters removed: the actual ratio, after rounding to whole units. */
    public double actualRatio() {
        return paramsBefore == 0 ? 0 : 1 - (double) paramsAfter / paramsBefore;
    }

    /** Each remaining block's widths. */
    public List<BlockShape> shapes() {
        return model.blocks().stream().map(DecoderBlock::shape).toList();
    }
}
