package org.prunelab.prune;

import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderBlock;
import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderModel;

import java.util.List;
import java.util.Map;

/**
 * What one pruning run produced: the new model and what it removed. {@link #actualSparsity()} means the same for
 * every method — the share of the input's decoder-block linear parameters (weights and biases, as dense matrices) that
 * are zero or gone afterwards: zeroed by a mask, or deleted with their row, column, head, block or rank. It counts
 * weights that were exactly zero before pruning too (a dequantised Q4_1 model has a few: 0.03% of SmolLM2-135M's), as a
 * sparse format sees them. Embeddings, norms and the LM head are never pruned and never counted.
 *
 * @param method            the registered method name
 * @param requestedSparsity what was asked for, in the method's own terms ({@link Pruner#requestedSparsity})
 * @param model             the pruned model (a new object; see {@link PruneOptions})
 * @param paramsBefore      parameters of the input's block linears (weights and biases, as dense matrices)
 * @param paramsAfter       parameters the output's block linears store (as dense matrices of their shapes)
 * @param nonzeroAfter      of those, the ones that are not zero
 * @param linears           per-linear outcome of a mask method, block by block; empty for structured methods
 * @param blockSparsities   OWL's sparsity per block, or null
 * @param allocation        {@code uniform} or {@code global} for structured methods, else null
 * @param removedLayers     indices of removed decoder blocks (ShortGPT), else empty
 * @param extra             further method-specific facts for the report (name -> number, text or list), may be empty
 * @param warnings          what the user should know (a target the method could not reach, ...); may name parameters
 *                          with {@code ${param}} placeholders
 */
public record PruneOutcome(String method, double requestedSparsity, DecoderModel model, long paramsBefore, long paramsAfter,
                           long nonzeroAfter, List<PrunedLinear> linears, double[] blockSparsities, String allocation,
                           List<Integer> removedLayers, Map<String, Object> extra, List<String> warnings) {

    public PruneOutcome {
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
        linears = List.copyOf(linears);
        removedLayers = List.copyOf(removedLayers);
        blockSparsities = blockSparsities == null ? null : blockSparsities.clone();
        extra = Map.copyOf(extra);
    }

    /**
     * The share of the input's block-linear parameters that are zero or gone: {@code 1 - nonzeroAfter / paramsBefore},
     * the actual ratio after rounding to whole units, rows or groups.
     */
    public double actualSparsity() {
        return paramsBefore == 0 ? 0 : 1 - (double) nonzeroAfter / paramsBefore;
    }

    /**
     * The pruned model with every quantised linear ({@link PrunedLinear#quantized()} not null) as a
     * {@link org.prunelab.tensor.quant.QuantLinear} over its GGUF blocks, bias kept: the same weights as {@link #model()}
     * holds in fp32, run by the block-format kernels and stored at the format's size. {@link #model()} itself when
     * nothing was quantised.
     */
    public DecoderModel quantizedModel() {
        if (linears.stream().allMatch(l -> l.quantized() == null)) return model;
        java.util.List<DecoderBlock> blocks = new java.util.ArrayList<>();
        for (DecoderBlock b : model.blocks()) {
            Map<String, Linear> ls = new java.util.LinkedHashMap<>(b.linears());
            for (PrunedLinear pl : linears) {
                if (pl.layer() != b.index() || pl.quantized() == null) continue;
                float[] bias = ls.get(pl.name()) instanceof org.prunelab.model.DenseLinear d ? d.bias() : null;
                ls.put(pl.name(), new org.prunelab.tensor.quant.QuantLinear(pl.quantized(), bias));
            }
            blocks.add(b.withLinears(b.index(), ls));
        }
        return model.withBlocks(model.config(), blocks);
    }

    /** Whether OWL chose per-block sparsities. */
    public boolean owl() { return blockSparsities != null; }

    @Override
    public double[] blockSparsities() { return blockSparsities == null ? null : blockSparsities.clone(); }

    /** Each block's widths after pruning. */
    public List<BlockShape> shapes() {
        return model.blocks().stream().map(DecoderBlock::shape).toList();
    }

    /** Parameters of all block linears of {@code model} as dense matrices of their shapes (weights and biases). */
    public static long linearParameters(DecoderModel model) {
        long n = 0;
        for (DecoderBlock b : model.blocks()) n += b.linearParameters();
        return n;
    }

    /** Nonzero parameters of all block linears of {@code model}. */
    public static long nonzeroParameters(DecoderModel model) {
        long n = 0;
        for (DecoderBlock b : model.blocks()) n += b.linearTotals().nonZero();
        return n;
    }
}
