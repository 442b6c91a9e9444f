package org.prunelab.prune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.prunelab.tensor.FloatMatrix;

/** Seeded random trials: sparsity per comparison group, determinism, and the stats against naive sums. */
class PruningPropertiesTest {
    private static final int TRIALS = 40;

    /** Weights drawn from few values (many ties) or Gaussian, by trial. */
    static FloatMatrix weights(Random rnd, int rows, int cols, boolean ties) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) w[i] = ties ? rnd.nextInt(5) - 2 : (float) rnd.nextGaussian();
        return new FloatMatrix(rows, cols, w);
    }

    static float[] inputs(Random rnd, int tokens, int cols) {
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (1 + (i % cols) % 3));
        return x;
    }

    @Test
    void wandaPrunesExactlyFloorPerRowAndOnlyLowScores() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < TRIALS; trial++) {
            int rows = 1 + rnd.nextInt(6);
            int cols = 8 * (1 + rnd.nextInt(8));
            double sparsity = rnd.nextDouble();
            FloatMatrix w = weights(rnd, rows, cols, trial % 2 == 0);
            InputNormStats stats = new InputNormStats(cols);
            stats.add(inputs(rnd, 16, cols), 16);
            double[] scores = WandaPruner.wandaScores(w, stats);
            Mask mask = new WandaPruner().prune(w, stats, SparsityPattern.unstructured(sparsity)).mask();
            for (int r = 0; r < rows; r++) {
                assertThat(mask.prunedInRow(r)).isEqualTo((int) (cols * sparsity));
                double maxPruned = Double.NEGATIVE_INFINITY;
                double minKept = Double.POSITIVE_INFINITY;
                for (int c = 0; c < cols; c++) {
                    if (mask.isPruned(r, c)) maxPruned = Math.max(maxPruned, scores[r * cols + c]);
                    else minKept = Math.min(minKept, scores[r * cols + c]);
                }
                assertThat(maxPruned).isLessThanOrEqualTo(minKept);
            }
        }
    }

    @Test
    void magnitudeThresholdRule() {
        Random rnd = new Random(12);
        for (int trial = 0; trial < TRIALS; trial++) {
            int rows = 1 + rnd.nextInt(6);
            int cols = 1 + rnd.nextInt(40);
            double sparsity = trial == 0 ? 0 : rnd.nextDouble();
            boolean ties = trial % 2 == 1;
            FloatMatrix w = weights(rnd, rows, cols, ties);
            FloatMatrix original = w.copy();
            Mask mask = new MagnitudePruner().prune(w, new NoStats(cols), SparsityPattern.unstructured(sparsity)).mask();
            int n = rows * cols;
            int k = (int) (n * sparsity);
            if (sparsity == 0) {
                assertThat(mask.prunedCount()).isZero();
                continue;
            }
            double[] sorted = new double[n];
            for (int i = 0; i < n; i++) sorted[i] = Math.abs(original.data()[i]);
            java.util.Arrays.sort(sorted);
            double threshold = sorted[Math.min(k, n - 1)];
            for (int i = 0; i < n; i++) {
                assertThat(mask.isPruned(i / cols, i % cols)).isEqualTo(Math.abs(original.data()[i]) <= threshold);
            }
            assertThat(mask.prunedCount()).isGreaterThanOrEqualTo(Math.min(k + 1, n));
            if (!ties) assertThat(mask.prunedCount()).isEqualTo(Math.min(k + 1, n));
        }
    }

    @Test
    void everyNmMethodPrunesExactlyMMinusNPerGroup() {
        Random rnd = new Random(13);
        for (int trial = 0; trial < TRIALS; trial++) {
            int m = new int[] {2, 4, 8}[rnd.nextInt(3)];
            int n = 1 + rnd.nextInt(m - 1);
            int rows = 1 + rnd.nextInt(5);
            int cols = m * (1 + rnd.nextInt(40));
            SparsityPattern.NM pattern = new SparsityPattern.NM(n, m);
            float[] x = inputs(rnd, 2 * cols, cols);
            FloatMatrix w = weights(rnd, rows, cols, trial % 3 == 0);
            for (PruningMethod<?> method : new PruningMethod<?>[] {new MagnitudePruner(), new WandaPruner(), new SparseGptPruner()}) {
                Mask mask = prune(method, w.copy(), x, 2 * cols, pattern).mask();
                for (int r = 0; r < rows; r++) {
                    for (int c0 = 0; c0 < cols; c0 += m) {
                        int pruned = 0;
                        for (int c = c0; c < c0 + m; c++) if (mask.isPruned(r, c)) pruned++;
                        assertThat(pruned).as(method.name() + " " + pattern.label()).isEqualTo(m - n);
                    }
                }
            }
        }
    }

    @Test
    void sparseGptPrunesFloorPlusOnePerBlock() {
        Random rnd = new Random(14);
        int rows = 12;
        int cols = 200; // blocks of 128 and 72 columns
        FloatMatrix w = weights(rnd, rows, cols, false);
        Mask mask = prune(new SparseGptPruner(), w, inputs(rnd, 300, cols), 300, SparsityPattern.unstructured(0.6)).mask();
        int[] blockPruned = new int[2];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) if (mask.isPruned(r, c)) blockPruned[c / 128]++;
        assertThat(blockPruned).containsExactly((int) (rows * 128 * 0.6) + 1, (int) (rows * 72 * 0.6) + 1);
        for (int i = 0; i < w.data().length; i++) {
            if (mask.isPruned(i / cols, i % cols)) assertThat(w.data()[i]).isZero();
        }
    }

    @Test
    void sparseGptAtZeroSparsityLeavesWeightsUnchanged() {
        Random rnd = new Random(15);
        FloatMatrix w = weights(rnd, 8, 40, false);
        FloatMatrix original = w.copy();
        PruneResult r = prune(new SparseGptPruner(), w, inputs(rnd, 50, 40), 50, SparsityPattern.unstructured(0));
        assertThat(r.mask().prunedCount()).isZero();
        assertThat(w).isEqualTo(original);
    }

    @Test
    void sameInputGivesBitIdenticalOutput() {
        Random rnd = new Random(16);
        FloatMatrix w = weights(rnd, 64, 320, false);
        float[] x = inputs(rnd, 100, 320);
        for (Supplier<PruningMethod<?>> make : java.util.List.<Supplier<PruningMethod<?>>>of(
                MagnitudePruner::new, WandaPruner::new, SparseGptPruner::new)) {
            for (SparsityPattern p : new SparsityPattern[] {SparsityPattern.unstructured(0.5), SparsityPattern.nm(2, 4)}) {
                FloatMatrix a = w.copy();
                FloatMatrix b = w.copy();
                Mask ma = prune(make.get(), a, x, 100, p).mask();
                Mask mb = prune(make.get(), b, x, 100, p).mask();
                assertThat(ma).isEqualTo(mb);
                assertThat(a.data()).isEqualTo(b.data());
            }
        }
    }

    @Test
    void statsMatchNaiveSumsWhateverTheBatching() {
        Random rnd = new Random(17);
        int cols = 37;
        int tokens = 150; // more than one Hessian chunk of 64
        float[] x = inputs(rnd, tokens, cols);
        HessianStats h1 = new HessianStats(cols);
        h1.add(x, tokens);
        HessianStats h2 = new HessianStats(cols);
        InputNormStats norms = new InputNormStats(cols);
        for (int t = 0; t < tokens; t += 7) {
            int b = Math.min(7, tokens - t);
            float[] batch = java.util.Arrays.copyOfRange(x, t * cols, (t + b) * cols);
            h2.add(batch, b);
            norms.add(batch, b);
        }
        double[] a = h1.hessian();
        double[] b = h2.hessian();
        double[] mean = norms.meanSquares();
        for (int i = 0; i < cols; i++) {
            double sq = 0;
            for (int t = 0; t < tokens; t++) sq += (double) x[t * cols + i] * x[t * cols + i];
            assertThat(mean[i]).isCloseTo(sq / tokens, within(1e-12 * sq));
            for (int j = 0; j < cols; j++) {
                double s = 0;
                for (int t = 0; t < tokens; t++) s += (double) x[t * cols + i] * x[t * cols + j];
                double want = 2.0 * s / tokens;
                assertThat(a[i * cols + j]).isCloseTo(want, within(1e-12 * (1 + Math.abs(want))));
                assertThat(b[i * cols + j]).isCloseTo(want, within(1e-12 * (1 + Math.abs(want))));
            }
        }
    }

    @Test
    void upperFactorOfInverseSatisfiesDefinition() {
        Random rnd = new Random(18);
        for (int n : new int[] {1, 7, 50, 131}) {
            double[] g = new double[n * n];
            for (int i = 0; i < g.length; i++) g[i] = rnd.nextGaussian();
            double[] h = new double[n * n]; // G G^T + I is symmetric positive definite
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = i == j ? 1 : 0;
                    for (int k = 0; k < n; k++) s += g[i * n + k] * g[j * n + k];
                    h[i * n + j] = s;
                }
            }
            double[] u = Cholesky.upperFactorOfInverse(h, n);
            assertThat(u).isNotNull();
            // U^T U = H^-1  <=>  U H U^T = I (U invertible).
            double[] uh = new double[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++) s += u[i * n + k] * h[k * n + j];
                    uh[i * n + j] = s;
                }
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    if (j < i) assertThat(u[i * n + j]).isZero();
                    double s = 0;
                    for (int k = 0; k < n; k++) s += uh[i * n + k] * u[j * n + k];
                    assertThat(s).isCloseTo(i == j ? 1 : 0, within(1e-9));
                }
            }
        }
        assertThat(Cholesky.upperFactorOfInverse(new double[] {1, 2, 2, 1}, 2)).isNull();
    }

    /** The in-place factorisation (an accumulator's last use) gives U bit for bit, also after a failed first try. */
    @Test
    void inPlaceFactorOfAccumulatorEqualsAllocatingOneBitForBit() {
        Random rnd = new Random(21);
        for (int n : new int[] {1, 7, 9, 50, 131}) {
            int tokens = n + 5;
            float[] x = inputs(rnd, tokens, n);
            HessianStats stats = new HessianStats(n);
            stats.add(x, tokens);
            double[] acc = stats.upperSum();
            double[] diag = new double[n];
            for (int j = 0; j < n; j++) diag[j] = stats.scale() * acc[j * n + j];
            double[] keep = acc.clone();
            double[] want = Cholesky.upperFactorOfInverse(acc, stats.scale(), diag, 0.01, n);
            assertThat(acc).isEqualTo(keep); // the allocating path only reads
            // A damping that fails first (negative: not positive definite), then the real one on the same array.
            assertThat(Cholesky.upperFactorOfInverse(acc, stats.scale(), diag, -1e9, n, true)).isNull();
            double[] got = Cholesky.upperFactorOfInverse(acc, stats.scale(), diag, 0.01, n, true);
            assertThat(got).isSameAs(acc);
            assertThat(got).isEqualTo(want);
        }
    }

    @Test
    void sparseGptOnLastUseConsumesTheAccumulatorAndGivesTheSameWeights() {
        Random rnd = new Random(22);
        int rows = 24, cols = 64, tokens = 100;
        float[] x = inputs(rnd, tokens, cols);
        FloatMatrix w = new FloatMatrix(rows, cols, inputs(rnd, rows, cols));
        HessianStats shared = new HessianStats(cols);
        shared.add(x, tokens);
        HessianStats last = new HessianStats(cols);
        last.add(x, tokens);
        last.markLastUse();
        FloatMatrix a = w.copy();
        FloatMatrix b = w.copy();
        SparsityPattern half = SparsityPattern.unstructured(0.5);
        new SparseGptPruner().prune(a, shared, half);
        new SparseGptPruner().prune(b, last, half);
        assertThat(b.data()).isEqualTo(a.data());
        shared.upperSum(); // still intact: q/k/v's first users leave it for the next
        assertThatThrownBy(last::upperSum).isInstanceOf(IllegalStateException.class).hasMessageContaining("last use");
    }

    @Test
    void owlKeepsMeanAndGivesOutlierRichBlocksLessSparsity() {
        Random rnd = new Random(19);
        for (int trial = 0; trial < TRIALS; trial++) {
            double[] d = new double[2 + rnd.nextInt(30)];
            for (int l = 0; l < d.length; l++) d[l] = rnd.nextDouble() * 0.1;
            double target = 0.2 + 0.6 * rnd.nextDouble();
            double[] s = new OwlAllocator().allocate(d, target);
            assertThat(java.util.Arrays.stream(s).average().orElseThrow()).isCloseTo(target, within(1e-12));
            for (int a = 0; a < d.length; a++) {
                for (int b = 0; b < d.length; b++) if (d[a] > d[b]) assertThat(s[a]).isLessThan(s[b]);
            }
            assertThat(java.util.Arrays.stream(s).max().orElseThrow() - java.util.Arrays.stream(s).min().orElseThrow())
                    .isCloseTo(2 * OwlAllocator.DEFAULT_LAMBDA, within(1e-12));
        }
        assertThat(new OwlAllocator().allocate(new double[] {0.02, 0.02, 0.02}, 0.6)).containsExactly(0.6, 0.6, 0.6);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static PruneResult prune(PruningMethod method, FloatMatrix w, float[] x, int tokens, SparsityPattern p) {
        CalibrationStats stats = method.newStats(w.cols());
        stats.add(x, tokens);
        return method.prune(w, stats, p);
    }
}
