package org.prunelab.data;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class OverlapTest {
    private static int[] tokens(long seed, int n) {
        return new SplittableRandom(seed).ints(n, 0, 1000).toArray();
    }

    @Test
    void sharesOfCalibrationNgramsFoundInTheEvaluationText() {
        int[] eval = tokens(1, 400);
        int[] same = java.util.Arrays.copyOfRange(eval, 100, 300);
        assertThat(Overlap.share(List.of(same), List.of(eval))).isEqualTo(1.0);
        assertThat(Overlap.share(List.of(tokens(2, 200)), List.of(eval))).isZero();
        // Half the calibration window copied from the evaluation text: about half of its 16-grams are found.
        int[] half = tokens(3, 200);
        System.arraycopy(eval, 0, half, 0, 100);
        assertThat(Overlap.share(List.of(half), List.of(eval))).isCloseTo((100 - 15) / 185.0, within(0.02));
        assertThat(Overlap.share(List.of(new int[5]), List.of(eval))).isZero();
        assertThat(Overlap.share(List.of(same), List.of())).isZero();
    }
}
