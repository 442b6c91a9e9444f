package org.prunelab.prune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.prunelab.tensor.FloatMatrix;

/** Small cases whose expected masks and weights were worked out by hand (derivations in comments). */
class HandComputedTest {

    /** |W| runs 1..32 row by row, signs alternating. */
    static FloatMatrix ramp() {
        float[] w = new float[32];
        for (int i = 0; i < 32; i++) w[i] = (i % 2 == 0 ? 1 : -1) * (i + 1);
        return new FloatMatrix(4, 8, w);
    }

    static Mask mask(String... rows) {
        Mask m = new Mask(rows.length, rows[0].length());
        for (int r = 0; r < rows.length; r++) {
            for (int c = 0; c < rows[r].length(); c++) if (rows[r].charAt(c) == '1') m.prune(r, c);
        }
        return m;
    }

    static <S extends CalibrationStats> PruneResult run(PruningMethod<S> method, FloatMatrix w, float[] x, int tokens,
                                                        SparsityPattern p) {
        S stats = method.newStats(w.cols());
        stats.add(x, tokens);
        return method.prune(w, stats, p);
    }

    @Test
    void magnitudeHalfPrunesThresholdEntryToo() {
        // k = floor(32 * 0.5) = 16; threshold = 17th smallest |w| = 17; |w| <= 17 goes: 17 weights.
        FloatMatrix w = ramp();
        PruneResult r = new MagnitudePruner().prune(w, new NoStats(8), SparsityPattern.unstructured(0.5));
        assertThat(r.mask()).isEqualTo(mask("11111111", "11111111", "10000000", "00000000"));
        assertThat(w.get(2, 0)).isZero();
        assertThat(w.get(2, 1)).isEqualTo(-18f);
    }

    @Test
    void magnitudeRemovesAllTiesAtThreshold() {
        // Ten 1s, twelve 2s, ten 3s: sorted[16] = 2, so every 1 and every 2 goes (22 of 32).
        float[] w = {
            1, 1, 1, 1, 1, 1, 1, 1,
            1, -1, 2, 2, -2, 2, 2, 2,
            2, 2, -2, 2, 2, 2, 3, 3,
            3, 3, 3, -3, 3, 3, 3, 3};
        PruneResult r = new MagnitudePruner().prune(new FloatMatrix(4, 8, w), new NoStats(8), SparsityPattern.unstructured(0.5));
        assertThat(r.mask()).isEqualTo(mask("11111111", "11111111", "11111100", "00000000"));
    }

    @Test
    void magnitudeNm() {
        // |w| grows along each row, so the lowest of every group are its first columns.
        assertThat(new MagnitudePruner().prune(ramp(), new NoStats(8), SparsityPattern.nm(2, 4)).mask())
                .isEqualTo(mask("11001100", "11001100", "11001100", "11001100"));
        assertThat(new MagnitudePruner().prune(ramp(), new NoStats(8), SparsityPattern.nm(1, 4)).mask())
                .isEqualTo(mask("11101110", "11101110", "11101110", "11101110"));
    }

    // Two identical tokens x_j = s_j: mean of squares s_j^2, norm s_j; input 7 is dead.
    static final float[] S = {8, 1, 4, 1, 2, 1, 1, 0};
    static final float[] WANDA_W = {
        1, 1, 1, 1, 1, 1, 1, 1,          // scores = s: 8 1 4 1 2 1 1 0
        0.1f, 4, 0.5f, 2, 1, 3, 8, 5,    // scores: .8 4 2 2 2 3 8 0
        -1, -1, -1, -1, -1, -1, -1, -1,  // as row 0
        0.25f, 8, 1, 8, 4, 8, 8, 100};   // scores: 2 8 4 8 8 8 8 0

    static float[] twoTokens() {
        float[] x = new float[16];
        System.arraycopy(S, 0, x, 0, 8);
        System.arraycopy(S, 0, x, 8, 8);
        return x;
    }

    @Test
    void wandaPerRowWithTiesTowardsLowerIndex() {
        // 4 per row. Row 0: 0 (c7), then the 1s at c1, c3, c5 (c6 is the fourth 1 and stays).
        // Row 1: 0 (c7), .8 (c0), then two of the 2s: c2, c3. Row 3: 0, 2, 4, then the first 8: c1.
        FloatMatrix w = new FloatMatrix(4, 8, WANDA_W.clone());
        PruneResult r = run(new WandaPruner(), w, twoTokens(), 2, SparsityPattern.unstructured(0.5));
        assertThat(r.mask()).isEqualTo(mask("01010101", "10110001", "01010101", "11100001"));
        assertThat(r.deadInputs()).isEqualTo(1);
        assertThat(w.get(1, 4)).isEqualTo(1f);
    }

