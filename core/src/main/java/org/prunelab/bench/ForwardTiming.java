package org.prunelab.bench;

import org.prunelab.model.LlamaConfig;
import org.prunelab.model.LlamaModel;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

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

    /** sgemm timing of Y[m, n] = X[m, k] W^T for W [n, k]: GFLOP/s = 2 m k n / seconds / 1e9. */
    public record GemmResult(int m, int k, int n, double gflopsMedian) {}

    /**
     * Times {@code model.logits(tokens)} over {@code seqlen} fixed pseudo-random tokens (the work of a dense
     * forward does not depend on the values), after two untimed warm-up passes (JIT, page-in).
     */
    public static Result prefill(LlamaModel model, int seqlen, int repeat) {
        int[] tokens = new SplittableRandom(0).ints(seqlen, 0, model.config().vocabSize()).toArray();
        model.logits(tokens);
        model.logits(tokens);
        double[] seconds = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t0 = System.nanoTime();
            model.logits(tokens);
            seconds[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(seconds);
        return new Result(seconds, seqlen);
    }

    /**
     * Times the active sgemm backend on the model's linear shapes (q/o_proj, k/v_proj, gate/up_proj, down_proj,
     * lm_head) with {@code m} rows; each sample loops until it takes at least ~50 ms so short products average out.
     */
    public static List<GemmResult> sgemm(LlamaConfig c, int m, int repeat) {
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
