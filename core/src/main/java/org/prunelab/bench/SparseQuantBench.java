package org.prunelab.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantType;
import org.prunelab.tensor.sparse.NmLinear;
import org.prunelab.tensor.sparse.NmQuantLinear;
import org.prunelab.tensor.sparse.PackedNmQuantMatrix;
import org.prunelab.tensor.sparse.SparseLoops;

/**
 * Decode (and optionally prefill) speed of the quantised packed N:M formats against dense Q8_0 / Q4_0
 * ({@link QuantLinear}), dense fp32 (a Vector API dot-product matvec) and fp32 packed 2:4 ({@link NmLinear}), on the
 * SmolLM2-135M linear shapes. JMH-free, like {@link SparseKernelBench}, but built for a busy shared machine:
 * the formats of one cell (shape, regime, threads, tokens) are timed <em>alternately</em>, one ~20 ms batch each
 * per round in a rotating order, and a speedup is the median over rounds of the per-round time ratio, so a slow
 * spell of the machine falls on all formats alike. {@code /proc/loadavg} is printed before and after every cell.
 *
 * <p>Regimes: {@code hot} multiplies the same matrix every call (kernel-bound); {@code cold} rotates over copies
 * of the format filling {@code --cold-mib} (default 512 MiB), so the weights stream from memory as in a decode
 * step over a whole model. Weights are seeded random 2:4 (4:8 for the 4:8 rows) values in [-1, 1); the dense
 * formats get the same pruned matrix.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -Xmx10g -cp core/target/classes:$(cat cp.txt) \
 *     org.prunelab.bench.SparseQuantBench [--threads 1,2] [--tokens 1] [--rounds 15] [--cold-mib 512] \
 *     [--shapes 576x576,...] [--regimes hot,cold] [--out results/file.md]
 * </pre>
 */
