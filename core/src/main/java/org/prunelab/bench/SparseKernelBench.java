package org.prunelab.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.sparse.CsrLinear;
import org.prunelab.tensor.sparse.NmLinear;
import org.prunelab.tensor.sparse.SparseLoops;

/**
 * Quick, JMH-free measurement of the sparse linear formats against dense, on the SmolLM2-135M shapes
 * (576x576 Q/O, 1536x576 GATE/UP, 576x1536 DOWN, 49152x576 the tied LM head).
 *
 * <p>For each shape and weight pattern (50/70/90% unstructured, 2:4) it prints time per call (median
 * of several batches), GFLOP/s-equivalent ({@code 2 * out * in * tokens / time}, as if dense), bytes
 * moved per call (stored weight bytes + x + y), and the speedup over two dense baselines measured in
 * the same run: BLAS (netlib; OpenBLAS when installed) and a plain Vector API dot-product kernel.
 * Two regimes:
 * <ul>
 *   <li><b>hot</b>: the same matrix every call, so small matrices sit in L2/L3 (kernel-bound);</li>
 *   <li><b>cold</b>: calls rotate over enough copies to fill {@code --cold-mib} (default 512 MiB), so
 *       weights stream from memory as in a real decode step over all layers (bandwidth-bound).</li>
 * </ul>
 * A STREAM-like read and copy bandwidth is printed first, from the same JVM.
 *
 * <p>Threads: {@code -Dprunelab.threads=N} for the sparse and Vector API kernels, and the environment
 * variable {@code OPENBLAS_NUM_THREADS=N} for BLAS. Run, from the repository root after {@code mvn package}:
 * <pre>
 * OPENBLAS_NUM_THREADS=1 java --add-modules jdk.incubator.vector -Dprunelab.threads=1 \
 *     -cp core/target/classes:$(cat cp.txt) org.prunelab.bench.SparseKernelBench [--tokens 1,64] [--cold-mib 512]
 * </pre>
 * Numbers on a shared machine are noisy: repeat runs and compare ratios, not absolute times.
 */
public final class SparseKernelBench {
    private static final String[] PATTERNS = {"50%", "70%", "90%", "2:4"};
    private static final int[][] SHAPES = {{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}};

    /** One product y = x W^T in some format, with the bytes its stored weight occupies. */
    private interface Product {
        void apply(float[] x, int tokens, float[] y);

        long weightBytes();
    }

    private record Format(String name, Function<FloatMatrix, Product> build) {}

    private record Options(int[] tokens, long coldBytes, int samples, int[][] shapes) {}

    private SparseKernelBench() {}

    public static void main(String[] args) {
        Options options = parse(args);
        System.out.printf(Locale.ROOT, "threads=%d (prunelab.threads), OPENBLAS_NUM_THREADS=%s, BLAS=%s, vector=%d floats%n",
                SparseLoops.threads(), System.getenv("OPENBLAS_NUM_THREADS"), BenchKernels.blasName(),
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length());
        warmUp();
        bandwidth(options.samples());
        System.out.println();
        System.out.println("| shape | weights | format | tokens | regime | us/call | GFLOP/s-eq | MB/call | GB/s | vs BLAS | vs vec-dense |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        for (int[] shape : options.shapes()) {
            benchShape(shape[0], shape[1], options);
        }
    }

    /**
     * Runs every kernel until the JIT has compiled it: interpreted Vector API code is ~1000x slower,
     * and a kernel first met inside a timed loop would otherwise be measured half-compiled.
     */
    private static void warmUp() {
        FloatMatrix w70 = random(576, 576, 0.7, 5);
        FloatMatrix w24 = nm24(576, 576, 6);
        List<Product> products = List.of(dense(w70, BenchKernels::blas), dense(w70, BenchKernels::denseVector),
                sparse(CsrLinear.of(w70)), sparse(NmLinear.of(w24, 2, 4)));
        float[] src = activations(1, 1 << 20);
        float[] dst = new float[src.length];
        float[] sink = {0};
        for (long end = System.nanoTime() + 1_000_000_000L; System.nanoTime() < end; ) {
            sink[0] += BenchKernels.readAll(src);
            BenchKernels.copy(src, dst);
        }
        for (Product p : products) {
            for (int tokens : new int[] {1, 5, 64}) {
                float[] x = activations(tokens, 576);
                float[] y = new float[tokens * 576];
                for (long end = System.nanoTime() + 700_000_000L; System.nanoTime() < end; ) p.apply(x, tokens, y);
            }
        }
        if (sink[0] == 1e30f) System.out.println();
    }

