package org.prunelab.eval;

import org.prunelab.PrunelabException;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * Seeded percentile bootstrap (Efron &amp; Tibshirani 1993, ch. 13): resample the evaluation units (windows of a
 * perplexity, items of an accuracy) with replacement {@code resamples} times, recompute the statistic on each
 * resample, and take the {@code (1-level)/2} and {@code (1+level)/2} quantiles of the resampled statistics.
 *
 * <p>Ratios are <i>paired</i>: the pruned and dense models were evaluated on the same windows or items, so one
 * resample draws the same unit indices for both (the interval of the ratio is then much narrower than the two
 * intervals would suggest). The same seed, data and resample count give the same interval bit for bit.
 *
 * <p>Fewer than two units have no spread to resample: the interval is then {@code [NaN, NaN]} (tables print
 * "n/a"), never a zero-width interval that would claim certainty.
 */
public final class Bootstrap {
    private Bootstrap() {}

    /** Resamples used unless a caller asks for another count. */
    public static final int DEFAULT_RESAMPLES = 1000;
    /** Seed used unless a caller asks for another one: every report of the same data shows the same interval. */
    public static final long DEFAULT_SEED = 20_260_101L;
    /** Coverage of the intervals prunelab reports. */
    public static final double DEFAULT_LEVEL = 0.95;

    /**
     * A point estimate with its bootstrap interval.
     *
     * @param estimate  the statistic on the data as evaluated (not a bootstrap mean)
     * @param lo        lower end, NaN if fewer than 2 units
     * @param hi        upper end, NaN if fewer than 2 units
     * @param level     coverage, e.g. 0.95
     * @param units     windows or items resampled
     * @param resamples bootstrap resamples drawn
     * @param seed      the generator's seed
     */
    public record Interval(double estimate, double lo, double hi, double level, int units, int resamples, long seed) {
        /** Whether the interval exists (at least 2 units). */
        public boolean defined() {
            return !Double.isNaN(lo) && !Double.isNaN(hi);
        }

        /** Half the interval's width, NaN when undefined. */
        public double halfWidth() {
            return (hi - lo) / 2;
        }

        /** {@code "12.34 [11.90, 12.81]"} with {@code digits} decimals, or {@code "12.34 [n/a]"}. */
        public String format(int digits) {
            String f = "%." + digits + "f";
            String est = String.format(java.util.Locale.ROOT, f, estimate);
            return defined() ? est + " [" + String.format(java.util.Locale.ROOT, f, lo) + ", "
                    + String.format(java.util.Locale.ROOT, f, hi) + "]" : est + " [n/a]";
        }
    }

    /**
     * Interval of an arbitrary statistic of {@code units} evaluation units.
     *
     * @param units     number of units (windows or items), at least 1
     * @param statistic receives the unit indices of one sample (length {@code units}, with repetition; the
     *                  identity sample {@code 0..units-1} for the estimate) and returns the statistic
     * @param resamples bootstrap resamples, at least 100
     * @param seed      generator seed
     * @param level     coverage in (0, 1)
     * @throws PrunelabException.InvalidArgument for no units, fewer than 100 resamples or a level outside (0, 1)
     */
    public static Interval of(int units, ToDoubleFunction<int[]> statistic, int resamples, long seed, double level) {
        if (units < 1) throw new PrunelabException.InvalidArgument("bootstrap needs at least one window or item, got " + units);
        if (resamples < 100) throw new PrunelabException.InvalidArgument("bootstrap resamples must be at least 100, got " + resamples);
        if (!(level > 0 && level < 1)) throw new PrunelabException.InvalidArgument("bootstrap level must be in (0, 1), got " + level);
        int[] identity = new int[units];
        for (int i = 0; i < units; i++) identity[i] = i;
        double estimate = statistic.applyAsDouble(identity);
        if (units < 2) return new Interval(estimate, Double.NaN, Double.NaN, level, units, resamples, seed);
        SplittableRandom random = new SplittableRandom(seed);
        double[] stats = new double[resamples];
        int[] sample = new int[units];
        for (int b = 0; b < resamples; b++) {
            for (int i = 0; i < units; i++) sample[i] = random.nextInt(units);
            stats[b] = statistic.applyAsDouble(sample);
        }
        Arrays.sort(stats);
        return new Interval(estimate, quantile(stats, (1 - level) / 2), quantile(stats, (1 + level) / 2), level, units, resamples, seed);
    }

    /** Interval of the mean of {@code values} (default resamples, seed and level). */
    public static Interval mean(double[] values) {
        return mean(values, DEFAULT_RESAMPLES, DEFAULT_SEED, DEFAULT_LEVEL);
    }

    /** Interval of the mean of {@code values}. @throws PrunelabException.InvalidArgument as {@link #of} */
    public static Interval mean(double[] values, int resamples, long seed, double level) {
        return of(values.length, idx -> meanOf(values, idx), resamples, seed, level);
    }

    /**
     * Interval of a perplexity {@code exp(mean window loss)} over its evaluation windows (all windows of equal
     * length, as {@link Perplexity} evaluates them).
     *
     * @param windowLoss mean next-token loss of each window, nats ({@link PerplexityResult#windowLoss()})
     */
    public static Interval perplexity(double[] windowLoss) {
        return of(windowLoss.length, idx -> Math.exp(meanOf(windowLoss, idx)), DEFAULT_RESAMPLES, DEFAULT_SEED, DEFAULT_LEVEL);
    }

    /**
     * Paired interval of a perplexity ratio {@code exp(mean(lossA)) / exp(mean(lossB))}: one resample draws
     * the same windows for both models.
     *
     * @param windowLossA per-window loss of the numerator model (e.g. pruned), nats
     * @param windowLossB per-window loss of the denominator model (e.g. dense) on the same windows, in the same order
     * @throws PrunelabException.InvalidArgument if the two have different lengths
     */
    public static Interval perplexityRatio(double[] windowLossA, double[] windowLossB) {
        requireSameLength(windowLossA.length, windowLossB.length, "windows");
        return of(windowLossA.length, idx -> Math.exp(meanOf(windowLossA, idx) - meanOf(windowLossB, idx)),
                DEFAULT_RESAMPLES, DEFAULT_SEED, DEFAULT_LEVEL);
    }

    /**
     * Interval of an accuracy (share of items answered correctly).
     *
     * @param correct 1 for an item answered correctly, 0 otherwise
     */
    public static Interval accuracy(double[] correct) {
        return mean(correct);
    }

    /**
     * Paired interval of the difference {@code mean(a) - mean(b)} (e.g. an accuracy drop, dense minus pruned)
     * over the same items.
     *
     * @throws PrunelabException.InvalidArgument if the two have different lengths
     */
    public static Interval pairedDifference(double[] a, double[] b) {
        requireSameLength(a.length, b.length, "items");
        return of(a.length, idx -> meanOf(a, idx) - meanOf(b, idx), DEFAULT_RESAMPLES, DEFAULT_SEED, DEFAULT_LEVEL);
    }

    private static void requireSameLength(int a, int b, String what) {
        if (a != b) throw new PrunelabException.InvalidArgument("paired bootstrap needs the same " + what + " for both, got " + a + " and " + b);
    }

    private static double meanOf(double[] values, int[] idx) {
        double s = 0;
        for (int i : idx) s += values[i];
        return s / idx.length;
    }

    /**
     * The {@code p} quantile of ascending {@code sorted} values by linear interpolation between order statistics
     * (Hyndman &amp; Fan type 7, numpy's default).
     */
    public static double quantile(double[] sorted, double p) {
        double h = (sorted.length - 1) * p;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}
