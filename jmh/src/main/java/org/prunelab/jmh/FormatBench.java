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
import org.prunelab.tensor.sparse.CsrLinear;
import org.prunelab.tensor.sparse.NmLinear;

/**
 * One linear layer {@code y = x W^T} in each weight format, on SmolLM2-135M's shapes [out, in]: 576x576
 * (q/o_proj), 1536x576 (gate/up_proj), 576x1536 (down_proj), 49152x576 (the tied LM head).
 *
 * <p>{@code weights} is {@code dense} (masked-dense baseline: {@link DenseLinear}, BLAS for tokens &gt; 1,
 * the Vector API matvec for one token), {@code csr-50|70|90} (Bernoulli unstructured at that sparsity, CSR),
 * {@code nm-2:4} (random 2:4, packed N:M) or {@code csr-2:4} (the same 2:4 weights in CSR). {@code tokens} 1 is
 * decode (matrix-vector), 64 a prefill block (matrix-matrix). Calls rotate over copies of the layer filling
 * {@link #COLD_BYTES}, so weights stream from memory as in a decode step over the whole model, not from cache.
 * GFLOP/s-equivalent ({@code 2 out in tokens / time}) and bytes moved are computed from the time per call by
 * {@code tools/results/speed.sh}; the memory bandwidth is {@link StreamBench}, run in the same JMH invocation.
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

    @Param({"dense", "csr-50", "csr-70", "csr-90", "nm-2:4", "csr-2:4"})
    public String weights;

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
        FloatMatrix w = switch (weights) {
            case "dense" -> unstructured(out, in, 0.0, 1);
            case "nm-2:4", "csr-2:4" -> nm24(out, in, 2);
            default -> unstructured(out, in, Integer.parseInt(weights.substring(4)) / 100.0, 3);
        };
        int n = (int) Math.max(1, COLD_BYTES / (4L * out * in));
        copies = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            copies.add(switch (weights) {
                case "dense" -> new DenseLinear(w.copy(), null);
                case "nm-2:4" -> NmLinear.of(w, 2, 4);
                default -> CsrLinear.of(w);
            });
        }
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
