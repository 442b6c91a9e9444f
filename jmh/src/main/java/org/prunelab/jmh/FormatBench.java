package org.prunelab.jmh;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.format.WeightFormat;
import org.prunelab.format.WeightFormats;

/**
 * One linear layer {@code y = x W^T} in each execution format of the registry ({@link WeightFormats}), on SmolLM2-135M's
 * shapes [out, in]: 576x576 (q/o_proj), 1536x576 (gate/up_proj), 576x1536 (down_proj), 49152x576 (the tied LM head).
 *
 * <p>{@code case} is {@code FORMAT/WEIGHTS}: a registered format's name and the weights it is given, {@code dense}
 * (no zeros), {@code u50|u70|u90} (Bernoulli unstructured at that sparsity) or {@code 2:4} (random 2:4). The default list
 * pairs each format with the weights it is meant for (packed N:M gets N:M weights); any other registered format can be
 * named on the command line ({@code -p case=q4_0/2:4}), and a pairing the format cannot hold fails its setup with the
 * format's own message. {@code tokens} 1 is decode (matrix-vector), 64 a prefill block (matrix-matrix). Calls rotate
 * over copies of the layer filling {@link #COLD_BYTES} of fp32, so weights stream from memory as in a decode step over
 * the whole model, not from cache. GFLOP/s-equivalent ({@code 2 out in tokens / time}) and bytes moved are computed
 * from the time per call by {@code tools/results/speed.sh}; the memory bandwidth is {@link StreamBench}, run in the same
 * JMH invocation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class FormatBench {
    /** Dense bytes the rotating copies fill (twice a 2-core server's L3 share and more). */
    static final long COLD_BYTES = 256L << 20;

    @Param({"576x576", "1536x576", "576x1536", "49152x576"})
    public String shape;

    @Param({"dense/dense", "csr/u50", "csr/u70", "csr/u90", "nm/2:4", "csr/2:4", "q8_0/dense", "q4_0/dense", "q8_0/2:4", "nm-q8/2:4", "nm-q4/2:4"})
    public String pair;

    @Param({"1", "64"})
    public int tokens;

    private List<Linear> copies;
    private float[] x;
    private float[] y;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = shape.split("x");
        int out = Integer.parseInt(dims[0]);
        int in = Integer.parseInt(dims[1]);
        String[] fw = pair.split("/", 2);
        WeightFormat format = WeightFormats.byName(fw[0]);
        FloatMatrix w = switch (fw[1]) {
            case "dense" -> unstructured(out, in, 0.0, 1);
            case "2:4" -> nm24(out, in, 2);
            default -> unstructured(out, in, Integer.parseInt(fw[1].substring(1)) / 100.0, 3);
        };
        int n = (int) Math.max(1, COLD_BYTES / (4L * out * in));
        copies = new ArrayList<>(n);
        for (int i = 0; i < n; i++) copies.add(WeightFormats.convert(new DenseLinear(w.copy(), null), format));
        x = new float[tokens * in];
        SplittableRandom rnd = new SplittableRandom(42);
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * rnd.nextDouble() - 1);
        y = new float[tokens * out];
    }

    @Benchmark
    public float[] forward() {
        Linear l = copies.get(next);
        next = next + 1 == copies.size() ? 0 : next + 1;
        l.forward(x, tokens, y);
        return y;
    }

    /** Each weight zero with probability {@code sparsity}, else uniform in [-1, 1); seeded. */
    static FloatMatrix unstructured(int rows, int cols, double sparsity, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = rnd.nextDouble() < sparsity ? 0f : (float) (2 * rnd.nextDouble() - 1);
        return new FloatMatrix(rows, cols, d);
    }

    /** Two random survivors in every group of 4 columns (cols a multiple of 4). */
    static FloatMatrix nm24(int rows, int cols, long seed) {
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
}
