package org.prunelab.prune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

/** Bad inputs fail with an InvalidArgument (or PrunelabException) that says what to do. */
class PruningValidationTest {

    @Test
    void sparsityOutsideUnitInterval() {
        for (double s : new double[] {-0.1, 1.0, 1.5, Double.NaN}) {
            assertThatThrownBy(() -> SparsityPattern.unstructured(s))
                    .isInstanceOf(PrunelabException.InvalidArgument.class)
                    .hasMessageContaining("outside [0, 1)");
        }
        assertThat(SparsityPattern.unstructured(0).sparsity()).isZero();
    }

    @Test
    void nmNeedsNBetweenZeroAndM() {
        for (int[] nm : new int[][] {{4, 4}, {5, 4}, {0, 4}, {-1, 4}, {1, 1}}) {
            assertThatThrownBy(() -> SparsityPattern.nm(nm[0], nm[1]))
                    .isInstanceOf(PrunelabException.InvalidArgument.class)
                    .hasMessageContaining(nm[0] + ":" + nm[1])
                    .hasMessageContaining("0 < N < M");
        }
        assertThat(SparsityPattern.nm(2, 4).sparsity()).isEqualTo(0.5);
        assertThat(SparsityPattern.parse("4:8")).isEqualTo(new SparsityPattern.NM(4, 8));
        assertThat(SparsityPattern.parse("0.7")).isEqualTo(new SparsityPattern.Unstructured(0.7));
        assertThatThrownBy(() -> SparsityPattern.parse("half"))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("cannot read sparsity pattern 'half'");
    }

    @Test
    void mMustDivideInFeatures() {
        FloatMatrix w = FloatMatrix.zeros(4, 6);
        InputNormStats stats = new InputNormStats(6);
        stats.add(new float[6], 1);
        assertThatThrownBy(() -> new WandaPruner().prune(w, stats, SparsityPattern.nm(2, 4)))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("divisible by 4").hasMessageContaining("has 6 input features");
        assertThatThrownBy(() -> new MagnitudePruner().prune(w, new NoStats(6), SparsityPattern.nm(4, 8)))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("divisible by 8");
    }

    @Test
    void statsWithoutTokens() {
        FloatMatrix w = FloatMatrix.zeros(4, 8);
        assertThatThrownBy(() -> new WandaPruner().prune(w, new InputNormStats(8), SparsityPattern.unstructured(0.5)))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("wanda").hasMessageContaining("no calibration tokens");
        assertThatThrownBy(() -> new SparseGptPruner().prune(w, new HessianStats(8), SparsityPattern.unstructured(0.5)))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("sparsegpt").hasMessageContaining("no calibration tokens");
        // Magnitude needs none.
        assertThat(new MagnitudePruner().prune(w, new NoStats(8), SparsityPattern.unstructured(0.5)).mask().prunedCount())
                .isEqualTo(32);
    }

    @Test
    void statsOfAnotherLinear() {
        InputNormStats stats = new InputNormStats(16);
        stats.add(new float[16], 1);
        assertThatThrownBy(() -> new WandaPruner().prune(FloatMatrix.zeros(4, 8), stats, SparsityPattern.unstructured(0.5)))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("collected for 16 input features").hasMessageContaining("[4, 8]");
    }

    @Test
    void batchShorterThanItsTokenCount() {
        for (CalibrationStats s : List.of(new InputNormStats(8), new HessianStats(8), new NoStats(8))) {
            assertThatThrownBy(() -> s.add(new float[15], 2))
                    .isInstanceOf(PrunelabException.InvalidArgument.class)
                    .hasMessageContaining("needs 16 values but the array holds 15");
            assertThatThrownBy(() -> s.add(new float[8], -1)).isInstanceOf(PrunelabException.InvalidArgument.class);
        }
    }

    @Test
    void sparseGptWithNonFiniteInputs() {
        float[] x = new float[16];
        java.util.Arrays.fill(x, 1f);
        x[3] = Float.NaN;
        HessianStats stats = new HessianStats(8);
        stats.add(x, 2);
        assertThatThrownBy(() -> new SparseGptPruner().prune(FloatMatrix.zeros(2, 8), stats, SparsityPattern.unstructured(0.5)))
                .isInstanceOf(PrunelabException.class)
                .hasMessageContaining("not positive definite").hasMessageContaining("NaN");
        assertThatThrownBy(() -> new SparseGptPruner(0, 0.01)).isInstanceOf(PrunelabException.InvalidArgument.class);
        assertThatThrownBy(() -> new SparseGptPruner(128, 0)).isInstanceOf(PrunelabException.InvalidArgument.class);
    }

    @Test
    void owlArguments() {
        assertThatThrownBy(() -> new OwlAllocator(0, 0.08)).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("M=5, lambda=0.08");
        assertThatThrownBy(() -> new OwlAllocator().allocate(new double[0], 0.5))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("no blocks");
        assertThatThrownBy(() -> new OwlAllocator().allocate(new double[] {0, 1}, 1.0))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("outside [0, 1)");
        // lambda 0.4 around 0.2: block 1 would get 0.2 - 0.4 < 0.
        assertThatThrownBy(() -> new OwlAllocator(5, 0.4).allocate(new double[] {0, 1}, 0.2))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("smaller lambda");
        assertThatThrownBy(() -> new OwlAllocator().outlierRatio(List.of(new double[0])))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("no scores");
    }
}
