package org.prunelab.prune;

import java.util.List;

/**
 * The outcome of a {@link LayerwisePruner} run.
 *
 * @param method          the method's name (magnitude, wanda, sparsegpt)
 * @param pattern         the requested pattern (unstructured target or N:M)
 * @param linears         every pruned linear, block by block in forward order
 * @param blockSparsities OWL's sparsity per block, in block order; null when OWL was not used
 */
public record LayerwiseResult(String method, SparsityPattern pattern, List<PrunedLinear> linears, double[] blockSparsities) {

    public LayerwiseResult {
        linears = List.copyOf(linears);
        blockSparsities = blockSparsities == null ? null : blockSparsities.clone();
    }

    /** Zero weights over all weights of the pruned linears (embeddings, norms and LM head excluded). */
    public double actualSparsity() {
        long zeros = 0;
        long total = 0;
        for (PrunedLinear l : linears) {
            zeros += l.zeros();
            total += l.parameters();
        }
        return total == 0 ? 0 : (double) zeros / total;
    }

    /** Whether OWL chose per-block sparsities. */
    public boolean owl() { return blockSparsities != null; }

    @Override
    public double[] blockSparsities() { return blockSparsities == null ? null : blockSparsities.clone(); }
}
