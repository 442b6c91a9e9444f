package org.prunelab.eval;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BootstrapTest {

    @Test
    void sameSeedSameInterval_otherSeedOtherInterval() {
        double[] x = new SplittableRandom(1).doubles(40).toArray();
        Bootstrap.Interval a = Bootstrap.mean(x, 1000, 7, 0.95);
        Bootstrap.Interval b = Bootstrap.mean(x, 1000, 7, 0.95);
        Bootstrap.Interval c = Bootstrap.mean(x, 1000, 8, 0.95);
        assertThat(a).isEqualTo(b);
        assertThat(a.lo()).isNotEqualTo(c.lo());
        assertThat(a.estimate()).isEqualTo(c.estimate());
        assertThat(a.lo()).isLessThan(a.estimate());
        assertThat(a.hi()).isGreaterThan(a.estimate());
    }

    /** 400 synthetic data sets with a known mean: the 95% interval must cover it about 95% of the time. */
    @Test
    void meanIntervalCoversTheKnownMeanAtTheStatedRate() {
        SplittableRandom data = new SplittableRandom(42);
        double trueMean = 3.0;
        int trials = 400, covered = 0;
        for (int t = 0; t < trials; t++) {
            double[] x = new double[60];
            for (int i = 0; i < x.length; i++) x[i] = trueMean + 2.0 * gaussian(data);
            Bootstrap.Interval ci = Bootstrap.mean(x, 500, 1000 + t, 0.95);
            if (ci.lo() <= trueMean && trueMean <= ci.hi()) covered++;
        }
        double coverage = covered / (double) trials;
        // binomial sd at 400 trials is 0.011; the percentile bootstrap undercovers slightly at n=60
        assertThat(coverage).isBetween(0.91, 0.98);
    }

    @Test
    void accuracyIntervalCoversTheKnownRate() {
        SplittableRandom data = new SplittableRandom(9);
        double p = 0.7;
        int trials = 400, covered = 0;
        for (int t = 0; t < trials; t++) {
            double[] correct = new double[100];
            for (int i = 0; i < correct.length; i++) correct[i] = data.nextDouble() < p ? 1 : 0;
            Bootstrap.Interval ci = Bootstrap.accuracy(correct);
            if (ci.lo() <= p && p <= ci.hi()) covered++;
        }
        assertThat(covered / (double) trials).isBetween(0.91, 0.98);
    }

    @Test
    void lowerLevelGivesNarrowerInterval() {
        double[] x = new SplittableRandom(3).doubles(50).toArray();
        Bootstrap.Interval wide = Bootstrap.mean(x, 2000, 5, 0.95);
        Bootstrap.Interval narrow = Bootstrap.mean(x, 2000, 5, 0.5);
        assertThat(narrow.lo()).isGreaterThan(wide.lo());
        assertThat(narrow.hi()).isLessThan(wide.hi());
    }

    /** Pruned loss = dense loss + a small constant per window: the paired ratio interval is tight around exp(delta). */
    @Test
    void pairedRatioIsTightWhenWindowsMoveTogether() {
        SplittableRandom r = new SplittableRandom(11);
        double[] dense = new double[30];
        double[] pruned = new double[30];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = 2 + 1.5 * r.nextDouble();
            pruned[i] = dense[i] + 0.2 + 0.01 * r.nextDouble();
        }
        Bootstrap.Interval ratio = Bootstrap.perplexityRatio(pruned, dense);
        Bootstrap.Interval alone = Bootstrap.perplexity(pruned);
        assertThat(ratio.estimate()).isCloseTo(Math.exp(0.205), org.assertj.core.data.Offset.offset(0.01));
        assertThat(ratio.hi() / ratio.lo()).isLessThan(1.01);
        assertThat(alone.hi() / alone.lo()).isGreaterThan(1.1);
        assertThat(Bootstrap.perplexity(dense).estimate()).isCloseTo(Math.exp(mean(dense)), org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void oneUnitHasNoInterval() {
        Bootstrap.Interval ci = Bootstrap.perplexity(new double[]{2.5});
        assertThat(ci.estimate()).isEqualTo(Math.exp(2.5));
        assertThat(ci.defined()).isFalse();
        assertThat(ci.format(2)).isEqualTo("12.18 [n/a]");
    }

    @Test
    void badArgumentsAreRefused() {
        assertThatThrownBy(() -> Bootstrap.mean(new double[0])).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("at least one");
        assertThatThrownBy(() -> Bootstrap.mean(new double[]{1, 2}, 10, 1, 0.95)).hasMessageContaining("resamples");
        assertThatThrownBy(() -> Bootstrap.mean(new double[]{1, 2}, 100, 1, 1.0)).hasMessageContaining("level");
        assertThatThrownBy(() -> Bootstrap.perplexityRatio(new double[]{1, 2}, new double[]{1})).hasMessageContaining("same windows");
    }

    @Test
    void quantileInterpolatesLikeNumpy() {
        double[] s = {1, 2, 3, 4};
        assertThat(Bootstrap.quantile(s, 0.5)).isEqualTo(2.5);
        assertThat(Bootstrap.quantile(s, 0.025)).isCloseTo(1.075, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(Bootstrap.quantile(s, 1.0)).isEqualTo(4);
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }
}