public final class SparseQuantBench {
    private static final int[][] SHAPES = {{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
    private static final String BASELINE = "q8_0";

    private record Format(String name, String pattern, Function<FloatMatrix, Linear> build) {}

    private record Options(int[] threads, int[] tokens, int rounds, long coldBytes, int[][] shapes, String[] regimes, Path out) {}

    private SparseQuantBench() {}

    private static List<Format> formats(int tokens) {
        List<Format> f = new ArrayList<>();
        f.add(new Format("dense-f32", "2:4", w -> denseVector(w)));
        f.add(new Format("q8_0", "2:4", w -> QuantLinear.quantize(QuantType.Q8_0, w, null)));
        f.add(new Format("q8_0-soa", "2:4", SoaQ8::new));
        f.add(new Format("q4_0", "2:4", w -> QuantLinear.quantize(QuantType.Q4_0, w, null)));
        f.add(new Format("2:4-f32", "2:4", w -> NmLinear.of(w, 2, 4)));
        f.add(new Format("2:4-q8", "2:4", w -> NmQuantLinear.of(w, 2, 4, QuantType.Q8_0)));
        f.add(new Format("2:4-q4", "2:4", w -> NmQuantLinear.of(w, 2, 4, QuantType.Q4_0)));
        f.add(new Format("4:8-q8", "4:8", w -> NmQuantLinear.of(w, 4, 8, QuantType.Q8_0)));
        if (tokens > 1) {
            f.add(new Format("dense-blas", "2:4", SparseQuantBench::denseBlas));
            f.add(new Format("2:4-q8 slabs", "2:4", w -> slabs(NmQuantLinear.of(w, 2, 4, QuantType.Q8_0))));
        }
        return f;
    }

    public static void main(String[] args) throws IOException {
        Options o = parse(args);
        StringBuilder report = new StringBuilder();
        say(report, String.format(Locale.ROOT, "vector=%d floats, BLAS=%s, cold=%d MiB, rounds=%d, loadavg %s",
                FloatVector.SPECIES_PREFERRED.length(), BenchKernels.blasName(),
                o.coldBytes() >> 20, o.rounds(), loadavg()));
        warmUp(o.tokens());
        say(report, "");
        say(report, "| shape | regime | threads | tokens | format | bytes/weight | us/call | vs q8_0 | vs q8_0-soa | vs dense-f32 | loadavg before / after |");
        say(report, "|---|---|---|---|---|---|---|---|---|---|---|");
        for (int[] shape : o.shapes()) {
            for (String regime : o.regimes()) {
                for (int tokens : o.tokens()) {
                    for (int threads : o.threads()) cell(report, shape[0], shape[1], regime, tokens, threads, o);
                }
            }
        }
        if (o.out() != null) Files.writeString(o.out(), report.toString());
    }

    private static void say(StringBuilder report, String line) {
        System.out.println(line);
        report.append(line).append('\n');
    }

    private static void cell(StringBuilder report, int out, int in, String regime, int tokens, int threads, Options o) {
        Parallel.setThreads(threads);
        Map<String, FloatMatrix> weights = new LinkedHashMap<>();
        weights.put("2:4", nm(out, in, 2, 4, 1));
        weights.put("4:8", nm(out, in, 4, 8, 2));
        List<Format> formats = formats(tokens);
        List<List<Linear>> copies = new ArrayList<>();
        long[] bytes = new long[formats.size()];
        for (int i = 0; i < formats.size(); i++) {
            Format f = formats.get(i);
            Linear first = f.build().apply(weights.get(f.pattern()));
            bytes[i] = first.parameterBytes();
            int count = regime.equals("hot") ? 1 : (int) Math.max(1, (o.coldBytes() + bytes[i] - 1) / bytes[i]);
            List<Linear> list = new ArrayList<>(count);
            list.add(first);
            for (int c = 1; c < count; c++) list.add(f.build().apply(weights.get(f.pattern())));
            copies.add(list);
        }
        float[] x = activations(tokens, in);
        float[] y = new float[tokens * out];
        int[] next = new int[formats.size()];
        Runnable[] calls = new Runnable[formats.size()];
        for (int i = 0; i < formats.size(); i++) {
            List<Linear> list = copies.get(i);
            int k = i;
            calls[i] = () -> {
                list.get(next[k]).forward(x, tokens, y);
                next[k] = next[k] + 1 == list.size() ? 0 : next[k] + 1;
            };
        }
        String before = loadavg();
        for (Runnable call : calls) settle(call);
        double[][] seconds = new double[formats.size()][o.rounds()];
        for (int round = 0; round < o.rounds(); round++) {
            for (int j = 0; j < formats.size(); j++) {
                int i = (j + round) % formats.size(); // rotate who goes first
                seconds[i][round] = batch(calls[i], 20_000_000L);
            }
        }
        String after = loadavg();
        int base = indexOf(formats, BASELINE);
        int soa = indexOf(formats, "q8_0-soa");
        int dense = indexOf(formats, "dense-f32");
        for (int i = 0; i < formats.size(); i++) {
            say(report, String.format(Locale.ROOT, "| %dx%d | %s | %d | %d | %s | %.3f | %.1f | %.2f | %.2f | %.2f | %s / %s |",
                    out, in, regime, threads, tokens, formats.get(i).name(), (double) bytes[i] / ((long) out * in),
                    median(seconds[i]) * 1e6, medianRatio(seconds[base], seconds[i]), medianRatio(seconds[soa], seconds[i]),
                    medianRatio(seconds[dense], seconds[i]), before, after));
        }
        copies.clear();
    }

    private static int indexOf(List<Format> formats, String name) {
        for (int i = 0; i < formats.size(); i++) if (formats.get(i).name().equals(name)) return i;
        throw new IllegalStateException(name);
    }

    /**
     * Runs {@code call} in 100 ms batches until its best batch time has not improved by 5% for 1.5 s (at least 2 s,
     * at most 20 s). On a busy 2-core machine C2 needs seconds to compile a Vector API kernel (the interpreted and
     * C1 versions run 10-10000x slower, and a single interpreted call can take seconds), so a fixed warm-up or "two
     * batches agree" stops too early.
     */
    private static void settle(Runnable call) {
        long start = System.nanoTime();
        long lastGain = start;
        double best = Double.MAX_VALUE;
        while (true) {
            double t = batch(call, 100_000_000L);
            long now = System.nanoTime();
            if (t < 0.95 * best) lastGain = now;
            best = Math.min(best, t);
            if (now - start > 20_000_000_000L || (now - start > 2_000_000_000L && now - lastGain > 1_500_000_000L)) return;
        }
    }

    /** Seconds per call over a batch of calls lasting about {@code nanos}. */
    private static double batch(Runnable call, long nanos) {
        long t0 = System.nanoTime();
        int calls = 0;
        while (calls < 2 || System.nanoTime() - t0 < nanos) {
            call.run();
            calls++;
        }
        return (System.nanoTime() - t0) / 1e9 / calls;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Median over rounds of reference time / format time (above 1: the format is faster). */
    private static double medianRatio(double[] reference, double[] format) {
        double[] r = new double[format.length];
        for (int i = 0; i < r.length; i++) r[i] = reference[i] / format[i];
        return median(r);
    }

    private static void warmUp(int[] tokenCounts) {
        for (int tokens : tokenCounts) {
            FloatMatrix w24 = nm(256, 576, 2, 4, 7);
            FloatMatrix w48 = nm(256, 576, 4, 8, 8);
            for (Format f : formats(tokens)) {
                Linear l = f.build().apply(f.pattern().equals("2:4") ? w24 : w48);
                float[] x = activations(tokens, 576);
                float[] y = new float[tokens * 256];
                settle(() -> l.forward(x, tokens, y));
            }
        }
    }

    static String loadavg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    /** The dense Vector API matvec of {@link BenchKernels#denseVector} as a Linear. */
    private static Linear denseVector(FloatMatrix w) {
        FloatMatrix own = w.copy();
        return new Linear() {
            public int inFeatures() { return own.cols(); }

            public int outFeatures() { return own.rows(); }

            public void forward(float[] x, int tokens, float[] y) { BenchKernels.denseVector(own, x, tokens, y); }

            public long parameterBytes() { return 4L * own.size(); }

            public long nonZeroParameters() { return own.size() - own.countZeros(); }

            public long totalParameters() { return own.size(); }
        };
    }

    /**
     * Dense Q8_0 with the blocks' scales and quants in two arrays ("structure of arrays", as
     * {@link PackedNmQuantMatrix} stores them) and the plainest Vector API matvec: a second Q8_0 baseline, so a
     * speedup over {@link QuantLinear} (ggml's interleaved 34-byte blocks, read through a MemorySegment) cannot come
     * from that layout alone.
     */
    private static final class SoaQ8 implements Linear {
        private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
        private static final VectorSpecies<Byte> B = ByteVector.SPECIES_256;
        private final int rows;
        private final int cols;
        private final byte[] quants;
        private final short[] scales;

        SoaQ8(FloatMatrix w) {
            rows = w.rows();
            cols = w.cols();
            int blocks = cols / 32;
            quants = new byte[rows * cols + 64];
            scales = new short[rows * blocks];
            byte[] block = new byte[34];
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < blocks; b++) {
                    QuantType.Q8_0.quantize(w.data(), r * cols + b * 32, 32, block, 0);
                    scales[r * blocks + b] = (short) ((block[0] & 0xFF) | (block[1] << 8));
                    System.arraycopy(block, 2, quants, r * cols + b * 32, 32);
                }
            }
        }

        public int inFeatures() { return cols; }

        public int outFeatures() { return rows; }

        public void forward(float[] x, int tokens, float[] y) {
            for (int t = 0; t < tokens; t++) {
                int xo = t * cols;
                int yo = t * rows;
                SparseLoops.forRows(rows, (long) rows * cols, (from, to) -> {
                    for (int r = from; r < to; r++) y[yo + r] = row(r, x, xo);
                });
            }
        }

        private float row(int r, float[] x, int xo) {
            var tot = FloatVector.zero(F);
            int blocks = cols / 32;
            int qo = r * cols;
            int so = r * blocks;
            for (int b = 0; b < blocks; b++, qo += 32) {
                var q = ByteVector.fromArray(B, quants, qo);
                var acc = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + b * 32));
                acc = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.fromArray(F, x, xo + b * 32 + 16), acc);
                tot = acc.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[so + b])), tot);
            }
            return tot.reduceLanes(VectorOperators.ADD);
        }

        public long parameterBytes() { return (long) rows * cols / 32 * 34; }

        public long nonZeroParameters() { return (long) rows * cols; }

        public long totalParameters() { return (long) rows * cols; }
    }

    /** Dense fp32 through BLAS sgemm (the prefill baseline; {@link BenchKernels#blas}). */
    private static Linear denseBlas(FloatMatrix w) {
        FloatMatrix own = w.copy();
        return new Linear() {
            public int inFeatures() { return own.cols(); }

            public int outFeatures() { return own.rows(); }

            public void forward(float[] x, int tokens, float[] y) { BenchKernels.blas(own, x, tokens, y); }

            public long parameterBytes() { return 4L * own.size(); }

            public long nonZeroParameters() { return own.size() - own.countZeros(); }

            public long totalParameters() { return own.size(); }
        };
    }

    /** The layer with prefill forced onto the dequantised-slab path. */
    private static Linear slabs(NmQuantLinear layer) {
        return new Linear() {
            public int inFeatures() { return layer.inFeatures(); }

            public int outFeatures() { return layer.outFeatures(); }

            public void forward(float[] x, int tokens, float[] y) {
                layer.weight().multiply(x, tokens, y, PackedNmQuantMatrix.Prefill.DEQUANTIZED_SLABS);
            }

            public long parameterBytes() { return layer.parameterBytes(); }

            public long nonZeroParameters() { return layer.nonZeroParameters(); }

            public long totalParameters() { return layer.totalParameters(); }
        };
    }

    /** Exactly n random survivors in every group of m columns (cols a multiple of m), values in [-1, 1). */
    private static FloatMatrix nm(int rows, int cols, int n, int m, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        int[] order = new int[m];
        for (int g = 0; g < d.length; g += m) {
            for (int i = 0; i < m; i++) order[i] = i;
            for (int i = m - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int i = 0; i < n; i++) d[g + order[i]] = (float) (2 * rnd.nextDouble() - 1);
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
        int[] threads = {1, 2};
        int[] tokens = {1};
        int rounds = 15;
        long coldMib = 512;
        int[][] shapes = SHAPES;
        String[] regimes = {"hot", "cold"};
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = ints(args[++i]);
                case "--tokens" -> tokens = ints(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--cold-mib" -> coldMib = Long.parseLong(args[++i]);
                case "--shapes" -> shapes = Arrays.stream(args[++i].split(","))
                        .map(s -> Arrays.stream(s.split("x")).mapToInt(Integer::parseInt).toArray()).toArray(int[][]::new);
                case "--regimes" -> regimes = args[++i].split(",");
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + ": use --threads 1,2"
                        + " --tokens 1,64 --rounds 15 --cold-mib 512 --shapes 576x576,1536x576 --regimes hot,cold --out FILE");
            }
        }
        return new Options(threads, tokens, rounds, coldMib << 20, shapes, regimes, out);
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
