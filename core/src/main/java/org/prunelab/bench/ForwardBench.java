package org.prunelab.bench;

import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.Transformer;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Parallel;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Prefill speed of a random-weight model with SmolLM2-135M's exact shape: median wall time of
 * {@code logits(tokens)} over seqlen tokens (all positions' logits, like transformers' forward) and of
 * {@code tokenNll} and of a prefill into a KV cache (last position's logits only). Usage:
 * {@code ForwardBench [seqlen=512] [repeats=5] [threads] [compare-threading]}; the GEMM backend follows
 * {@code -Dprunelab.gemm}, the BLAS threading {@code -Dprunelab.blas.threading} (see {@link Gemm.BlasThreading});
 * leave {@code OPENBLAS_NUM_THREADS} unset so prunelab chooses OpenBLAS's thread count per product. Prints median
 * and minimum wall time and tokens/s; the torch counterpart is {@code tools/reference/torch_forward_bench.py}.
 * With {@code compare-threading}, times only {@code logits}, switching between the two BLAS threading modes pass
 * by pass (A B, B A, ...) so both see the same machine load, and prints each mode's median.
 */
public final class ForwardBench {
    private ForwardBench() {}

    /** SmolLM2-135M's architecture (config.json of HuggingFaceTB/SmolLM2-135M). */
    public static DecoderConfig smolLm2Shape() {
        return new DecoderConfig(576, 1536, 30, 9, 3, 64, 49152, 8192, 1e-5, 100000, null, true, 1, 2);
    }

    public static void main(String[] args) {
        int seqlen = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        if (args.length > 2) Parallel.setThreads(Integer.parseInt(args[2]));
        DecoderConfig config = smolLm2Shape();
        DecoderModel model = org.prunelab.arch.ModelLoader.build(config, new RandomWeights(config, 0, 0.02));
        int[] tokens = new SplittableRandom(1).ints(seqlen, 0, config.vocabSize()).toArray();
        System.out.printf("gemm=%s threads=%d OPENBLAS_NUM_THREADS=%s seqlen=%d%n", Gemm.active(),
                Parallel.threads(), System.getenv("OPENBLAS_NUM_THREADS"), seqlen);
        if (args.length > 3 && args[3].equals("compare-threading")) {
            compareThreading(seqlen, repeats, () -> model.logits(tokens));
            return;
        }
        report("logits", seqlen, repeats, () -> model.logits(tokens));
        report("tokenNll", seqlen, repeats, () -> model.tokenNll(tokens));
        report("prefill(cache)", seqlen, repeats, () -> model.prefill(tokens, model.newCache(seqlen)));
    }

    private static void compareThreading(int seqlen, int repeats, Runnable run) {
        Gemm.BlasThreading[] modes = Gemm.BlasThreading.values();
        for (Gemm.BlasThreading mode : modes) { // warm-up: JIT, page-in, OpenBLAS's threads
            Gemm.setBlasThreading(mode);
            run.run();
            run.run();
        }
        double[][] seconds = new double[modes.length][repeats];
        for (int i = 0; i < repeats; i++) {
            for (int j = 0; j < modes.length; j++) {
                int m = i % 2 == 0 ? j : modes.length - 1 - j;
                Gemm.setBlasThreading(modes[m]);
                long t0 = System.nanoTime();
                run.run();
                seconds[m][i] = (System.nanoTime() - t0) / 1e9;
            }
        }
        for (int m = 0; m < modes.length; m++) {
            Arrays.sort(seconds[m]);
            double median = seconds[m][repeats / 2];
            System.out.printf("logits %-8s median %.3f s (min %.3f)  %.1f tokens/s%n", modes[m], median, seconds[m][0], seqlen / median);
        }
    }

    private static void report(String what, int seqlen, int repeats, Runnable run) {
        run.run(); // warm-up: JIT and page-in
        run.run();
        double[] seconds = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime();
            run.run();
            seconds[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(seconds);
        double median = seconds[repeats / 2];
        System.out.printf("%-15s median %.3f s (min %.3f)  %.1f tokens/s%n", what, median, seconds[0], seqlen / median);
    }
}
