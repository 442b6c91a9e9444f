package org.prunelab.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * STREAM-like memory bandwidth in the same JMH run as {@link FormatBench}: {@code copy} (McCalpin's STREAM
 * Copy, a[i] = b[i], counted as 2 x 4 bytes per element: one read, one write) and {@code read} (a vector sum,
 * 4 bytes per element, the access pattern of a weight stream) over {@value #FLOATS} floats (256 MiB per array),
 * single-threaded like one decode product's share. GB/s is computed by {@code tools/results/speed.sh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class StreamBench {
    public static final int FLOATS = 64 << 20;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private float[] a;
    private float[] b;

    @Setup(Level.Trial)
    public void setUp() {
        a = new float[FLOATS];
        b = new float[FLOATS];
        for (int i = 0; i < FLOATS; i++) b[i] = i;
    }

    @Benchmark
    public float[] copy() {
        System.arraycopy(b, 0, a, 0, FLOATS);
        return a;
    }

    @Benchmark
    public float read() {
        FloatVector acc = FloatVector.zero(S);
        int l = S.length();
        for (int i = 0; i < FLOATS; i += l) acc = acc.add(FloatVector.fromArray(S, b, i));
        return acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
