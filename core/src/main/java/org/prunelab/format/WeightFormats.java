package org.prunelab.format;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import org.prunelab.PrunelabException;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.sparse.PackedNmMatrix;

/**
 * The registry of execution formats ({@link WeightFormat}) and the {@code auto} rule. Choice on the command line
 * ({@code --format}), conversion ({@link FormatConversion}), byte accounting and the kernel benchmarks all iterate
 * {@link #all()}: a new format is one class plus one line in {@link #ALL}.
 *
 * <h2>{@code auto}, per phase</h2>
 * Only lossless formats are picked; a layer already held in a lossy (quantised) format keeps it. Decode (one token):
 * <ol>
 *   <li>a weight whose every group of 4 holds at most 2 nonzeros (or of 8 at most 4) is packed N:M, unless it is
 *       sparser than {@link #CSR_OVER_NM_SPARSITY}, where CSR stores fewer bytes;</li>
 *   <li>otherwise CSR when at least {@link #CSR_MIN_SPARSITY} of the weights are zero;</li>
 *   <li>otherwise dense.</li>
 * </ol>
 * Prefill (several tokens) is asked separately ({@link Phase}); where the two phases choose differently the layer is held
 * in both ({@link PhasedLinear}) and the report says so. On the measurements so far the phases agree: at 64 tokens CSR
 * ran 1.1-5x faster than BLAS sgemm at 70% zeros and packed 2:4 1.1-1.7x ({@code results/sparse-kernel-bench.md}), so
 * prefill uses the same rule and auto holds one copy. The thresholds come from {@code SparseKernelBench}.
 */
public final class WeightFormats {
    /**
     * Unstructured sparsity from which CSR decode beats dense. CSR streams 8 bytes per nonzero against dense's 4 per
     * weight, so it cannot win below 50%, and its gathers cost more than dense loads: measured, CSR decode at 50% ran at
     * 0.6-0.9x of a Vector API dense matvec, at 70% at 0.75-1.6x (winning when weights stream from memory), at 90% at
     * 1.5-5x.
     */
    public static final double CSR_MIN_SPARSITY = 0.70;

    /** Sparsity above which CSR beats packed N:M even on N:M weights (CSR bytes 8(1-s) &lt; N:M's ~2.1 per weight). */
    public static final double CSR_OVER_NM_SPARSITY = 0.85;

    private static final int[][] NM_PATTERNS = {{2, 4}, {4, 8}};

    private static final List<WeightFormat> ALL = List.of(
            new DenseFormat(),
            new CsrFormat(),
            new NmFormat(),
            new LowRankFormat(),
            new QuantFormat(org.prunelab.tensor.quant.QuantType.Q8_0),
            new QuantFormat(org.prunelab.tensor.quant.QuantType.Q4_0),
            new NmQuantFormat(org.prunelab.tensor.quant.QuantType.Q8_0),
            new NmQuantFormat(org.prunelab.tensor.quant.QuantType.Q4_0));

    /** Which phase a choice is for: several tokens at once, or one. */
    public enum Phase { PREFILL, DECODE }

    /**
     * One layer's choice.
     *
     * @param format the format
     * @param reason one sentence for logs and the CLI, e.g. "2:4 pattern holds in every group (50.0% zeros)"
     */
    public record Choice(WeightFormat format, String reason) {}

    private WeightFormats() {}

    /** Every registered format, in a fixed order (dense first). */
    public static List<WeightFormat> all() { return ALL; }

    /** The names {@code --format} accepts: {@code auto} and every registered format's name. */
    public static List<String> names() {
        List<String> n = new ArrayList<>();
        n.add("auto");
        ALL.forEach(f -> n.add(f.name()));
        return n;
    }

    /**
     * The format named {@code name} (case-insensitive; not {@code auto}).
     *
     * @throws PrunelabException.InvalidArgument for an unknown name; the message lists the known ones
     */
    public static WeightFormat byName(String name) {
        String key = name.strip().toLowerCase(Locale.ROOT);
        for (WeightFormat f : ALL) if (f.name().equals(key)) return f;
        throw new PrunelabException.InvalidArgument("unknown weight format '" + name + "': choose "
                + String.join(", ", names()));
    }

    /**
     * The format {@code layer} is held in (a {@link BiasedLinear} counts as its inner layer's format; a
     * {@link PhasedLinear} as its decode layer's).
     *
     * @throws IllegalStateException if no registered format holds it (a Linear class missing from the registry)
     */
    public static WeightFormat of(Linear layer) {
        Linear core = bare(layer);
        for (WeightFormat f : ALL) if (f.holds(core)) return f;
        throw new IllegalStateException("no registered weight format holds " + layer
                + ": add its format to WeightFormats.ALL");
    }

    /** The label for reports: {@code dense}, {@code 2:4}, {@code q8_0}, or {@code prefill dense / decode 2:4}. */
    public static String label(Linear layer) {
        if (layer instanceof PhasedLinear p) return "prefill " + label(p.prefill()) + " / decode " + label(p.decode());
        Linear core = bare(layer);
        return of(core).label(core);
    }