    @Test
    void wandaTwoFour() {
        // Row 1: [.8 4 2 2] -> c0, c2 (tie with c3); [2 3 8 0] -> c7, c4. Row 3: [2 8 4 8] -> c0, c2; [8 8 8 0] -> c7, c4.
        PruneResult r = run(new WandaPruner(), new FloatMatrix(4, 8, WANDA_W.clone()), twoTokens(), 2, SparsityPattern.nm(2, 4));
        assertThat(r.mask()).isEqualTo(mask("01010101", "10101001", "01010101", "10101001"));
    }

    @Test
    void sparseGptWithUncorrelatedInputsIsMagnitudeOnLiveColumns() {
        // Token t = 2 e_t for t < 7, token 7 = 0: H = 2/8 * diag(4,...,4,0) = diag(1,...,1,0). Input 7 is dead:
        // H_77 := 1 and column 7 of W is zeroed. H is diagonal, so U is diagonal and no error moves.
        // Scores w^2 * 1.01: four zeros (column 7), then 1..7, 9..15, 17..23, 25..31. k = 16,
        // sorted[16] = 14, so the zeros, 1..7 and 9..14 go: 17 weights.
        float[] x = new float[64];
        for (int t = 0; t < 7; t++) x[t * 8 + t] = 2;
        FloatMatrix w = ramp();
        PruneResult r = run(new SparseGptPruner(), w, x, 8, SparsityPattern.unstructured(0.5));
        assertThat(r.mask()).isEqualTo(mask("11111111", "11111101", "00000001", "00000001"));
        assertThat(r.deadInputs()).isEqualTo(1);
        assertThat(w.get(1, 6)).isEqualTo(15f);
        assertThat(w.get(3, 6)).isEqualTo(31f);
        assertThat(w.get(3, 7)).isZero();
    }

    @Test
    void sparseGptMovesPrunedWeightOntoCorrelatedInput() {
        // X = [[1,1],[1,0],[0,1]]: H = 2/3 [[2,1],[1,2]]; damp = 0.01 * 4/3, so H' = [[a,b],[b,a]] with
        // a = 4.04/3, b = 2/3. Scores: w1^2 (a - b^2/a) = 0.0102 and w2^2 a = 1.347: 1:2 prunes w1.
        // Optimal brain surgeon for two weights: w2 += w1 * b / a = 1 + 0.1 * (2/3) / (4.04/3) = 1 + 0.05/1.01.
        FloatMatrix w = new FloatMatrix(1, 2, new float[] {0.1f, 1f});
        PruneResult r = run(new SparseGptPruner(), w, new float[] {1, 1, 1, 0, 0, 1}, 3, SparsityPattern.nm(1, 2));
        assertThat(r.mask()).isEqualTo(mask("10"));
        assertThat(w.get(0, 0)).isZero();
        assertThat((double) w.get(0, 1)).isCloseTo(1 + 0.1f * (2.0 / 3) / (4.04 / 3), within(1e-6));
    }

    @Test
    void owlRescalesOutlierRatios() {
        // D = (0, 0.01, 0.03) -> (D - min) / (max - min) * 2 * 0.08 = (0, 0.16/3, 0.16), mean 0.64/9;
        // sparsity = 0.5 - (scaled - mean) = (0.57111, 0.51778, 0.41111).
        double[] s = new OwlAllocator().allocate(new double[] {0, 0.01, 0.03}, 0.5);
        double mean = 0.64 / 9;
        double[] expected = {0.5 + mean, 0.5 - 0.16 / 3 + mean, 0.5 - 0.16 + mean};
        for (int l = 0; l < 3; l++) assertThat(s[l]).isCloseTo(expected[l], within(1e-12));
    }

    @Test
    void owlOutlierRatioUsesMeanOfTheWholeBlock() {
        // Block mean over both matrices = (1*7 + 20 + 1*4) / 12 = 31/12; 5x = 12.9: only the 20 is an
        // outlier (1 of 12). Per matrix, the first one's mean would be 27/8 (5x = 16.9), same here, but
        // the second alone would have mean 1 and no outlier; the block rule counts over the concatenation.
        double[] a = {1, 1, 1, 1, 1, 1, 1, 20};
        double[] b = {1, 1, 1, 1};
        assertThat(new OwlAllocator().outlierRatio(java.util.List.of(a, b))).isEqualTo(1.0 / 12);
        // With a second matrix of large scores the mean rises and the 20 is no longer an outlier.
        assertThat(new OwlAllocator().outlierRatio(java.util.List.of(a, new double[] {10, 10, 10, 10}))).isZero();
    }
}
