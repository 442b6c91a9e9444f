package org.prunelab.prune.structured;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.ModelShape;
import org.prunelab.prune.BlockObserver;
import org.prunelab.prune.CalibrationLoop;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodParam;
import org.prunelab.prune.PruneOptions;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.prune.Pruner;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * ShortGPT (Men et al. 2024): drops the {@code layers} decoder blocks with the lowest Block Influence,
 * {@code BI_l = 1 - mean_t cos(x_t^in, x_t^out)} over every calibration token, where x^in and x^out are the
 * block's input and output hidden states on the dense model (a scan pass of the {@link CalibrationLoop}). A block that
 * barely turns the residual stream changes the model least when removed. The remaining blocks keep their order and
 * are renumbered.
 */
public final class ShortGpt implements Pruner {

    /** The registry entry: {@code layers}, or {@code sparsity} as the share of blocks ({@code round(s x L)}, at least 1). */
    public static final Method METHOD = new Method("shortgpt", Method.Kind.STRUCTURED,
            "drop the decoder blocks of lowest Block Influence, 1 - cos(block input, block output)",
            "Men et al., \"ShortGPT: Layers in Large Language Models are More Redundant Than You Expect\", 2024",
            "the decoder blocks (layers = round(sparsity x num_hidden_layers), at least 1)",
            List.of(MethodParam.number("sparsity", null, 0, true, 1, false,
                            "share of the decoder blocks to remove; give this or layers"),
                    MethodParam.integer("layers", null, 1, Integer.MAX_VALUE, "number of decoder blocks to remove; give this or sparsity")),
            args -> {
                args.requireOneOf("layers", "sparsity", "${layers} 8");
                return args.isGiven("layers") ? new ShortGpt(args.integer("layers")) : ShortGpt.ofShare(args.number("sparsity"));
            });

    private final int layers;
    private final double share;

    /** @throws PrunelabException.InvalidArgument if layers is below 1 */
    public ShortGpt(int layers) {
        if (layers < 1) throw new PrunelabException.InvalidArgument("${layers} must be at least 1, got " + layers);
        this.layers = layers;
        this.share = Double.NaN;
    }

    private ShortGpt(double share) {
        if (!(share > 0 && share < 1)) {
            throw new PrunelabException.InvalidArgument("${sparsity} " + share + " for shortgpt must be in (0, 1): it is the"
                    + " share of the blocks to remove (at least one is), e.g. ${sparsity} 0.25");
        }
        this.layers = -1;
        this.share = share;
    }

    /** Removes {@code round(share x num_hidden_layers)} blocks, at least 1. */
    public static ShortGpt ofShare(double share) {
        return new ShortGpt(share);
    }

    /** The number of blocks removed from a model with {@code blocks} blocks. */
    public int layersFor(int blocks) {
        return layers > 0 ? layers : Math.max(1, (int) Math.round(share * blocks));
    }

    @Override
    public String method() { return "shortgpt"; }

    @Override
    public boolean needsCalibration() { return true; }

    @Override
    public double requestedSparsity(ModelShape shape) {
        return (double) layersFor(shape.blocks().size()) / shape.blocks().size();
    }

    @Override
    public void check(ModelShape shape, long calibrationTokens) {
        int blocks = shape.blocks().size();
        int k = layersFor(blocks);
        if (k >= blocks && layers > 0) {
            throw new PrunelabException.InvalidArgument("${layers} " + k + " would remove every block of a model with "
                    + blocks + " (num_hidden_layers); use ${layers} " + (blocks - 1) + " or fewer");
        }
        if (k >= blocks) {
            throw new PrunelabException.InvalidArgument(String.format(java.util.Locale.ROOT, "${sparsity} %s would remove"
                    + " round(%s x %d) = %d blocks, every block of the model (num_hidden_layers %d); use ${sparsity} %.2f or less",
                    share, share, blocks, k, blocks, (blocks - 1.5) / blocks));
        }
    }

