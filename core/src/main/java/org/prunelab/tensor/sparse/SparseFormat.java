package org.prunelab.tensor.sparse;

import java.util.Locale;

/** How a linear layer's weight is executed: dense fp32, compressed sparse rows, or packed N:M. */
public enum SparseFormat {
    /** Plain [out, in] fp32 with BLAS; the caller builds it (DenseLinear). */
    DENSE,
    /** {@link CsrLinear}: unstructured sparsity. */
    CSR,
    /** {@link NmLinear}: 2:4 or 4:8 (any N:M with M &lt;= 8). */
    NM;

    /** The name used on the command line and in MLflow: {@code dense}, {@code csr}, {@code nm}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
