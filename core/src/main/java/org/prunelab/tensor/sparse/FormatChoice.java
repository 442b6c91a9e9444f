package org.prunelab.tensor.sparse;

import java.util.function.Function;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;

/**
 * The outcome of {@link Formats#choose}: which format, why, and for {@link SparseFormat#NM} the pattern.
 *
 * @param format   the chosen format
 * @param n        weights kept per group when format is NM, else 0
 * @param m        group size when format is NM, else 0
 * @param sparsity fraction of the weights that are exactly zero, in [0, 1]
 * @param reason   one sentence for logs and the CLI, e.g. "2:4 pattern holds in every group"
 */
public record FormatChoice(SparseFormat format, int n, int m, double sparsity, String reason) {

    /**
     * Builds the layer for {@code weight} in the chosen format; {@code dense} builds the dense case
     * (pass the BLAS DenseLinear's constructor or factory).
     */
    public Linear build(FloatMatrix weight, Function<FloatMatrix, Linear> dense) {
        return switch (format) {
            case DENSE -> dense.apply(weight);
            case CSR -> CsrLinear.of(weight);
            case NM -> NmLinear.of(weight, n, m);
        };
    }

    /** {@code dense}, {@code csr}, or the pattern such as {@code 2:4}. */
    public String label() {
        return format == SparseFormat.NM ? n + ":" + m : format.label();
    }
}
