package org.prunelab.tensor.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.prunelab.tensor.sparse.SparseTestData.nm;
import static org.prunelab.tensor.sparse.SparseTestData.unstructured;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;

class FormatsTest {

    @Test
    void autoPicksNmForExactPatterns() {
        FormatChoice c24 = Formats.choose(nm(64, 64, 2, 4, 0.0, 1), "auto");
        assertThat(c24.format()).isEqualTo(SparseFormat.NM);
        assertThat(c24.label()).isEqualTo("2:4");
        assertThat(c24.sparsity()).isEqualTo(0.5);

        FormatChoice c48 = Formats.choose(nm(64, 64, 4, 8, 0.0, 2), "AUTO");
        assertThat(c48.label()).isEqualTo("4:8");
        assertThat(c48.reason()).contains("4:8");
    }

    @Test
    void autoPicksCsrAboveTheCrossoverAndDenseBelow() {
        FloatMatrix sparse = unstructured(128, 128, Formats.CSR_MIN_SPARSITY + 0.05, 3);
        assertThat(Formats.choose(sparse, "auto").format()).isEqualTo(SparseFormat.CSR);
        FloatMatrix mild = unstructured(128, 128, Formats.CSR_MIN_SPARSITY - 0.15, 4);
        FormatChoice dense = Formats.choose(mild, "auto");
        assertThat(dense.format()).isEqualTo(SparseFormat.DENSE);
        assertThat(dense.reason()).contains("below the CSR crossover");
        // an all-zero matrix is trivially 2:4, but CSR stores nothing at all
        assertThat(Formats.choose(FloatMatrix.zeros(16, 16), "auto").format()).isEqualTo(SparseFormat.CSR);
    }

    @Test
    void explicitRequestsAreHonoured() {
        FloatMatrix w = unstructured(32, 32, 0.2, 5);
        assertThat(Formats.choose(w, "dense").format()).isEqualTo(SparseFormat.DENSE);
        assertThat(Formats.choose(w, "csr").format()).isEqualTo(SparseFormat.CSR);
        assertThat(Formats.choose(nm(32, 32, 2, 4, 0.2, 6), " nm ").label()).isEqualTo("2:4");
    }

    @Test
    void buildReturnsTheChosenLayerAndDelegatesDense() {
        FloatMatrix w24 = nm(16, 32, 2, 4, 0.0, 7);
        assertThat(Formats.choose(w24, "auto").build(w24, m -> { throw new AssertionError("not dense"); }))
                .isInstanceOf(NmLinear.class);
        FloatMatrix w90 = unstructured(16, 32, 0.97, 8);
        assertThat(Formats.choose(w90, "csr").build(w90, m -> { throw new AssertionError("not dense"); }))
                .isInstanceOf(CsrLinear.class);
        AtomicReference<FloatMatrix> passed = new AtomicReference<>();
        Linear sentinel = CsrLinear.of(w90);
        assertThat(Formats.choose(w90, "dense").build(w90, m -> { passed.set(m); return sentinel; })).isSameAs(sentinel);
        assertThat(passed.get()).isSameAs(w90);
    }

    @Test
    void nmOnUnstructuredWeightsNamesTheFormatThatWorks() {
        FloatMatrix w70 = unstructured(64, 64, 0.75, 9);
        assertThatThrownBy(() -> Formats.choose(w70, "nm"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("neither")
                .hasMessageContaining("row ")
                .hasMessageContaining("use format csr");
        FloatMatrix w30 = unstructured(64, 64, 0.3, 10);
        assertThatThrownBy(() -> Formats.choose(w30, "nm"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("use format dense");
    }

    @Test
    void unknownFormatListsTheChoices() {
        assertThatThrownBy(() -> Formats.choose(FloatMatrix.zeros(2, 2), "bsr"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("'bsr'")
                .hasMessageContaining("auto, dense, csr or nm");
    }
}
