package org.prunelab.bench;

import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Wall-clock timing of the dense forward pass and of sgemm on a model's own linear shapes. Used by
 * {@code prunelab bench forward}; tests never assert on these numbers.
 */
public final class ForwardTiming {
    private ForwardTiming() {}

    /**
     * Prefill timing.
     *
     * @param seconds wall time of each timed pass, in seconds, sorted ascending
     * @param tokens  tokens per pass
     */
    public record Result(double[] seconds, int tokens) {
        public double tokensPerSecondMedian() { return tokens / seconds[seconds.length / 2]; }
        public double tokensPerSecondBest() { return tokens / seconds[0]; }
    }

    /**
     * Prefill timing alternated pass by pass with another implementation, so both see the same machine load.
     *
     * @param own    prunelab's seconds per pass, in pass order
     * @param other  the other implementation's seconds per pass, in pass order
     * @param tokens tokens per pass
     */
    public record Alternating(double[] own, double[] other, int tokens) {
        /** Per pair, {@code other / own}: prunelab's speed over the other's (above 1 means prunelab is faster). */
        public double[] ratios() {
            double[] r = new double[own.length];
            for (int i = 0; i < r.length; i++) r[i] = other[i] / own[i];
            return r;
        }

        public double ratioMedian() { return median(ratios()); }

        public double ownTokensPerSecondMedian() { return tokens / median(own); }

        public double otherTokensPerSecondMedian() { return tokens / median(other); }

        private static double median(double[] x) {
            double[] sorted = x.clone();
            Arrays.sort(sorted);
            int n = sorted.length;
            return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        }
    }

    /**
     * Times {@code model.logits(tokens)} as {@link #prefill} does, alternating each pass with one pass of
     * another implementation ({@code otherPass} runs it and returns its seconds) in the order A B, B A, A B, ...
     * so a slow spell of a shared machine falls on both sides. Two untimed prunelab passes warm up first; the
     * other side warms itself up before its first timed pass.
     *
     * @param repeat pairs of passes, at least 1
     */
    public static Alternating prefillAlternating(DecoderModel model, int seqlen, int repeat, DoubleSupplier otherPass) {
        if (repeat < 1) throw new IllegalArgumentException("repeat must be at least 1, got " + repeat);
        int[] tokens = new SplittableRandom(0).ints(seqlen, 0, model.config().vocabSize()).toArray();
        model.logits(tokens);
        model.logits(tokens);
        double[] own = new double[repeat];
        double[] other = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            if (i % 2 == 1) other[i] = otherPass.getAsDouble();
            long t0 = System.nanoTime();
            model.logits(tokens);
            own[i] = (System.nanoTime() - t0) / 1e9;
            if (i % 2 == 0) other[i] = otherPass.getAsDouble();
        }
        return new Alternating(own, other, seqlen);
    }

    /** sgemm timing of Y[m, n] = X[m, k] W^T for W [n, k]: GFLOP/s = 2 m k n / seconds / 1e9. */
    public record GemmResult(int m, int k, int n, double gflopsMedian) {}

    /**
     * Times {@code model.logits(tokens)} over {@code seqlen} fixed pseudo-random tokens (the work of a dense
     * forward does not depend on the values), after two untimed warm-up passes (JIT, page-in).
     */
    public static Result prefill(DecoderModel model, int seqlen, int repeat) {
        return prefill(model, seqlen, repeat, org.prunelab.Progress.NONE);
    }

    /** As {@link #prefill(DecoderModel, int, int)}, telling {@code progress} after each pass (2 warm-up + repeat). */
    public static Result prefill(DecoderModel model, int seqlen, int repeat, org.prunelab.Progress progress) {
        int[] tokens = new SplittableRandom(0).ints(seqlen, 0, model.config().vocabSize()).toArray();
        int total = repeat + 2;
        progress.update(0, total, "warm-up passes");
        model.logits(tokens);
        progress.update(1, total, "warm-up passes");
        model.logits(tokens);
        double[] seconds = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            progress.update(2 + i, total, "timed passes");
            long t0 = System.nanoTime();
            model.logits(tokens);
            seconds[i] = (System.nanoTime() - t0) / 1e9;
        }
        progress.update(total, total, "passes");
        progress.finish();
        Arrays.sort(seconds);
        return new Result(seconds, seqlen);
    }

    /**
     * Times the active sgemm backend on the model's linear shapes (Q/O, K/V, GATE/UP, DOWN,
     * lm_head) with {@code m} rows; each sample loops until it takes at least ~50 ms so short products average out.
     */
    public static List<GemmResult> sgemm(DecoderConfig c, int m, int repeat) {
        int[][] shapes = {{c.hiddenSize(), c.qDim()}, {c.hiddenSize(), c.kvDim()}, {c.hiddenSize(), c.intermediateSize()},
                {c.intermediateSize(), c.hiddenSize()}, {c.hiddenSize(), c.vocabSize()}};
        SplittableRandom random = new SplittableRandom(0);
        List<GemmResult> results = new ArrayList<>();
        Gemm gemm = Gemm.active();
        for (int[] s : shapes) {
            int k = s[0], n = s[1];
            float[] x = new float[m * k];
            float[] w = new float[n * k];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            for (int i = 0; i < w.length; i++) w[i] = (float) random.nextGaussian();
            FloatMatrix weight = new FloatMatrix(n, k, w);
            float[] y = new float[m * n];
            Runnable once = () -> gemm.linear(x, m, weight, y);
            once.run();
            long t0 = System.nanoTime();
            once.run();
            double single = Math.max(1e-6, (System.nanoTime() - t0) / 1e9);
            int inner = (int) Math.max(1, Math.ceil(0.05 / single));
            double[] seconds = new double[repeat];
            for (int r = 0; r < repeat; r++) {
                long start = System.nanoTime();
                for (int i = 0; i < inner; i++) once.run();
                seconds[r] = (System.nanoTime() - start) / 1e9 / inner;
            }
            Arrays.sort(seconds);
            results.add(new GemmResult(m, k, n, 2.0 * m * k * n / seconds[repeat / 2] / 1e9));
        }
        return results;
    }
}
