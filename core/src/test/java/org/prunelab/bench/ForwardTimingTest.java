package org.prunelab.bench;

import org.prunelab.arch.ModelLoader;
import org.junit.jupiter.api.Test;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The bookkeeping of {@link ForwardTiming#prefillAlternating}; no assertion on how long anything takes. */
class ForwardTimingTest {
    private static final DecoderConfig TINY = new DecoderConfig(32, 64, 2, 4, 2, 8, 97, 256, 1e-5, 10000, null, true, 1, 2);

    @Test
    void alternatesPassesAndReportsTheOtherSidesTimesPerPair() {
        DecoderModel model = ModelLoader.build(TINY, new RandomWeights(TINY, 1, 0.2));
        List<Double> handedOut = new ArrayList<>();
        ForwardTiming.Alternating r = ForwardTiming.prefillAlternating(model, 16, 5, () -> {
            double s = 0.5 + handedOut.size();
            handedOut.add(s);
            return s;
        });
        assertThat(handedOut).hasSize(5);
        assertThat(r.other()).containsExactly(0.5, 1.5, 2.5, 3.5, 4.5);
        assertThat(r.own()).hasSize(5);
        for (double s : r.own()) assertThat(s).isPositive();
        double[] ratios = r.ratios();
        for (int i = 0; i < 5; i++) assertThat(ratios[i]).isCloseTo(r.other()[i] / r.own()[i], within(1e-12));
        assertThat(r.otherTokensPerSecondMedian()).isCloseTo(16 / 2.5, within(1e-12));
        double[] sorted = ratios.clone();
        java.util.Arrays.sort(sorted);
        assertThat(r.ratioMedian()).isEqualTo(sorted[2]);
    }

    @Test
    void evenPairCountsTakeTheMeanOfTheMiddleTwo() {
        var r = new ForwardTiming.Alternating(new double[]{1, 1, 1, 1}, new double[]{1, 2, 3, 4}, 8);
        assertThat(r.ratioMedian()).isEqualTo(2.5);
        assertThat(r.otherTokensPerSecondMedian()).isEqualTo(8 / 2.5);
    }

    @Test
    void rejectsZeroPairs() {
        DecoderModel model = ModelLoader.build(TINY, new RandomWeights(TINY, 1, 0.2));
        assertThatThrownBy(() -> ForwardTiming.prefillAlternating(model, 8, 0, () -> 1.0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1");
    }
}
