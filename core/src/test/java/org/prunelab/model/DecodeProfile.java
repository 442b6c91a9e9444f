package org.prunelab.model;

import org.prunelab.arch.ModelLoader;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.model.LoadedModel;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.VectorMath;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Where a batch-1 decode step's time goes: replays {@link Transformer#decode}'s step component by component with
 * {@link System#nanoTime} around each (block linears by role, attention over the KV cache, norms, RoPE, activation,
 * LM head), and alternates with the real {@code decode} so the sum can be checked against it. Prints ms per token, the
 * weight bytes each linear streams per second and the bytes allocated per token. Modes (separated by ';') run
 * alternately in one JVM; a mode containing {@code threads1} runs on one thread. Not a test; run by hand:
 *
 * <pre>java --add-modules jdk.incubator.vector -cp core/target/classes:core/target/test-classes:experiments/target/lib/*
 *     org.prunelab.model.DecodeProfile [model] [prompt] [gen] [runs] ["two threads;threads1"]</pre>
 */
public final class DecodeProfile {
    private enum Part { EMBED, NORM, QKV, ROPE, ATTN, O, RESIDUAL, GATE_UP, ACT, DOWN, FINAL_NORM, LM_HEAD }

    private final long[] nanos = new long[Part.values().length];
    private long t;

    private final long[] bytes = new long[Part.values().length];
    private long allocated;
    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    private void lap(Part p) {
        long now = System.nanoTime();
        nanos[p.ordinal()] += now - t;
        long a = MX.getCurrentThreadAllocatedBytes();
        bytes[p.ordinal()] += a - allocated;
        allocated = MX.getCurrentThreadAllocatedBytes();
        t = System.nanoTime();
    }

    public static void main(String[] args) throws Exception {
        String spec = args.length > 0 ? args[0] : "smollm2-135m";
        int prompt = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        int gen = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        String[] modes = (args.length > 4 ? args[4] : "new").split(";");
        try (LoadedModel loaded = ModelLoader.load(spec, PrunelabHome.fromEnvironment())) {
            Transformer model = (Transformer) loaded.model();
            int[] tokens = new SplittableRandom(0).ints(prompt, 0, model.config().vocabSize()).toArray();
            DecodeProfile[] profiles = new DecodeProfile[modes.length];
            double[][] real = new double[modes.length][runs];
            double[][] prefillRate = new double[modes.length][runs];
            for (int m = 0; m < modes.length; m++) profiles[m] = new DecodeProfile();
            for (int r = -1; r < runs; r++) {
                boolean timed = r >= 0;
                for (int i = 0; i < modes.length; i++) {
                    int m = Math.floorMod(r, 2) == 0 ? i : modes.length - 1 - i; // ABBA
                    int want = modes[m].contains("threads1") ? 1 : Runtime.getRuntime().availableProcessors();
                    if (Parallel.threads() != want) Parallel.setThreads(want);
                    KvCache cache = model.newCache(prompt + gen);
                    long p0 = System.nanoTime();
                    float[] logits = model.prefill(tokens, cache);
                    if (timed) prefillRate[m][r] = prompt / ((System.nanoTime() - p0) / 1e9);
                    var smx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                    long a0 = smx.getCurrentThreadAllocatedBytes();
                    long s = System.nanoTime();
                    for (int g = 0; g < gen; g++) logits = model.decode(argmax(logits), cache);
                    if (timed) System.out.printf(Locale.ROOT, "mode '%s': caller allocated %d bytes per decode step%n",
                            modes[m], (smx.getCurrentThreadAllocatedBytes() - a0) / gen);
                    if (timed) real[m][r] = gen / ((System.nanoTime() - s) / 1e9);
                    KvCache c2 = model.newCache(prompt + gen);
                    logits = model.prefill(tokens, c2);
                    if (!timed) continue;
                    for (int g = 0; g < gen; g++) logits = profiles[m].step(model, argmax(logits), c2);
                    profiles[m].steps += gen;
                }
            }
            for (int m = 0; m < modes.length; m++) {
                System.out.printf(Locale.ROOT, "%n== mode '%s': real decode tokens/s per run %s, median %.2f%n", modes[m],
                        java.util.Arrays.toString(java.util.Arrays.stream(real[m]).map(x -> Math.round(x * 100) / 100.0).toArray()),
                        median(real[m]));
                System.out.printf(Locale.ROOT, "   prefill tokens/s per run %s, median %.1f%n",
                        java.util.Arrays.toString(java.util.Arrays.stream(prefillRate[m]).map(x -> Math.round(x * 10) / 10.0).toArray()),
                        median(prefillRate[m]));
                profiles[m].report(model);
                System.out.printf(Locale.ROOT, "dispatch: one empty Parallel.forRange over %d threads: %.2f us%n",
                        Parallel.threads(), emptyForkMicros());
            }
            if (modes.length > 1) {
                for (int m = 1; m < modes.length; m++) {
                    double[] ratio = new double[runs];
                    double[] pre = new double[runs];
                    for (int r = 0; r < runs; r++) {
                        ratio[r] = real[m][r] / real[0][r];
                        pre[r] = prefillRate[m][r] / prefillRate[0][r];
                    }
                    System.out.printf(Locale.ROOT, "decode ratio '%s' / '%s' per pair: median %.3f %s%n", modes[m], modes[0],
                            median(ratio), java.util.Arrays.toString(java.util.Arrays.stream(ratio).map(x -> Math.round(x * 1000) / 1000.0).toArray()));
                    System.out.printf(Locale.ROOT, "prefill ratio '%s' / '%s' per pair: median %.3f %s%n", modes[m], modes[0],
                            median(pre), java.util.Arrays.toString(java.util.Arrays.stream(pre).map(x -> Math.round(x * 1000) / 1000.0).toArray()));
                }
            }
        }
    }

