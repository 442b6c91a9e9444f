package org.prunelab.format;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.prunelab.PrunelabException;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderModel;
import org.prunelab.tensor.Linear;

/**
 * Converts a model's decoder-block linears into an execution format ({@link WeightFormats}): a registered format's
 * name ({@code dense}, {@code csr}, {@code nm}, {@code q8_0}, ...) converts every block linear, {@code auto} decides
 * per layer and per phase from the measured sparsity and a scan of every group for an N:M pattern. The embedding
 * stays fp32; the LM head is converted only by formats whose {@link WeightFormat#lmHeadFormat()} says so (the
 * quantised ones).
 *
 * <p>A lossless target ({@code dense}, {@code csr}, {@code nm}, {@code auto}) never re-encodes a layer held in a
 * quantised format: it keeps it (decoding it would only hold the same rounded values in more bytes; to dequantise on
 * purpose, {@link WeightFormats#convert} to dense). A quantised target re-encodes every layer.
 *
 * <p>Every layer's format is decided and checked before any is replaced, so a request that fails for one layer (e.g.
 * {@code nm} on unstructured weights) leaves the model untouched.
 *
 * @param requested the format asked for
 * @param layers    what happened to each linear, in model order (the LM head last, as layer -1, when converted)
 */
public record FormatConversion(String requested, List<Layer> layers) {

    /**
     * One linear's outcome.
     *
     * @param layer       block index, or -1 for the LM head
     * @param name        the linear's name in its family's naming, or {@code lm_head}
     * @param format      the label it runs in: {@code dense}, {@code csr}, {@code 2:4}, {@code q8_0}, or
     *                    {@code prefill dense / decode csr} when the phases differ
     * @param sparsity    fraction of its weights that are exactly zero (before conversion)
     * @param bytesBefore parameter bytes before conversion
     * @param bytesAfter  parameter bytes after conversion (both copies when the phases differ)
     * @param reason      why this format (one sentence)
     */
    public record Layer(int layer, String name, String format, double sparsity, long bytesBefore, long bytesAfter,
                        String reason) {}

    public FormatConversion {
        layers = List.copyOf(layers);
    }

    /**
     * Converts {@code model}'s block linears (and, for quantised formats, its LM head) in place through
     * {@link DecoderBlock#setLinear} / {@link DecoderModel#setLmHead}.
     *
     * @param requested {@code auto} or a registered format's name (case-insensitive)
     * @throws PrunelabException.InvalidArgument for an unknown format, or when a layer cannot be held in the requested
     *         one; the message names the layer and the format that would work. The model is then unchanged.
     */
    public static FormatConversion apply(DecoderModel model, String requested) {
        String key = requested.strip().toLowerCase(Locale.ROOT);
        boolean auto = key.equals("auto");
        WeightFormat target = auto ? null : WeightFormats.byName(key);
        record Planned(DecoderBlock block, String name, Linear old, WeightFormat prefill, WeightFormat decode,
                       String reason) {}
        List<Planned> plan = new ArrayList<>();
        for (DecoderBlock block : model.blocks()) {
            for (Map.Entry<String, Linear> e : block.linears().entrySet()) {
                Linear old = e.getValue();
                if (auto) {
                    WeightFormats.Choice d = WeightFormats.auto(old, WeightFormats.Phase.DECODE);
                    WeightFormats.Choice p = WeightFormats.auto(old, WeightFormats.Phase.PREFILL);
                    String reason = d.format() == p.format() ? d.reason()
                            : "decode: " + d.reason() + "; prefill: " + p.reason();
                    plan.add(new Planned(block, e.getKey(), old, p.format(), d.format(), reason));
                } else if (target.lossless() && !WeightFormats.of(old).lossless()) {
                    WeightFormat held = WeightFormats.of(old);
                    plan.add(new Planned(block, e.getKey(), old, held, held, "kept: already " + held.name()
                            + " (a lossless format would only hold its rounded values in more bytes)"));
                } else {
                    String where = "layer " + block.index() + " " + e.getKey();
                    check(target, old, requested, where);
                    plan.add(new Planned(block, e.getKey(), old, target, target, target.name() + " requested"));
                }
            }
        }
        WeightFormat headFormat = target == null ? null : target.lmHeadFormat().map(WeightFormats::byName).orElse(null);
        if (headFormat != null) check(headFormat, model.lmHead(), requested, "the LM head");

        List<Layer> layers = new ArrayList<>(plan.size() + 1);
        for (Planned p : plan) {
            Linear decode = WeightFormats.convert(p.old(), p.decode());
            Linear converted = p.prefill() == p.decode() ? decode
                    : new PhasedLinear(WeightFormats.convert(p.old(), p.prefill()), decode);
            if (converted != p.old()) p.block().setLinear(p.name(), converted);
            layers.add(new Layer(p.block().index(), p.name(), WeightFormats.label(converted), sparsity(p.old()),
                    p.old().parameterBytes(), converted.parameterBytes(), p.reason()));
        }
        if (headFormat != null) {
            Linear old = model.lmHead();
            Linear head = WeightFormats.convert(old, headFormat);
            model.setLmHead(head);
            layers.add(new Layer(-1, "lm_head", WeightFormats.label(head), sparsity(old), old.parameterBytes(),
                    head.parameterBytes(), "the head in " + headFormat.name() + " with " + key + ", as llama-quantize does"));
        }
        return new FormatConversion(key, layers);
    }

    private static void check(WeightFormat target, Linear old, String requested, String where) {
        Linear bare = old instanceof BiasedLinear b ? b.inner() : old;
        if (target.holds(bare)) return;
        target.misfit(bare instanceof org.prunelab.model.DenseLinear d && d.bias() != null
                ? new org.prunelab.model.DenseLinear(d.weight(), null) : bare).ifPresent(why -> {
            throw new PrunelabException.InvalidArgument("${format} " + requested.strip() + ": " + where + ": " + why
                    + " (${format} auto picks a working format per layer)");
        });
    }

    private static double sparsity(Linear l) {
        return l.totalParameters() == 0 ? 0 : 1 - (double) l.nonZeroParameters() / l.totalParameters();
    }

    /** Linears per format label, e.g. {@code {2:4=210}} or {@code {csr=180, dense=30}}; sorted by label. */
    public Map<String, Integer> counts() {
        Map<String, Integer> counts = new TreeMap<>();
        for (Layer l : layers) counts.merge(l.format(), 1, Integer::sum);
        return counts;
    }

    /** Bytes of the converted linears' parameters before conversion. */
    public long bytesBefore() {
        return layers.stream().mapToLong(Layer::bytesBefore).sum();
    }

    /** Bytes of the converted linears' parameters after conversion. */
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
}