    /** {@link #prune(DecoderModel, List, PruneOptions)} keeping the input model. */
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, Progress progress) {
        return prune(model, windows, PruneOptions.keepInput(progress));
    }

    /**
     * @throws PrunelabException.InvalidArgument if layers >= num_hidden_layers (a model needs one block), or the
     *         windows are empty or uneven
     */
    @Override
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, PruneOptions options) {
        check(ModelShape.of(model), 0);
        int blocks = model.blocks().size();
        int k = layersFor(blocks);
        long before = PruneOutcome.linearParameters(model); // before the loop may release the input's blocks
        try (CalibrationLoop loop = new CalibrationLoop(model, windows, 2, options)) {
            double[] bi = blockInfluence(loop, blocks);
            List<Integer> removed = IntStream.range(0, blocks).boxed()
                    .sorted(Comparator.comparingDouble((Integer l) -> bi[l]).thenComparingInt(l -> l))
                    .limit(k).sorted().toList();
            List<DecoderBlock> kept = loop.run(new CalibrationLoop.Pass() {
                @Override public String label(int layer, int n) { return "remove, block " + (layer + 1) + "/" + n; }
                @Override public boolean calibrated() { return false; }
                @Override public boolean modifiesBlocks() { return true; }
                @Override public BlockObserver observer(int layer, DecoderBlock block) { return null; }
                @Override public DecoderBlock apply(int layer, DecoderBlock block, BlockObserver stats) {
                    return removed.contains(layer) ? null : block;
                }
            });
            DecoderModel pruned = model.withBlocks(StructuredPruner.tightConfig(model.config(), kept), kept);
            return new PruneOutcome("shortgpt", (double) k / blocks, pruned, before,
                    PruneOutcome.linearParameters(pruned), PruneOutcome.nonzeroParameters(pruned), List.of(), null,
                    "uniform", removed, Map.of("block_influence", java.util.Arrays.stream(bi).boxed().toList()), List.of());
        }
    }

    /** BI of every block of the dense model, {@code [num_hidden_layers]}. */
    public static double[] blockInfluence(DecoderModel model, List<int[]> windows, Progress progress) {
        try (CalibrationLoop loop = new CalibrationLoop(model, windows, 1, PruneOptions.keepInput(progress))) {
            return blockInfluence(loop, model.blocks().size());
        }
    }

    private static double[] blockInfluence(CalibrationLoop loop, int blocks) {
        double[] bi = new double[blocks];
        loop.run(new CalibrationLoop.Pass() {
            @Override public String label(int layer, int n) { return "block influence " + (layer + 1) + "/" + n; }
            @Override public boolean calibrated() { return true; }
            @Override public boolean modifiesBlocks() { return false; }

            @Override
            public BlockObserver observer(int layer, DecoderBlock block) {
                return new Influence();
            }

            @Override
            public DecoderBlock apply(int layer, DecoderBlock block, BlockObserver stats) {
                bi[layer] = ((Influence) stats).value();
                return block;
            }
        });
        return bi;
    }

    /** Accumulates {@code 1 - cos(x_in, x_out)} over every token of every window. */
    private static final class Influence implements BlockObserver {
        private double sum;
        private long tokens;

        @Override public void onLinearInput(String linear, float[] x, int tokens, int inFeatures) {}

        @Override public boolean wantsBlockOutput() { return true; }

        @Override
        public void onBlockOutput(float[] input, float[] output, int t, int hidden) {
            for (int i = 0; i < t; i++) sum += 1 - cosine(input, output, i * hidden, hidden);
            tokens += t;
        }

        double value() { return tokens == 0 ? 0 : sum / tokens; }
    }

    private static double cosine(float[] a, float[] b, int off, int n) {
        double dot = 0, na = 0, nb = 0;
        for (int i = off; i < off + n; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }
}
