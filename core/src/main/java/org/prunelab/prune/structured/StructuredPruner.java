package org.prunelab.prune.structured;

import org.prunelab.prune.CalibrationData;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.Linear;
import org.prunelab.model.LlamaModel;
import org.prunelab.prune.ActivationCache;

import java.util.ArrayList;
import java.util.List;

/**
 * Coupled structured pruning (FASP, FLAP) that physically shrinks every block, with the same sequential
 * calibration as {@link org.prunelab.prune.LayerwisePruner}: block l is calibrated on the outputs of blocks
 * 0..l-1 after those were pruned, then pruned, then re-run to produce block l+1's inputs.
 *
 * <p>Per block: the inputs of o_proj (attention output, one channel per head dimension) and of down_proj
 * (the MLP's intermediate activation) are collected into {@link ChannelStats}; the method scores each channel
 * on its consuming matrix; a head's score is the sum over its head_dim channels; a {@link BlockPlan} picks what
 * stays; {@link BlockShrinker} cuts q/k/v/gate/up rows and the method's {@link StructuredMethod#compensate}
 * cuts and repairs o_proj and down_proj.
 *
 * <p>Allocation: {@link Allocation#UNIFORM} removes the same share of MLP channels and heads in every block
 * (rounded to whole channels and to one valid grouped-query layout for all blocks; see {@link BlockPlan#headLayout});
 * {@link Allocation#GLOBAL} (FLAP's) first scans the dense model, standardises each block's channel scores
 * (z-scores, separately for MLP channels and attention channels; a key/value group scores as the mean of its
 * channels), and removes the lowest units across all blocks until {@code sparsity} of the blocks' linear
 * parameters are gone; attention is then removed in whole key/value groups. At least one channel and one group
 * stay in every block. The method never reads files, prints or logs.
 */