    private static void benchShape(int out, int in, Options options) {
        FloatMatrix dense = random(out, in, 0.0, 1);
        Format blas = new Format("dense-blas", w -> dense(w, BenchKernels::blas));
        Format vec = new Format("dense-vec", w -> dense(w, BenchKernels::denseVector));
        Format csr = new Format("csr", w -> sparse(CsrLinear.of(w)));
        Format nm = new Format("2:4", w -> sparse(NmLinear.of(w, 2, 4)));
        long denseBytes = 4L * out * in;
        for (String regime : new String[] {"hot", "cold"}) {
            int copies = regime.equals("hot") ? 1 : (int) Math.max(1, (options.coldBytes() + denseBytes - 1) / denseBytes);
            for (int tokens : options.tokens()) {
                double tBlas = time(blas, dense, copies, tokens, options.samples());
                double tVec = time(vec, dense, copies, tokens, options.samples());
                row(out, in, "dense", "dense-blas", tokens, regime, tBlas, denseBytes, tBlas, tVec);
                row(out, in, "dense", "dense-vec", tokens, regime, tVec, denseBytes, tBlas, tVec);
                for (String pattern : PATTERNS) {
                    FloatMatrix w = pattern.equals("2:4") ? nm24(out, in, 2) : random(out, in, percent(pattern), 3);
                    for (Format f : pattern.equals("2:4") ? List.of(nm, csr) : List.of(csr)) {
                        long bytes = f.build().apply(w).weightBytes();
                        double t = time(f, w, copies, tokens, options.samples());
                        row(out, in, pattern, f.name(), tokens, regime, t, bytes, tBlas, tVec);
                    }
                }
            }
        }
    }

    private static void row(int out, int in, String weights, String format, int tokens, String regime,
                            double seconds, long weightBytes, double tBlas, double tVec) {
        double flops = 2.0 * out * in * tokens;
        double bytes = weightBytes + 4.0 * tokens * (in + out);
        System.out.printf(Locale.ROOT, "| %dx%d | %s | %s | %d | %s | %.1f | %.1f | %.2f | %.1f | %.2f | %.2f |%n",
                out, in, weights, format, tokens, regime, seconds * 1e6, flops / seconds / 1e9, bytes / 1e6,
                bytes / seconds / 1e9, tBlas / seconds, tVec / seconds);
    }

    /** Median seconds per call of format {@code f} on {@code copies} separately built copies of w. */
    private static double time(Format f, FloatMatrix w, int copies, int tokens, int samples) {
        List<Product> products = new ArrayList<>(copies);
        for (int i = 0; i < copies; i++) products.add(f.build().apply(w));
        float[] x = activations(tokens, w.cols());
        float[] y = new float[tokens * w.rows()];
        int[] next = {0};
        Runnable call = () -> {
            products.get(next[0]).apply(x, tokens, y);
            next[0] = next[0] + 1 == copies ? 0 : next[0] + 1;
        };
        return medianSeconds(call, samples);
    }

