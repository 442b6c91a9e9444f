package org.prunelab.prune.structured;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.BlockShape;
import org.prunelab.model.BlockLayout;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.LinearRole;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.ModelShape;
import org.prunelab.prune.BlockObserver;
import org.prunelab.prune.CalibrationLoop;
import org.prunelab.prune.LinearStats;
import org.prunelab.prune.PruneOptions;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.prune.Pruner;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Coupled structured pruning (FASP, FLAP) that physically shrinks every block, in the {@link CalibrationLoop}: block
 * l is calibrated on the outputs of blocks 0..l-1 after those were pruned, then pruned, then re-run to produce block
 * l+1's inputs.
 *
 * <p>Per block: the inputs of O (attention output, one channel per head dimension) and of DOWN (the MLP's
 * intermediate activation) are collected into {@link ChannelStats}; the method scores each channel on its consuming
 * matrix; a head's score is the sum over its head_dim channels; a {@link BlockPlan} picks what stays;
 * {@link BlockShrinker} cuts q/k/v/gate/up rows and the method's {@link StructuredMethod#compensate} cuts and repairs
 * O and DOWN.
 *
 * <p>Allocation: {@link Allocation#UNIFORM} removes the same share of MLP channels and heads in every block (rounded
 * to whole channels and to one valid grouped-query layout for all blocks; see {@link BlockPlan#headLayout});
 * {@link Allocation#GLOBAL} (FLAP's) first scans the dense model, standardises each block's channel scores (z-scores,
 * separately for MLP channels and attention channels; a key/value group scores as the mean of its channels), and
 * removes the lowest units across all blocks until {@code sparsity} of the blocks' linear parameters are gone;
 * attention is then removed in whole key/value groups. At least one channel and one group stay in every block.
 */
public final class StructuredPruner implements Pruner {
    /** How the removal is spread over blocks. */
    public enum Allocation {
        UNIFORM, GLOBAL;

        /** @throws PrunelabException.InvalidArgument for anything but uniform or global */
        public static Allocation of(String name) {
            return switch (name.strip().toLowerCase(Locale.ROOT)) {
                case "uniform" -> UNIFORM;
                case "global" -> GLOBAL;
                default -> throw new PrunelabException.InvalidArgument("unknown ${allocation} '" + name + "': use uniform or global");
            };
        }

        public String label() { return name().toLowerCase(Locale.ROOT); }
    }

    private final StructuredMethod method;
    private final double sparsity;
    private final Allocation allocation;

    /**
     * @param sparsity fraction of MLP channels and attention heads to remove (uniform), or of the blocks' linear
     *                 parameters (global), in [0, 1)
     * @throws PrunelabException.InvalidArgument for a sparsity outside [0, 1)
     */
    public StructuredPruner(StructuredMethod method, double sparsity, Allocation allocation) {
        if (!(sparsity >= 0 && sparsity < 1)) {
            throw new PrunelabException.InvalidArgument("${sparsity} for structured pruning must be in [0, 1), got " + sparsity);
        }
        this.method = method;
        this.sparsity = sparsity;
        this.allocation = allocation;
    }

    @Override
    public String method() { return method.name(); }

    @Override
    public java.util.Set<org.prunelab.model.LinearRole> addsBiasTo() {
        return method.addsBias() ? java.util.EnumSet.of(org.prunelab.model.LinearRole.O, org.prunelab.model.LinearRole.DOWN)
                : java.util.Set.of();
    }

    @Override
    public boolean needsCalibration() { return true; }

    @Override
    public double requestedSparsity(ModelShape shape) { return sparsity; }

    /**
     * Checks that uniform removal leaves every block a channel and a head, and that FASP's restoration has at least
     * as many calibration tokens as kept inputs; global allocation is checked block by block while pruning.
     */
    @Override
    public void check(ModelShape shape, long calibrationTokens) {
        if (shape.factorised()) {
            throw new PrunelabException.InvalidArgument("the model's linears are low-rank factors: " + method.name()
                    + " removes channels of dense matrices; start from the model the factors were made from");
        }
        if (allocation != Allocation.UNIFORM) return;
        for (int l = 0; l < shape.blocks().size(); l++) {
            BlockShape s = shape.blocks().get(l);
            String where = shape.blocks().size() == 1 || uniformShapes(shape) ? "every block" : "layer " + l;
            int channels = (int) Math.round(s.intermediateSize() * (1 - sparsity));
            BlockPlan.topChannels(new double[s.intermediateSize()], channels, where);
            int[] gh = BlockPlan.headLayout(s.numAttentionHeads(), s.numKeyValueHeads(), s.numAttentionHeads() * (1 - sparsity),
                    shape.config().hiddenSize(), where);
            if (needsTokens() && calibrationTokens > 0) {
                checkEnoughTokens(calibrationTokens, Math.max(channels, gh[0] * gh[1] * shape.config().headDim()));
            }
            if (uniformShapes(shape)) break;
        }
    }

    private static boolean uniformShapes(ModelShape shape) {
        return shape.blocks().stream().distinct().count() <= 1;
    }

    private boolean needsTokens() {
        return method instanceof Fasp f && f.restore();
    }

    /** {@link #prune(DecoderModel, List, PruneOptions)} keeping the input model. */
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, Progress progress) {
        return prune(model, windows, PruneOptions.keepInput(progress));
    }

    /**
     * Prunes a copy of {@code model}'s blocks; {@code model} itself is left as it was.
     *
     * @param model   dense Llama model (all linears {@link DenseLinear})
     * @param windows calibration windows, all seqlen long
     * @return the smaller model and what was removed
     * @throws PrunelabException.InvalidArgument if the ratio removes every channel or head of a block, the model is not
     *         dense, or the windows are empty or of different lengths
     */
    /**
     * Each consumer's (O, DOWN) channel sums and squares and, for a method that refits by least squares (FASP), its
     * fp64 Gram matrix; the largest step is DOWN's refit: a copy of its Gram, the normal equations over the kept
     * inputs and their damped trial factor ({@code 2 x k x k}), the Gram's kept columns ({@code k x in}), the weights and
     * right-hand sides in fp64, and the fp32 result.
     */
    @Override
    public BlockMemory blockMemory(org.prunelab.model.ModelShape shape, int layer, long tokens) {
        org.prunelab.model.BlockShape b = shape.blocks().get(layer);
        long h = shape.config().hiddenSize();
        long q = (long) b.numAttentionHeads() * shape.config().headDim();
        long inter = b.intermediateSize();
        boolean gram = method.needsGram();
        long held = 0;
        for (long in : new long[]{q, inter}) held += 16 * in + (gram ? 8 * in * in : 0);
        long transientPeak;
        if (gram) {
            long k = Math.round(inter * (1 - sparsity));
            // The Gram's copy, the normal equations and the damped trial factor (two k x k), the Gram's kept rows, the
            // weights and the right-hand sides, all fp64, and the fp32 result (LeastSquares.restore).
            transientPeak = 8 * inter * inter + 2 * 8 * k * k + 8 * k * inter + 8 * h * inter + 8 * h * k + 4 * h * k;
        } else {
            transientPeak = 8 * (h + inter) * 4;
        }
        return new BlockMemory(held, transientPeak);
    }

    /** Block by block in the calibration loop: streams. */
    @Override
    public boolean streams() { return true; }

    @Override
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, PruneOptions options) {
        Pruner.requireDense(model);
        if (allocation == Allocation.UNIFORM) check(ModelShape.of(model), 0); // fail before any calibration
        long tokens = windows.isEmpty() ? 0 : (long) windows.size() * windows.getFirst().length;
        long before = PruneOutcome.linearParameters(model); // before the loop may release the input's blocks
        try (CalibrationLoop loop = new CalibrationLoop(model, windows, allocation == Allocation.GLOBAL ? 2 : 1, options)) {
            int[][] keep = allocation == Allocation.GLOBAL ? globalAllocation(model, loop) : null; // {channels, groups} per block
            boolean gram = method.needsGram();
            List<DecoderBlock> blocks = loop.run(CalibrationLoop.pruningPass(true, (l, block) -> consumerStats(block, gram),
                    (l, block, observed) -> pruneBlock(l, block, observed, keep, tokens, model.config().headDim(),
                            model.config().hiddenSize(), options.sink() != null)));
            DecoderModel pruned = model.withBlocks(tightConfig(model.config(), blocks), blocks);
            long nonzero = PruneOutcome.nonzeroParameters(pruned);
            double actual = before == 0 ? 0 : 1 - (double) nonzero / before;
            List<String> warnings = new ArrayList<>();
            if (allocation == Allocation.GLOBAL && sparsity - actual > 0.01) {
                // Global ranking never empties a block: at high ratios it runs out of units to remove.
                warnings.add(String.format(java.util.Locale.ROOT, "%s removed %.4f of the blocks' linear parameters, short of the"
                        + " requested ${sparsity} %.4f: every block keeps at least one MLP channel and one key/value group",
                        method.name(), actual, sparsity));
            }
            return new PruneOutcome(method.name(), sparsity, pruned, before, PruneOutcome.linearParameters(pruned), nonzero,
                    List.of(), null, allocation.label(), List.of(), Map.of(), warnings);
        }
    }

    /** Block l with its removed channels and heads cut and O/DOWN repaired by the method. */
    @SuppressWarnings("unchecked")
    private DecoderBlock pruneBlock(int l, DecoderBlock block, BlockObserver observed, int[][] keep, long tokens, int headDim,
                                    int hiddenSize, boolean collectEach) {
        LinearStats<ChannelStats> stats = (LinearStats<ChannelStats>) observed;
        String oName = block.layout().name(LinearRole.O), downName = block.layout().name(LinearRole.DOWN);
        DenseLinear o = (DenseLinear) block.linear(LinearRole.O);
        DenseLinear down = (DenseLinear) block.linear(LinearRole.DOWN);
        double[] channelScores = method.channelScores(down.weight(), stats.get(downName));
        double[] headScores = headScores(method.channelScores(o.weight(), stats.get(oName)), headDim);
        BlockShape shape = block.shape();
        String where = "layer " + l;
        BlockPlan plan;
        if (keep == null) {
            int[] channels = BlockPlan.topChannels(channelScores, (int) Math.round(shape.intermediateSize() * (1 - sparsity)), where);
            int[] gh = BlockPlan.headLayout(shape.numAttentionHeads(), shape.numKeyValueHeads(), shape.numAttentionHeads() * (1 - sparsity),
                    hiddenSize, where);
            int[][] heads = BlockPlan.layout(headScores, shape.numKeyValueHeads(), shape.numAttentionHeads() / shape.numKeyValueHeads(), gh[0], gh[1]);
            plan = new BlockPlan(channels, heads[0], heads[1]);
        } else {
            int group = shape.numAttentionHeads() / shape.numKeyValueHeads();
            int[][] heads = BlockPlan.layout(headScores, shape.numKeyValueHeads(), group, keep[l][1], group);
            plan = new BlockPlan(BlockPlan.topChannels(channelScores, keep[l][0], where), heads[0], heads[1]);
        }
        if (needsTokens()) {
            checkEnoughTokens(tokens, Math.max(plan.keptChannels().length, plan.keptHeads().length * headDim));
        }
        Linear newO = method.compensate(o, stats.get(oName), BlockShrinker.expand(plan.keptHeads(), headDim));
        // Streaming: o_proj's refit temporaries (a Gram copy, the normal equations and their factor: 0.7 GB on the
        // Llama-2-7B shape) are collected before down_proj's, so the peak holds the larger refit alone; left to the
        // collector, they stayed in the old generation and the 7B FASP run peaked 0.8 GB above the memory model.
        if (collectEach) System.gc();
        Linear newDown = method.compensate(down, stats.get(downName), plan.keptChannels());
        // And down_proj's before the shrink copies the kept rows of q/k/v and gate/up (0.4 GB more at 7B).
        if (collectEach) System.gc();
        return block.withLinears(l, BlockShrinker.shrink(block, plan, headDim, newO, newDown));
    }

    /** Statistics of O's and DOWN's inputs (with their Gram matrices when restoring). */
    private static LinearStats<ChannelStats> consumerStats(DecoderBlock block, boolean gram) {
        return new LinearStats<>(block, block.layout().consumers(), in -> new ChannelStats(in, gram));
    }

    /** Per query head, the sum of its head_dim channel scores. */
    static double[] headScores(double[] channelScores, int headDim) {
        double[] h = new double[channelScores.length / headDim];
        for (int j = 0; j < channelScores.length; j++) h[j / headDim] += channelScores[j];
        return h;
    }

    /**
     * The least-squares restoration fits each consumer row over the kept inputs; with fewer calibration tokens
     * than kept inputs the normal equations are rank-deficient and only the ridge term holds them (measured:
     * fasp 25% on 2 x 64 tokens took udhr:swh perplexity from 254 to 943,786, against 6,514 without restoration).
     */
    private static void checkEnoughTokens(long tokens, int keptInputs) {
        if (tokens < keptInputs) {
            throw new PrunelabException.InvalidArgument("fasp restoration refits over " + keptInputs + " kept inputs but the"
                    + " calibration has only " + tokens + " tokens (${calib.nsamples} x ${calib.seqlen}); use at least " + keptInputs
                    + " tokens (e.g. ${calib.nsamples} " + Math.max(1, (keptInputs + 511) / 512) + " ${calib.seqlen} 512) or ${restore}=false");
        }
    }

    /** FLAP-style global ranking on the dense model (a scan pass): kept {channels, groups} per block. */
    private int[][] globalAllocation(DecoderModel model, CalibrationLoop loop) {
        int blocks = model.blocks().size();
        int hidden = model.config().hiddenSize();
        int headDim = model.config().headDim();
        record Unit(int layer, boolean group, double z, long params) {}
        List<Unit> units = new ArrayList<>();
        int[][] keep = new int[blocks][2];
        long totalParams = PruneOutcome.linearParameters(model);
        loop.run(new CalibrationLoop.Pass() {
            @Override public String label(int layer, int n) { return "global scan, block " + (layer + 1) + "/" + n; }
            @Override public boolean calibrated() { return true; }
            @Override public boolean modifiesBlocks() { return false; }
            @Override public BlockObserver observer(int layer, DecoderBlock block) { return consumerStats(block, false); }

            @Override
            @SuppressWarnings("unchecked")
            public DecoderBlock apply(int l, DecoderBlock block, BlockObserver observed) {
                LinearStats<ChannelStats> stats = (LinearStats<ChannelStats>) observed;
                BlockShape s = block.shape();
                BlockLayout names = block.layout();
                double[] mlp = standardise(method.channelScores(((DenseLinear) block.linear(LinearRole.DOWN)).weight(),
                        stats.get(names.name(LinearRole.DOWN))));
                double[] attn = standardise(method.channelScores(((DenseLinear) block.linear(LinearRole.O)).weight(),
                        stats.get(names.name(LinearRole.O))));
                for (double z : mlp) units.add(new Unit(l, false, z, 3L * hidden));
                int group = s.numAttentionHeads() / s.numKeyValueHeads();
                int groupWidth = group * headDim;
                for (int g = 0; g < s.numKeyValueHeads(); g++) {
                    double z = 0;
                    for (int j = g * groupWidth; j < (g + 1) * groupWidth; j++) z += attn[j];
                    units.add(new Unit(l, true, z / groupWidth, (2L * groupWidth + 2L * headDim) * hidden));
                }
                keep[l][0] = s.intermediateSize();
                keep[l][1] = s.numKeyValueHeads();
                return block;
            }
        });
        units.sort((a, b) -> Double.compare(a.z(), b.z()));
        long removed = 0;
        long target = Math.round(sparsity * totalParams);
        for (Unit u : units) {
            if (removed >= target) break;
            int k = u.group() ? 1 : 0;
            if (keep[u.layer()][k] <= 1) continue; // never empty a block
            keep[u.layer()][k]--;
            removed += u.params();
        }
        return keep;
    }

    /** z-scores of {@code v} (all zeros when constant). */
    static double[] standardise(double[] v) {
        double mean = 0;
        for (double d : v) mean += d;
        mean /= v.length;
        double var = 0;
        for (double d : v) var += (d - mean) * (d - mean);
        double std = Math.sqrt(var / v.length);
        double[] z = new double[v.length];
        for (int i = 0; i < v.length; i++) z[i] = std > 0 ? (v[i] - mean) / std : 0;
        return z;
    }

    /** The config whose widths are the largest of the blocks' and whose layer count is theirs. */
    static DecoderConfig tightConfig(DecoderConfig c, List<DecoderBlock> blocks) {
        int inter = 1;
        int kv = 1;
        int group = 1;
        for (DecoderBlock b : blocks) {
            BlockShape s = b.shape();
            inter = Math.max(inter, s.intermediateSize());
            kv = Math.max(kv, s.numKeyValueHeads());
            group = Math.max(group, s.numAttentionHeads() / s.numKeyValueHeads());
        }
        // Each kept block keeps its attention kind (a sliding-window layer stays one after layer removal).
        List<String> layerTypes = c.variant().layerTypes() == null ? null : blocks.stream()
                .map(b -> b.slidingWindow() > 0 ? DecoderConfig.Variant.SLIDING_ATTENTION : DecoderConfig.Variant.FULL_ATTENTION)
                .toList();
        return c.withShape(inter, blocks.size(), kv * group, kv, layerTypes);
    }
}