public final class StructuredPruner {
    /** How the removal is spread over blocks. */
    public enum Allocation { UNIFORM, GLOBAL }

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
            throw new PrunelabException.InvalidArgument("--sparsity for structured pruning must be in [0, 1), got " + sparsity);
        }
        this.method = method;
        this.sparsity = sparsity;
        this.allocation = allocation;
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
    public StructuredResult prune(LlamaModel model, List<int[]> windows, Progress progress) {
        Calibration.checkDense(model);
        CalibrationData.checkWindows(model, windows);
        int blocks = model.blocks().size();
        int headDim = model.config().headDim();
        if (allocation == Allocation.UNIFORM) {
            // Fail before any calibration if the ratio empties a block.
            BlockShape s = BlockShape.of(model.config());
            BlockPlan.topChannels(new double[s.intermediateSize()], (int) Math.round(s.intermediateSize() * (1 - sparsity)), "every block");
            BlockPlan.headLayout(s.numAttentionHeads(), s.numKeyValueHeads(), s.numAttentionHeads() * (1 - sparsity), "every block");
        }
        int seqlen = windows.getFirst().length;
        List<DecoderBlock> current = new ArrayList<>(model.blocks());
        try (ActivationCache cache = ActivationCache.create(windows.size(), seqlen, model.config().hiddenSize())) {
            int[][] keep = null; // global: {channels, groups} per block
            int total = allocation == Allocation.GLOBAL ? 2 * blocks : blocks;
            if (allocation == Allocation.GLOBAL) {
                keep = globalAllocation(model, windows, cache, progress, total);
            }
            Calibration.embed(model, windows, cache);
            float[] x = new float[seqlen * model.config().hiddenSize()];
            for (int l = 0; l < blocks; l++) {
                progress.update(total - blocks + l, total, "block " + (l + 1) + "/" + blocks);
                LlamaModel working = model.withBlocks(model.config(), current);
                DecoderBlock block = working.block(l);
                ChannelStats[] stats = Calibration.consumerStats(working, l, cache, x, method.needsGram());
                DenseLinear o = (DenseLinear) block.linear("o_proj");
                DenseLinear down = (DenseLinear) block.linear("down_proj");
                double[] channelScores = method.channelScores(down.weight(), stats[1]);
                double[] headScores = headScores(method.channelScores(o.weight(), stats[0]), headDim);
                BlockShape shape = block.shape();
                String where = "layer " + l;
                BlockPlan plan;
                if (keep == null) {
                    int[] channels = BlockPlan.topChannels(channelScores, (int) Math.round(shape.intermediateSize() * (1 - sparsity)), where);
                    int[] gh = BlockPlan.headLayout(shape.numAttentionHeads(), shape.numKeyValueHeads(), shape.numAttentionHeads() * (1 - sparsity), where);
                    int[][] heads = BlockPlan.layout(headScores, shape.numKeyValueHeads(), shape.numAttentionHeads() / shape.numKeyValueHeads(), gh[0], gh[1]);
                    plan = new BlockPlan(channels, heads[0], heads[1]);
                } else {
                    int group = shape.numAttentionHeads() / shape.numKeyValueHeads();
                    int[][] heads = BlockPlan.layout(headScores, shape.numKeyValueHeads(), group, keep[l][1], group);
                    plan = new BlockPlan(BlockPlan.topChannels(channelScores, keep[l][0], where), heads[0], heads[1]);
                }
                if (method instanceof StructuredMethod.Fasp f && f.restore()) {
                    checkEnoughTokens((long) windows.size() * seqlen, Math.max(plan.keptChannels().length,
                            plan.keptHeads().length * headDim));
                }
                Linear newO = method.compensate(o, stats[0], BlockShrinker.expand(plan.keptHeads(), headDim));
                Linear newDown = method.compensate(down, stats[1], plan.keptChannels());
                current.set(l, block.withLinears(l, BlockShrinker.shrink(block, plan, headDim, newO, newDown)));
                stats = null;
                System.gc(); // the Gram matrices (up to 19 MB each) are garbage now; keep resident memory flat
                if (l + 1 < blocks) Calibration.propagate(model.withBlocks(model.config(), current), l, cache, x);
            }
            progress.update(total, total, "blocks");
        } finally {
            progress.finish();
        }
        LlamaModel pruned = model.withBlocks(Calibration.tightConfig(model.config(), current), current);
        return new StructuredResult(method.name(), sparsity, allocation.name().toLowerCase(), pruned,
                Calibration.linearParameters(model), Calibration.linearParameters(pruned), List.of());
    }

    /** Per query head, the sum of its head_dim channel scores. */
    static double[] headScores(double[] channelScores, int headDim) {
        double[] h = new double[channelScores.length / headDim];
        for (int j = 0; j < channelScores.length; j++) h[j / headDim] += channelScores[j];
        return h;
    }

    /** FLAP-style global ranking on the dense model: kept {channels, groups} per block. */
    /**
     * The least-squares restoration fits each consumer row over the kept inputs; with fewer calibration tokens
     * than kept inputs the normal equations are rank-deficient and only the ridge term holds them (measured:
     * fasp 25% on 2 x 64 tokens took udhr:swh perplexity from 254 to 943,786, against 6,514 without restoration).
     */
    private static void checkEnoughTokens(long tokens, int keptInputs) {
        if (tokens < keptInputs) {
            throw new PrunelabException.InvalidArgument("fasp restoration refits over " + keptInputs + " kept inputs but the"
                    + " calibration has only " + tokens + " tokens (nsamples x seqlen); use at least " + keptInputs
                    + " tokens (e.g. --nsamples " + Math.max(1, (keptInputs + 511) / 512) + " --seqlen 512) or --no-restore");
        }
    }

    private int[][] globalAllocation(LlamaModel model, List<int[]> windows, ActivationCache cache, Progress progress, int total) {
        int blocks = model.blocks().size();
        int hidden = model.config().hiddenSize();
        int headDim = model.config().headDim();
        record Unit(int layer, boolean group, double z, long params) {}
        List<Unit> units = new ArrayList<>();
        int[][] keep = new int[blocks][2];
        long totalParams = Calibration.linearParameters(model);
        Calibration.embed(model, windows, cache);
        float[] x = new float[windows.getFirst().length * hidden];
        for (int l = 0; l < blocks; l++) {
            progress.update(l, total, "global scan, block " + (l + 1) + "/" + blocks);
            ChannelStats[] stats = Calibration.consumerStats(model, l, cache, x, false);
            DecoderBlock block = model.block(l);
            BlockShape s = block.shape();
            double[] mlp = standardise(method.channelScores(((DenseLinear) block.linear("down_proj")).weight(), stats[1]));
            double[] attn = standardise(method.channelScores(((DenseLinear) block.linear("o_proj")).weight(), stats[0]));
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
            if (l + 1 < blocks) Calibration.propagate(model, l, cache, x);
        }
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
}