    /**
     * The dense fp32 weight {@code [out, in]} of any layer (bias excluded): the matrix itself for a dense layer, the
     * decoded values otherwise (rounded values for a quantised one).
     */
    public static FloatMatrix denseWeight(Linear layer) {
        Linear core = bare(layer);
        return of(core).decode(core);
    }

    /** The bias of a layer, or null. */
    public static float[] bias(Linear layer) {
        if (layer instanceof PhasedLinear p) return bias(p.decode());
        if (layer instanceof BiasedLinear b) return b.bias();
        if (layer instanceof DenseLinear d) return d.bias();
        return null;
    }

    /**
     * {@code layer} in {@code format}, its bias kept ({@link BiasedLinear}); {@code layer} itself when it already is.
     *
     * @throws PrunelabException.InvalidArgument if the format cannot hold it (the message says why)
     */
    public static Linear convert(Linear layer, WeightFormat format) {
        Linear core = bare(layer);
        float[] bias = bias(layer);
        if (format.holds(core) && !(layer instanceof PhasedLinear)) return layer;
        if (format instanceof DenseFormat) {
            if (core instanceof DenseLinear d && bias == d.bias()) return d;
            return new DenseLinear(denseWeight(core), bias);
        }
        Linear bareLayer = core instanceof DenseLinear d && d.bias() != null ? new DenseLinear(d.weight(), null) : core;
        format.misfit(bareLayer).ifPresent(why -> {
            throw new PrunelabException.InvalidArgument(why);
        });
        Linear encoded = format.encode(bareLayer);
        return bias == null ? encoded : new BiasedLinear(encoded, bias);
    }

    /**
     * The format {@code auto} picks for {@code layer} in {@code phase} (rule in the class comment).
     */
    public static Choice auto(Linear layer, Phase phase) {
        Linear core = bare(layer);
        WeightFormat held = of(core);
        if (!held.lossless()) return new Choice(held, "kept: already " + held.label(core) + " (auto never re-encodes a quantised layer)");
        if (held instanceof LowRankFormat) return new Choice(held, "kept: low-rank factors");
        FloatMatrix w = denseWeight(core);
        double sparsity = sparsity(w);
        String percent = String.format(Locale.ROOT, "%.1f%%", 100 * sparsity);
        Optional<int[]> nm = sparsity > CSR_OVER_NM_SPARSITY ? Optional.empty() : nmPattern(w);
        if (nm.isPresent()) {
            int[] p = nm.get();
            return new Choice(byName("nm"), p[0] + ":" + p[1] + " pattern holds in every group (" + percent + " zeros)");
        }
        if (sparsity >= CSR_MIN_SPARSITY) {
            return new Choice(byName("csr"), percent + " zeros, at least the CSR crossover "
                    + Math.round(100 * CSR_MIN_SPARSITY) + "%");
        }
        return new Choice(byName("dense"), "not N:M and " + percent + " zeros, below the CSR crossover "
                + Math.round(100 * CSR_MIN_SPARSITY) + "%");
    }

    /** Fraction of exactly-zero entries, in [0, 1]. */
    public static double sparsity(FloatMatrix w) {
        return w.size() == 0 ? 0 : (double) w.countZeros() / w.size();
    }

    /** The N:M pattern (2:4 tried first, then 4:8) every group of {@code w} satisfies, if any. */
    public static Optional<int[]> nmPattern(FloatMatrix w) {
        for (int[] p : NM_PATTERNS) {
            if (PackedNmMatrix.findViolation(w, p[0], p[1]).isEmpty()) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** Why {@code w} is not N:M, naming the first offending group and the format that fits. */
    static String notNmMessage(FloatMatrix w, String format) {
        PackedNmMatrix.Violation v = PackedNmMatrix.findViolation(w, 4, 8).orElseThrow();
        double sparsity = sparsity(w);
        String percent = String.format(Locale.ROOT, "%.1f%%", 100 * sparsity);
        String fits = sparsity >= CSR_MIN_SPARSITY ? "csr" : "dense (or csr, slower below "
                + Math.round(100 * CSR_MIN_SPARSITY) + "% zeros)";
        return "format " + format + " needs 2:4 or 4:8 weights, but the [" + w.rows() + ", " + w.cols() + "] weight"
                + " is neither: row " + v.row() + ", group of 8 number " + v.group() + " has " + v.nonZeros()
                + " nonzeros (" + percent + " zeros overall): use format " + fits + ", or prune with pattern 2:4";
    }

    /** One line per format for {@code --help}: {@code name: description}. */
    public static String describeAll() {
        return ALL.stream().map(f -> f.name() + ": " + f.description()).collect(Collectors.joining("\n"));
    }

    /**
     * The layer that holds the weight: {@code layer} without its {@link BiasedLinear} bias, and for a
     * {@link PhasedLinear} its decode layer (the format it is stored in for deployment).
     */
    public static Linear weightLayer(Linear layer) {
        return bare(layer);
    }

    private static Linear bare(Linear layer) {
        Linear l = layer instanceof PhasedLinear p ? p.decode() : layer;
        return l instanceof BiasedLinear b ? b.inner() : l;
    }
}