    /**
     * Warms up until two consecutive ~0.1 s windows agree within 15% (at most 3 s; a recompiled kernel
     * is slow for a while), then times {@code samples} batches of ~25 ms and returns the median per call.
     */
    private static double medianSeconds(Runnable call, int samples) {
        long deadline = System.nanoTime() + 3_000_000_000L;
        double previous = Double.MAX_VALUE;
        double perCall;
        while (true) {
            long t0 = System.nanoTime();
            int calls = 0;
            while (calls < 3 || System.nanoTime() - t0 < 100_000_000L) {
                call.run();
                calls++;
            }
            perCall = (System.nanoTime() - t0) / 1e9 / calls;
            if (Math.abs(perCall - previous) < 0.15 * perCall || System.nanoTime() > deadline) break;
            previous = perCall;
        }
        int batch = (int) Math.max(1, 0.025 / perCall);
        double[] seconds = new double[samples];
        for (int s = 0; s < samples; s++) {
            long t0 = System.nanoTime();
            for (int b = 0; b < batch; b++) call.run();
            seconds[s] = (System.nanoTime() - t0) / 1e9 / batch;
        }
        Arrays.sort(seconds);
        return seconds[samples / 2];
    }

    private static void bandwidth(int samples) {
        float[] src = activations(1, 64 << 20); // 256 MiB
        float[] dst = new float[src.length];
        float[] sink = {0};
        double read = medianSeconds(() -> sink[0] += BenchKernels.readAll(src), samples);
        double copy = medianSeconds(() -> BenchKernels.copy(src, dst), samples);
        double bytes = 4.0 * src.length;
        System.out.printf(Locale.ROOT, "memory bandwidth (256 MiB arrays): read %.1f GB/s, copy %.1f GB/s (read+write bytes)%s%n",
                bytes / read / 1e9, 2 * bytes / copy / 1e9, sink[0] == 1e30f ? " " : "");
    }

    private static Product dense(FloatMatrix w, DenseKernel kernel) {
        FloatMatrix own = w.copy();
        return new Product() {
            public void apply(float[] x, int tokens, float[] y) { kernel.apply(own, x, tokens, y); }

            public long weightBytes() { return 4L * own.size(); }
        };
    }

    private static Product sparse(Linear layer) {
        return new Product() {
            public void apply(float[] x, int tokens, float[] y) { layer.forward(x, tokens, y); }

            public long weightBytes() { return layer.parameterBytes(); }
        };
    }

    @FunctionalInterface
    private interface DenseKernel {
        void apply(FloatMatrix w, float[] x, int tokens, float[] y);
    }

    private static double percent(String pattern) {
        return Double.parseDouble(pattern.substring(0, pattern.length() - 1)) / 100;
    }

    /** Each weight zero with probability {@code sparsity}, else uniform in [-1, 1); seeded. */
    private static FloatMatrix random(int rows, int cols, double sparsity, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = rnd.nextDouble() < sparsity ? 0f : (float) (2 * rnd.nextDouble() - 1);
        return new FloatMatrix(rows, cols, d);
    }

    /** Two random survivors in every group of 4 columns (cols must be a multiple of 4). */
    private static FloatMatrix nm24(int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int g = 0; g < d.length; g += 4) {
            int a = rnd.nextInt(4);
            int b = (a + 1 + rnd.nextInt(3)) % 4;
            d[g + a] = (float) (2 * rnd.nextDouble() - 1);
            d[g + b] = (float) (2 * rnd.nextDouble() - 1);
        }
        return new FloatMatrix(rows, cols, d);
    }

    private static float[] activations(int tokens, int in) {
        SplittableRandom rnd = new SplittableRandom(42);
        float[] x = new float[tokens * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * rnd.nextDouble() - 1);
        return x;
    }

    private static Options parse(String[] args) {
        int[] tokens = {1, 64};
        long coldMib = 512;
        int samples = 9;
        int[][] shapes = SHAPES;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--tokens" -> tokens = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--cold-mib" -> coldMib = Long.parseLong(args[++i]);
                case "--samples" -> samples = Integer.parseInt(args[++i]);
                case "--shapes" -> shapes = Arrays.stream(args[++i].split(","))
                        .map(s -> Arrays.stream(s.split("x")).mapToInt(Integer::parseInt).toArray()).toArray(int[][]::new);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + ": use --tokens 1,64 --cold-mib 512 --samples 9 --shapes 576x576,1536x576");
            }
        }
        return new Options(tokens, coldMib << 20, samples, shapes);
    }
}