    private int steps;

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private float[] step(Transformer model, int token, KvCache cache) {
        DecoderConfig config = model.config();
        ForwardBuffers buf = cache.decodeBuffers();
        int past = cache.length();
        allocated = MX.getCurrentThreadAllocatedBytes();
        t = System.nanoTime();
        float[] hidden = model.embed(new int[]{token});
        PositionAngles angles = new PositionAngles(past, 1);
        Attention attention = new Attention(config, new Rope(config), 0);
        int h = config.hiddenSize();
        lap(Part.EMBED);
        for (DecoderBlock block : model.blocks()) {
            Linear[] l = new Linear[LinearRole.values().length];
            for (LinearRole role : LinearRole.values()) l[role.ordinal()] = block.linear(role);
            float[] keys = cache.keys(block.index()), values = cache.values(block.index());
            block.norm(NormRole.ATTENTION_INPUT).forward(hidden, 1, buf.xNorm);
            lap(Part.NORM);
            DenseLinear.forwardTogether(new Linear[]{l[LinearRole.Q.ordinal()], l[LinearRole.K.ordinal()],
                    l[LinearRole.V.ordinal()]}, buf.xNorm, 1, new float[][]{buf.q, buf.k, buf.v});
            lap(Part.QKV);
            Rope.Table table = angles.of(attention.rope());
            int heads = config.numAttentionHeads(), kvHeads = config.numKeyValueHeads(), kvDim = config.kvDim();
            attention.rope().apply(buf.q, 1, heads, table);
            attention.rope().apply(buf.k, 1, kvHeads, table);
            lap(Part.ROPE);
            System.arraycopy(buf.k, 0, keys, past * kvDim, kvDim);
            System.arraycopy(buf.v, 0, values, past * kvDim, kvDim);
            attention.scaledDotProduct(buf.q, keys, values, 1, past, buf.attn, heads, kvHeads);
            lap(Part.ATTN);
            l[LinearRole.O.ordinal()].forward(buf.attn, 1, buf.proj);
            lap(Part.O);
            VectorMath.addInPlace(hidden, buf.proj, 0, h);
            lap(Part.RESIDUAL);
            block.norm(NormRole.MLP_INPUT).forward(hidden, 1, buf.xNorm);
            lap(Part.NORM);
            DenseLinear.forwardTogether(new Linear[]{l[LinearRole.GATE.ordinal()], l[LinearRole.UP.ordinal()]},
                    buf.xNorm, 1, new float[][]{buf.gate, buf.up});
            lap(Part.GATE_UP);
            VectorMath.siluMulInPlace(buf.gate, buf.up, 0, block.linear(LinearRole.GATE).outFeatures());
            lap(Part.ACT);
            l[LinearRole.DOWN.ordinal()].forward(buf.gate, 1, buf.proj);
            lap(Part.DOWN);
            VectorMath.addInPlace(hidden, buf.proj, 0, h);
            lap(Part.RESIDUAL);
        }
        cache.advance(1);
        model.norm().forward(hidden, 1, hidden);
        lap(Part.FINAL_NORM);
        float[] logits = new float[config.vocabSize()];
        model.lmHead().forward(hidden, 1, logits);
        lap(Part.LM_HEAD);
        return logits;
    }

