package org.prunelab.bench;

import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Matvec;
import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * JMH-free measurements behind the Q8_0 / Q4_0 kernels of {@code org.prunelab.tensor.quant}, on SmolLM2-135M's linear
 * shapes ([576x576] Q/O, [192x576] K/V, [1536x576] gate/up, [576x1536] down, [49152x576] the tied LM head). Every
 * table alternates its contenders inside each round (so a neighbour's load hits all of them alike) and reports the
 * median over rounds of the time per call (see {@link #timings}); the load average is printed before and after each
 * part.
 * <ul>
 *   <li>{@code choice}: the batch-1 kernel — the product kernel (blocks widened to fp32 in registers, four rows at a
 *       time, read through a MemorySegment: heap and off-heap/mapped) against the same on a byte[], one row at a
 *       time, and llama.cpp's int8 x int8 dot (x quantised to Q8_0 per call); one thread.</li>
 *   <li>{@code prefill}: the few-token direct kernel against dequantise-a-row-tile-then-GEMM, by token count.</li>
 *   <li>{@code report}: fp32 dense ({@code Matvec.multiply}, what decode runs), Q8_0 and Q4_0 matvec at 1 and 2 threads, hot (one
 *       matrix, cache-resident when small) and cold (calls rotate over copies filling {@code --cold-mib}); GB/s is the
 *       weight bytes read per call over the time.</li>
 * </ul>
 * Run from the repository root after {@code mvn -pl core compile} (cp.txt: {@code mvn -pl core dependency:build-classpath
 * -Dmdep.outputFile=cp.txt}):
 * <pre>
 * java --add-modules jdk.incubator.vector -cp core/target/classes:$(cat cp.txt) org.prunelab.bench.QuantKernelBench \
 *     [choice|prefill|report|all] [--rounds 7] [--cold-mib 256]
 * </pre>
 */
public final class QuantKernelBench {
    private static final int[][] SHAPES = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}};

    private QuantKernelBench() {}

    /** One contender: a name and a call. */
    private record Contender(String name, Runnable call) {}

    public static void main(String[] args) {
        String part = "all";
        int rounds = 7;
        long coldBytes = 256L << 20;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--cold-mib" -> coldBytes = Long.parseLong(args[++i]) << 20;
                default -> part = args[i];
            }
        }
        System.out.printf(Locale.ROOT, "float lanes %d, native BLAS %s, cores %d%n",
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length(), Gemm.nativeBlasAvailable(),
                Runtime.getRuntime().availableProcessors());
        warmUpKernels();
        if (part.equals("choice") || part.equals("all")) choice(rounds);
        if (part.equals("prefill") || part.equals("all")) prefill(rounds);
        if (part.equals("report") || part.equals("all")) report(rounds, coldBytes);
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException | RuntimeException e) {
            return "unavailable";
        }
    }

    // ---- choice of the batch-1 kernel ----

    private static void choice(int rounds) {
        Parallel.setThreads(1);
        System.out.println("\n## batch-1 kernel choice, 1 thread; load average before: " + loadAverage());
        System.out.println("| type | shape | kernel | CPU us/call | GB/s (CPU) | wall us/call |");
        System.out.println("|---|---|---|---|---|---|");
        List<Path> files = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            for (int[] shape : new int[][] {{1536, 576}, {576, 1536}, {49152, 576}}) {
                for (QuantType type : QuantType.values()) {
                    FloatMatrix w = random(shape[0], shape[1], 1);
                    QuantMatrix allocated = QuantMatrix.quantize(type, w);
                    QuantMatrix mapped = QuantMatrix.wrap(type, shape[0], shape[1], map(files, allocated, arena));
                    byte[] array = allocated.toByteArray();
                    float[] x = activations(shape[1], 2);
                    float[] y = new float[shape[0]];
                    QuantLinear allocatedLinear = QuantLinear.of(allocated);
                    QuantLinear mappedLinear = QuantLinear.of(mapped);
                    List<Contender> cs = new ArrayList<>(List.of(
                            new Contender("float, segment, 1 row (product), native", () -> allocatedLinear.forward(x, 1, y)),
                            new Contender("float, segment, 1 row (product), mapped file", () -> mappedLinear.forward(x, 1, y)),
                            new Contender("float, byte[], 1 row", () -> QuantMatvecVariants.floatArray(type, array, shape[0], shape[1], x, y)),
                            new Contender("float, segment, 2 rows", type == QuantType.Q8_0
                                    ? () -> QuantMatvecVariants.q8Rows2(allocated, x, y)
                                    : () -> QuantMatvecVariants.q4Rows2(allocated, x, y))));
                    if (type == QuantType.Q8_0) {
                        cs.add(new Contender("float, segment, 1 row, one 32-byte load", () -> QuantMatvecVariants.q8Load32(allocated, x, y)));
                        cs.add(new Contender("float, segment, 4 rows", () -> QuantMatvecVariants.q8Rows4(allocated, x, y)));
                    } else {
                        cs.add(new Contender("float, segment, 1 row, nibble - 8 in byte lanes", () -> QuantMatvecVariants.q4Bytes(allocated, x, y)));
                    }
                    if (QuantMatvecVariants.INT8_AVAILABLE) {
                        cs.add(new Contender("int8 x int8 (x to Q8_0 per call)", () -> QuantMatvecVariants.int8(allocated, x, y)));
                    }
                    checkAgree(cs, y, allocatedLinear, x);
                    Timings t = timings(cs, rounds);
                    for (int i = 0; i < cs.size(); i++) {
                        System.out.printf(Locale.ROOT, "| %s | %dx%d | %s | %.1f | %.2f | %.1f |%n", type, shape[0], shape[1],
                                cs.get(i).name(), t.cpu()[i] * 1e6, allocated.byteSize() / t.cpu()[i] / 1e9, t.wall()[i] * 1e6);
                    }
                }
            }
        } finally {
            for (Path f : files) {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // a temporary file; the OS cleans /tmp
                }
            }
        }
        System.out.println("load average after: " + loadAverage());
    }

    /**
     * Writes m's blocks to a new temporary file (added to {@code files}) and maps it read-only, handing the mapping out as
     * a plain native segment of {@code arena}, as {@code GgufFile.quantMatrix} does.
     */
    private static MemorySegment map(List<Path> files, QuantMatrix m, Arena arena) {
        try {
            Path file = Files.createTempFile("quant-bench", ".bin");
            files.add(file);
            Files.write(file, m.toByteArray());
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
                MemorySegment mapped = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                return MemorySegment.ofAddress(mapped.address()).reinterpret(mapped.byteSize(), arena, null).asReadOnly();
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Every contender must compute the same product (within the int8 variant's activation rounding). */
    private static void checkAgree(List<Contender> cs, float[] y, QuantLinear reference, float[] x) {
        float[] expected = new float[y.length];
        reference.forward(x, 1, expected);
        double scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        for (Contender c : cs) {
            Arrays.fill(y, Float.NaN);
            c.call().run();
            double worst = 0;
            for (int i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - expected[i]));
            double allowed = c.name().startsWith("int8") ? 0.05 : 1e-4;
            if (!(worst <= allowed * scale)) {
                throw new IllegalStateException(c.name() + " disagrees with the product kernel: max error " + worst
                        + " of max |y| " + scale);
            }
        }
    }

    // ---- prefill: direct kernel or tiles + GEMM ----

    private static void prefill(int rounds) {
        Parallel.setThreads(1);
        System.out.println("\n## few-token and prefill paths, 1 thread, GEMM " + Gemm.active().backend()
                + "; load average before: " + loadAverage());
        System.out.println("| type | shape | tokens | direct CPU us | tiled CPU us | matvec per token CPU us | direct / tiled (CPU) | direct / tiled (wall) |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (int[] shape : new int[][] {{576, 576}, {1536, 576}, {576, 1536}}) {
            for (QuantType type : QuantType.values()) {
                QuantLinear layer = QuantLinear.quantize(type, random(shape[0], shape[1], 3), null);
                for (int tokens : new int[] {2, 3, 4, 5, 8, 12, 17, 32, 64, 512}) {
                    float[] x = activations(tokens * shape[1], 4);
                    float[] y = new float[tokens * shape[0]];
                    float[] xt = new float[shape[1]];
                    float[] yt = new float[shape[0]];
                    List<Contender> cs = List.of(
                            new Contender("direct", () -> layer.forward(x, tokens, y, QuantLinear.Path.DIRECT)),
                            new Contender("tiled", () -> layer.forward(x, tokens, y, QuantLinear.Path.TILED)),
                            new Contender("matvec per token", () -> {
                                for (int t = 0; t < tokens; t++) {
                                    System.arraycopy(x, t * shape[1], xt, 0, shape[1]);
                                    layer.forward(xt, 1, yt);
                                    System.arraycopy(yt, 0, y, t * shape[0], shape[0]);
                                }
                            }));
                    Timings t = timings(cs, tokens >= 64 ? Math.max(3, rounds / 2) : rounds);
                    System.out.printf(Locale.ROOT, "| %s | %dx%d | %d | %.1f | %.1f | %.1f | %.2f | %.2f |%n", type,
                            shape[0], shape[1], tokens, t.cpu()[0] * 1e6, t.cpu()[1] * 1e6, t.cpu()[2] * 1e6,
                            t.cpu()[0] / t.cpu()[1], t.wall()[0] / t.wall()[1]);
                }
            }
        }
        System.out.println("load average after: " + loadAverage());
    }

    // ---- report: dense fp32 vs Q8_0 vs Q4_0 ----

    private static void report(int rounds, long coldBytes) {
        System.out.println("\n## batch-1 matvec y = W x: fp32 dense (Matvec, the decode kernel) vs Q8_0 vs Q4_0; load average before: "
                + loadAverage());
        System.out.println("| shape | regime | format | weight MB | 1 thread us (wall) | GB/s | 1 thread us (CPU) | "
                + "2 threads us (wall) | GB/s | fp32 time / this (1t wall) | (1t CPU) | (2t wall) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (int[] shape : SHAPES) {
            int out = shape[0], in = shape[1];
            FloatMatrix w = random(out, in, 5);
            float[] x = activations(in, 6);
            float[] y = new float[out];
            for (String regime : new String[] {"hot", "cold"}) {
                List<String> formats = List.of("fp32", "Q8_0", "Q4_0");
                List<Contender> cs = new ArrayList<>();
                long[] bytes = new long[formats.size()];
                for (int f = 0; f < formats.size(); f++) {
                    String format = formats.get(f);
                    bytes[f] = format.equals("fp32") ? 4L * out * in : QuantType.valueOf(format).matrixBytes(out, in);
                    int copies = regime.equals("hot") ? 1 : (int) Math.max(2, (coldBytes + bytes[f] - 1) / bytes[f]);
                    List<Runnable> calls = new ArrayList<>();
                    for (int c = 0; c < copies; c++) {
                        if (format.equals("fp32")) {
                            FloatMatrix own = w.copy();
                            calls.add(() -> Matvec.multiply(own, x, 0, y, 0));
                        } else {
                            QuantLinear q = QuantLinear.quantize(QuantType.valueOf(format), w, null);
                            calls.add(() -> q.forward(x, 1, y));
                        }
                    }
                    int[] next = {0};
                    Runnable rotate = () -> {
                        calls.get(next[0]).run();
                        next[0] = next[0] + 1 == calls.size() ? 0 : next[0] + 1;
                    };
                    for (int threads = 1; threads <= 2; threads++) {
                        int n = threads;
                        cs.add(new Contender(format + "/" + threads, () -> {
                            if (Parallel.threads() != n) Parallel.setThreads(n);
                            rotate.run();
                        }));
                    }
                }
                Timings tm = timings(cs, rounds);
                double[] t = tm.wall();
                double[] cpu = tm.cpu();
                for (int f = 0; f < formats.size(); f++) {
                    double t1 = t[2 * f], t2 = t[2 * f + 1], c1 = cpu[2 * f];
                    System.out.printf(Locale.ROOT, "| %dx%d | %s | %s | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2fx | %.2fx | %.2fx |%n",
                            out, in, regime, formats.get(f), bytes[f] / 1e6, t1 * 1e6, bytes[f] / t1 / 1e9, c1 * 1e6,
                            t2 * 1e6, bytes[f] / t2 / 1e9, t[0] / t1, cpu[0] / c1, t[1] / t2);
                }
            }
        }
        System.out.println("load average after: " + loadAverage());
        Parallel.setThreads(1);
    }

    // ---- timing ----

    /** Median wall-clock and calling-thread CPU seconds per call of each contender. */
    private record Timings(double[] wall, double[] cpu) {}

    /**
     * Times the contenders alternately. Each is first run until two consecutive 0.2 s windows agree within 10% (at most
     * 6 s: under load the JIT takes seconds to compile Vector API code, and interpreted Vector API code is ~1000x
     * slower), then a batch size is chosen so a batch takes ~20 ms; every round times one batch of each, the
     * contenders' order rotating from round to round, and the median over rounds is reported. One untimed call
     * precedes each batch, so a contender that switches the thread count does so outside the timing. Besides wall
     * time it measures the calling thread's CPU time: on a shared machine a single-threaded kernel's CPU time is much
     * steadier than its wall time (the neighbours' share of the cores does not count, though their cache pollution
     * still does); it means nothing for a multi-threaded contender.
     */
    private static Timings timings(List<Contender> cs, int rounds) {
        int n = cs.size();
        int[] batch = new int[n];
        for (int i = 0; i < n; i++) batch[i] = (int) Math.max(1, 0.02 / warm(cs.get(i).call()));
        double[][] wall = new double[n][rounds];
        double[][] cpu = new double[n][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < n; k++) {
                int i = (k + r) % n;
                Runnable call = cs.get(i).call();
                call.run();
                long c0 = THREADS.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                for (int b = 0; b < batch[i]; b++) call.run();
                wall[i][r] = (System.nanoTime() - t0) / 1e9 / batch[i];
                cpu[i][r] = (THREADS.getCurrentThreadCpuTime() - c0) / 1e9 / batch[i];
            }
        }
        return new Timings(medians(wall), medians(cpu));
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    private static double[] medians(double[][] samples) {
        double[] median = new double[samples.length];
        for (int i = 0; i < samples.length; i++) {
            double[] s = samples[i].clone();
            Arrays.sort(s);
            median[i] = s[s.length / 2];
        }
        return median;
    }

    /** Runs {@code call} until its speed settles (see {@link #alternate}); returns the last window's seconds per call. */
    private static double warm(Runnable call) {
        long deadline = System.nanoTime() + 6_000_000_000L;
        double previous = Double.MAX_VALUE;
        while (true) {
            long t0 = System.nanoTime();
            int calls = 0;
            while (calls < 2 || System.nanoTime() - t0 < 200_000_000L) {
                call.run();
                calls++;
            }
            double perCall = (System.nanoTime() - t0) / 1e9 / calls;
            if (Math.abs(perCall - previous) < 0.1 * perCall || System.nanoTime() > deadline) return perCall;
            previous = perCall;
        }
    }

    /**
     * Compiles every kernel on small matrices first: a kernel met interpreted on the [49152, 576] LM head would take
     * tens of seconds per call before the JIT replaced it.
     */
    private static void warmUpKernels() {
        Gemm vector = Gemm.of(Gemm.Backend.VECTOR);
        for (int cols : new int[] {576, 1536}) {
            FloatMatrix w = random(64, cols, 9);
            float[] x = activations(17 * cols, 10);
            float[] y = new float[17 * 64];
            for (QuantType type : QuantType.values()) {
                QuantMatrix m = QuantMatrix.quantize(type, w);
                QuantLinear q = QuantLinear.of(m);
                byte[] array = m.toByteArray();
                List<Runnable> calls = new ArrayList<>(List.of(() -> q.forward(x, 1, y), () -> vector.linear(x, 1, w, y),
                        () -> q.forward(x, 3, y, QuantLinear.Path.DIRECT), () -> q.forward(x, 17, y, QuantLinear.Path.TILED),
                        () -> QuantMatvecVariants.floatArray(type, array, 64, cols, x, y),
                        () -> QuantMatvecVariants.q4Rows2(m, x, y)));
                if (type == QuantType.Q8_0) {
                    calls.set(calls.size() - 1, () -> QuantMatvecVariants.q8Rows2(m, x, y));
                    calls.add(() -> QuantMatvecVariants.q8Load32(m, x, y));
                    calls.add(() -> QuantMatvecVariants.q8Rows4(m, x, y));
                } else {
                    calls.add(() -> QuantMatvecVariants.q4Bytes(m, x, y));
                }
                if (QuantMatvecVariants.INT8_AVAILABLE) calls.add(() -> QuantMatvecVariants.int8(m, x, y));
                for (Runnable c : calls) warm(c);
            }
        }
    }

    private static FloatMatrix random(int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextGaussian() * 0.02);
        return new FloatMatrix(rows, cols, d);
    }

    private static float[] activations(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
