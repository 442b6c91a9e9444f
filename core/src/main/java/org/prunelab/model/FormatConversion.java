package org.prunelab.model;

import org.prunelab.tensor.Linear;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.sparse.FormatChoice;
import org.prunelab.tensor.sparse.Formats;
import org.prunelab.tensor.sparse.SparseFormat;

/**
 * Converts every decoder-block linear of a loaded model into an execution format that exploits its zeros
 * (see {@link Formats}): {@code dense} keeps the zero-filled fp32 weights on BLAS ("masked dense"),
 * {@code csr} compressed sparse rows, {@code nm} packed 2:4 / 4:8, {@code auto} decides per layer from the
 * measured sparsity and a scan of every group for an N:M pattern. The embedding and the LM head stay dense
 * (pruning does not touch them).
 *
 * <p>Every layer's format is decided before any is replaced, so a request that fails for one layer (e.g.
 * {@code nm} on unstructured weights) leaves the model untouched. Only {@link DenseLinear}s without a bias
 * are converted; a layer already in another format, or with a bias, stays as it is.
 *
 * @param requested the format asked for ({@code auto}, {@code dense}, {@code csr}, {@code nm})
 * @param layers    what happened to each linear, in model order
 */
public record FormatConversion(String requested, List<Layer> layers) {

    /**
     * One linear's outcome.
     *
     * @param layer       block index
     * @param name        the linear's name in its family's naming ({@link BlockLayout})
     * @param format      the label it runs in: {@code dense}, {@code csr}, {@code 2:4}, {@code 4:8}
     * @param sparsity    fraction of its weights that are exactly zero
     * @param bytesBefore parameter bytes before conversion
     * @param bytesAfter  parameter bytes in the chosen format
     * @param reason      why this format (one sentence)
     */
    public record Layer(int layer, String name, String format, double sparsity, long bytesBefore, long bytesAfter,
                        String reason) {}

    public FormatConversion {
        layers = List.copyOf(layers);
    }

    /**
     * Converts {@code model}'s block linears in place (through {@link DecoderBlock#setLinear}).
     *
     * @param requested {@code auto}, {@code dense}, {@code csr} or {@code nm} (case-insensitive)
     * @throws PrunelabException.InvalidArgument for an unknown format, or for {@code nm} when a layer is not
     *         2:4 or 4:8; the message names the layer and the format that would work. The model is then unchanged.
     */
    public static FormatConversion apply(DecoderModel model, String requested) {
        record Planned(DecoderBlock block, String name, Linear old, FormatChoice choice) {}
        List<Planned> plan = new ArrayList<>();
        for (DecoderBlock block : model.blocks()) {
            for (Map.Entry<String, Linear> e : block.linears().entrySet()) {
                FormatChoice choice = null;
                if (e.getValue() instanceof DenseLinear d && d.bias() == null) {
                    try {
                        choice = Formats.choose(d.weight(), requested);
                    } catch (PrunelabException.InvalidArgument ex) {
                        throw new PrunelabException.InvalidArgument("${format} " + requested.strip() + ": layer "
                                + block.index() + " " + e.getKey() + ": " + ex.getMessage()
                                + " (${format} auto picks a working format per layer)");
                    }
                }
                plan.add(new Planned(block, e.getKey(), e.getValue(), choice));
            }
        }
        List<Layer> layers = new ArrayList<>(plan.size());
        for (Planned p : plan) {
            if (p.choice() == null) {
                layers.add(new Layer(p.block().index(), p.name(), label(p.old()), Double.NaN, p.old().parameterBytes(),
                        p.old().parameterBytes(), "kept: not a bias-free dense layer"));
                continue;
            }
            Linear converted = p.choice().format() == SparseFormat.DENSE
                    ? p.old()
                    : p.choice().build(((DenseLinear) p.old()).weight(), w -> p.old());
            if (converted != p.old()) p.block().setLinear(p.name(), converted);
            layers.add(new Layer(p.block().index(), p.name(), p.choice().label(), p.choice().sparsity(),
                    p.old().parameterBytes(), converted.parameterBytes(), p.choice().reason()));
        }
        return new FormatConversion(requested.strip().toLowerCase(Locale.ROOT), layers);
    }

    /** Linears per format label, e.g. {@code {2:4=210}} or {@code {csr=180, dense=30}}; sorted by label. */
    public Map<String, Integer> counts() {
        Map<String, Integer> counts = new TreeMap<>();
        for (Layer l : layers) counts.merge(l.format(), 1, Integer::sum);
        return counts;
    }

    /** Bytes of the block linears' parameters before conversion. */
    public long bytesBefore() {
        return layers.stream().mapToLong(Layer::bytesBefore).sum();
    }

    /** Bytes of the block linears' parameters after conversion. */
    public long bytesAfter() {
        return layers.stream().mapToLong(Layer::bytesAfter).sum();
    }

    /** One line for logs: {@code format auto: 210 linears -> 2:4 x210; 113.2 MB -> 60.1 MB}. */
    public String summary() {
        StringBuilder s = new StringBuilder("format " + requested + ": " + layers.size() + " linears ->");
        counts().forEach((label, n) -> s.append(' ').append(label).append(" x").append(n));
        return s.append(String.format(Locale.ROOT, "; %.1f MB -> %.1f MB", bytesBefore() / 1e6, bytesAfter() / 1e6))
                .toString();
    }

    private static String label(Linear l) {
        return switch (l) {
            case org.prunelab.tensor.sparse.CsrLinear c -> "csr";
            case org.prunelab.tensor.sparse.NmLinear n -> n.weight().n() + ":" + n.weight().m();
            default -> "dense";
        };
    }
}
