package org.prunelab.eval;

import org.prunelab.Progress;
import org.prunelab.PrunelabException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class PerplexityTest {

    /** A fake model whose NLL at position t of a window is window[0] + t (a value chosen by the test). */
    private static final Perplexity.NllFunction FAKE = window -> {
        double[] nll = new double[window.length - 1];
        for (int t = 0; t < nll.length; t++) nll[t] = window[0] + t;
        return nll;
    };

    @Test
    void perplexityIsExpOfTheMeanWindowLoss() {
        // Two windows of 4 tokens: losses are mean(1,2,3) = 2 and mean(3,4,5) = 4; exp of their mean is e^3.
        List<int[]> windows = List.of(new int[] {1, 0, 0, 0}, new int[] {3, 0, 0, 0});
        PerplexityResult r = Perplexity.evaluate(FAKE, windows, Progress.NONE);
        assertThat(r.windowLoss()).containsExactly(2.0, 4.0);
        assertThat(r.meanLoss()).isCloseTo(3.0, within(1e-12));
        assertThat(r.perplexity()).isCloseTo(Math.exp(3.0), within(1e-9));
        assertThat(r.tokens()).isEqualTo(8);
        assertThat(r.windows()).isEqualTo(2);
        assertThat(r.seqlen()).isEqualTo(4);
    }

    @Test
    void progressSeesEveryWindow() {
        List<Long> seen = new ArrayList<>();
        Perplexity.evaluate(FAKE, List.of(new int[] {0, 0}, new int[] {0, 0}, new int[] {0, 0}),
                (done, total, label) -> seen.add(done));
        assertThat(seen).containsExactly(1L, 2L, 3L);
    }

    @Test
    void noWindowsIsAClearError() {
        assertThatThrownBy(() -> Perplexity.evaluate(FAKE, List.of(), Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("shorter than one window");
    }

    @Test
    void windowsOfDifferentLengthAreRejected() {
        assertThatThrownBy(() -> Perplexity.evaluate(FAKE, List.of(new int[] {0, 0, 0}, new int[] {0, 0}), Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("window 1 has 2 tokens");
    }
}