    private void report(Transformer model) {
        DecoderBlock b = model.blocks().get(0);
        int layers = model.blocks().size();
        double total = 0;
        for (long n : nanos) total += n;
        System.out.printf(Locale.ROOT, "%-11s %9s %6s %10s %8s %12s%n", "part", "ms/token", "share", "MB/token", "GB/s", "alloc B/tok");
        for (Part p : Part.values()) {
            double ms = nanos[p.ordinal()] / 1e6 / steps;
            long bytes = switch (p) {
                case QKV -> (b.linear(LinearRole.Q).parameterBytes() + b.linear(LinearRole.K).parameterBytes()
                        + b.linear(LinearRole.V).parameterBytes()) * layers;
                case O -> b.linear(LinearRole.O).parameterBytes() * layers;
                case GATE_UP -> (b.linear(LinearRole.GATE).parameterBytes() + b.linear(LinearRole.UP).parameterBytes()) * layers;
                case DOWN -> b.linear(LinearRole.DOWN).parameterBytes() * layers;
                case LM_HEAD -> model.lmHead().parameterBytes();
                default -> 0;
            };
            String gbs = bytes == 0 ? "" : String.format(Locale.ROOT, "%8.1f", bytes / 1e9 / (ms / 1e3));
            String mb = bytes == 0 ? "" : String.format(Locale.ROOT, "%10.1f", bytes / 1e6);
            System.out.printf(Locale.ROOT, "%-11s %9.3f %5.1f%% %10s %8s %12d%n", p, ms, 100 * nanos[p.ordinal()] / total, mb, gbs,
                    this.bytes[p.ordinal()] / steps);
        }
        double profiled = total / 1e9 / steps;
        long weights = 0;
        for (DecoderBlock blk : model.blocks()) for (Linear l : blk.linears().values()) weights += l.parameterBytes();
        weights += model.lmHead().parameterBytes();
        System.out.printf(Locale.ROOT, "profiled step %.2f ms (%.2f tokens/s, %.1f GB/s of weights overall), %d steps%n",
                1e3 * profiled, 1 / profiled, weights / 1e9 / profiled, steps);
    }

    private static double emptyForkMicros() {
        Parallel.RangeBody nothing = (from, to) -> { };
        for (int i = 0; i < 2_000; i++) Parallel.forRange(2, 1, nothing);
        int n = 5_000;
        long s = System.nanoTime();
        for (int i = 0; i < n; i++) Parallel.forRange(2, 1, nothing);
        return (System.nanoTime() - s) / 1e3 / n;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
