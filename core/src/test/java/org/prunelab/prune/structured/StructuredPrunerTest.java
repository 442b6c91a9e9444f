package org.prunelab.prune.structured;

import org.prunelab.arch.ModelLoader;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.bench.RandomWeights;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.tensor.FloatMatrix;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Structured removal on tiny random Llama models: removal equals masking, shapes, restoration, bad input. */
class StructuredPrunerTest {
    /** hidden 32, intermediate 48, 3 layers, 6 heads in 3 key/value groups of 2, head_dim 8, vocab 50. */
    static DecoderConfig config() {
        return new DecoderConfig(32, 48, 3, 6, 3, 8, 50, 64, 1e-5, 10000, null, true, 1, 2);
    }

    static DecoderModel model(long seed) {
        return ModelLoader.build(config(), new RandomWeights(config(), seed, 0.2));
    }

    static List<int[]> windows(int n, int seqlen, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> w = new ArrayList<>();
        for (int i = 0; i < n; i++) w.add(r.ints(seqlen, 0, 50).toArray());
        return w;
    }

    @Test
    void removingChannelsAndHeadsGivesTheSameOutputsAsMaskingThem() {
        for (long seed = 0; seed < 8; seed++) {
            Random rnd = new Random(seed);
            DecoderModel model = model(seed);
            int layer = rnd.nextInt(3);
            DecoderBlock block = model.block(layer);
            // A random valid plan: g of 3 groups, h of 2 heads in each, a random subset of the 48 channels.
            int g = 1 + rnd.nextInt(3), h = 1 + rnd.nextInt(2);
            int[] groups = IntStream.range(0, 3).boxed().sorted((a, b) -> rnd.nextInt(3) - 1).limit(g)
                    .mapToInt(Integer::intValue).sorted().toArray();
            List<Integer> heads = new ArrayList<>();
            for (int kv : groups) {
                IntStream.range(0, 2).map(i -> kv * 2 + i).boxed().sorted((a, b) -> rnd.nextInt(3) - 1).limit(h)
                        .sorted().forEach(heads::add);
            }
            int[] keptHeads = heads.stream().mapToInt(Integer::intValue).toArray();
            int[] channels = rnd.ints(0, 48).distinct().limit(1 + rnd.nextInt(47)).sorted().toArray();
            BlockPlan plan = new BlockPlan(channels, groups, keptHeads);
            int[] tokens = new SplittableRandom(seed).ints(20, 0, 50).toArray();

            DenseLinear o = (DenseLinear) block.linear("o_proj");
            DenseLinear down = (DenseLinear) block.linear("down_proj");
            int[] oKept = BlockShrinker.expand(keptHeads, 8);
            var linears = BlockShrinker.shrink(block, plan, 8,
                    new DenseLinear(BlockShrinker.columns(o.weight(), oKept), null),
                    new DenseLinear(BlockShrinker.columns(down.weight(), channels), null));
            List<DecoderBlock> blocks = new ArrayList<>(model.blocks());
            blocks.set(layer, block.withLinears(layer, linears));
            DecoderModel removed = model.withBlocks(model.config(), blocks);
            assertThat(removed.block(layer).shape()).isEqualTo(new BlockShape(channels.length, keptHeads.length, groups.length));
            float[] removedLogits = removed.logits(tokens);

            // Masking in the unpruned model: zero the o_proj columns of removed heads and down_proj columns of removed channels.
            zeroColumnsExcept(o.weight(), oKept);
            zeroColumnsExcept(down.weight(), channels);
            float[] maskedLogits = model.logits(tokens);
            // Identical up to float summation order (the products run over fewer columns).
            for (int i = 0; i < maskedLogits.length; i++) {
                assertThat(removedLogits[i]).as("seed %d logit %d", seed, i)
                        .isCloseTo(maskedLogits[i], within(1e-4f * (1 + Math.abs(maskedLogits[i]))));
            }
        }
    }

    @Test
    void uniformFaspShrinksEveryBlockAndCountsParameters() {
        DecoderModel model = model(1);
        PruneOutcome r = new StructuredPruner(new Fasp(true), 0.25, StructuredPruner.Allocation.UNIFORM)
                .prune(model, windows(4, 16, 2), Progress.NONE);
        // 48 * 0.75 = 36 channels; 6 * 0.75 = 4.5 heads -> 4 (2 groups x 2 heads).
        assertThat(r.shapes()).containsOnly(new BlockShape(36, 4, 2));
        assertThat(r.model().config().intermediateSize()).isEqualTo(36);
        assertThat(r.model().config().numAttentionHeads()).isEqualTo(4);
        long expected = 3L * (4 * 8 * 32 * 2 + 2 * 8 * 32 * 2 + 36 * 32 * 3);
        assertThat(r.paramsAfter()).isEqualTo(expected);
        assertThat(r.actualSparsity()).isCloseTo(1 - (double) expected / r.paramsBefore(), within(1e-12));
        assertThat(model.block(0).shape()).isEqualTo(BlockShape.of(config())); // the input model is untouched
        assertThat(allFinite(r.model().logits(new int[]{1, 2, 3}))).isTrue();
    }

    /** Copy-on-prune holds for structured methods too; releasing the input gives the same model and gives up the input. */
    @Test
    void releasingTheInputGivesTheSameSmallerModel() {
        for (org.prunelab.prune.Pruner p : List.of(new StructuredPruner(new Fasp(true), 0.25, StructuredPruner.Allocation.UNIFORM),
                new StructuredPruner(new Flap(), 0.3, StructuredPruner.Allocation.GLOBAL), new ShortGpt(1), new LowRank(0.5, true))) {
            List<int[]> calib = windows(4, 16, 11);
            DecoderModel kept = model(12);
            PruneOutcome a = p.prune(kept, calib, org.prunelab.prune.PruneOptions.keepInput(Progress.NONE));
            DecoderModel released = model(12);
            PruneOutcome b = p.prune(released, calib, new org.prunelab.prune.PruneOptions(Progress.NONE, true));
            int[] tokens = {3, 1, 4, 1, 5};
            assertThat(b.model().logits(tokens)).as(p.method()).isEqualTo(a.model().logits(tokens));
            assertThat(b.actualSparsity()).isEqualTo(a.actualSparsity());
            assertThat(kept.logits(tokens)).as(p.method() + ": the kept input still runs").isEqualTo(model(12).logits(tokens));
            assertThat(released.blocks().stream().anyMatch(DecoderBlock::isReleased)).as(p.method()).isTrue();
        }
    }

    @Test
    void restorationBringsTheLastHiddenStateCloserToTheDenseModel() {
        DecoderModel model = model(4);
        List<int[]> calib = windows(8, 24, 5);
        PruneOutcome restored = new StructuredPruner(new Fasp(true), 0.5, StructuredPruner.Allocation.UNIFORM)
                .prune(model, calib, Progress.NONE);
        PruneOutcome cut = new StructuredPruner(new Fasp(false), 0.5, StructuredPruner.Allocation.UNIFORM)
                .prune(model, calib, Progress.NONE);
        double restoredError = 0, cutError = 0;
        for (int[] w : calib) {
            float[] dense = model.logits(w);
            float[] a = restored.model().logits(w);
            float[] b = cut.model().logits(w);
            for (int i = 0; i < dense.length; i++) {
                restoredError += (a[i] - dense[i]) * (a[i] - dense[i]);
                cutError += (b[i] - dense[i]) * (b[i] - dense[i]);
            }
        }
        assertThat(restoredError).isLessThan(cutError);
    }

    @Test
    void globalAllocationRemovesAboutTheRequestedShareAndKeepsEveryBlockAlive() {
        for (StructuredMethod m : List.of(new Flap(), new Fasp(true))) {
            PruneOutcome r = new StructuredPruner(m, 0.3, StructuredPruner.Allocation.GLOBAL)
                    .prune(model(6), windows(4, 16, 7), Progress.NONE);
            // At least the target (less FLAP's added o_proj/down_proj biases), at most one key/value group (1536) over it.
            double biases = m instanceof Flap ? 3.0 * 2 * 32 / r.paramsBefore() : 0;
            assertThat(r.actualSparsity()).as(m.name()).isBetween(0.3 - biases - 1e-9, 0.3 + 1536.0 / r.paramsBefore() + 1e-9);
            for (BlockShape s : r.shapes()) {
                assertThat(s.intermediateSize()).isPositive();
                assertThat(s.numAttentionHeads()).isEqualTo(2 * s.numKeyValueHeads());
            }
            assertThat(allFinite(r.model().logits(new int[]{4, 5}))).isTrue();
        }
    }

    /** Global ranking never empties a block, so at high ratios it falls short; the outcome says by how much. */
    @Test
    void aGlobalAllocationThatFallsShortSaysSo() {
        PruneOutcome r = new StructuredPruner(new Flap(), 0.99, StructuredPruner.Allocation.GLOBAL).prune(model(6), windows(4, 16, 7), Progress.NONE);
        assertThat(r.actualSparsity()).isLessThan(0.98);
        assertThat(r.warnings()).singleElement().asString().contains("short of the requested ${sparsity} 0.9900");
        assertThat(new StructuredPruner(new Flap(), 0.3, StructuredPruner.Allocation.GLOBAL).prune(model(6), windows(4, 16, 7),
                Progress.NONE).warnings()).isEmpty();
    }

    @Test
    void flapBiasKeepsTheConsumersMeanOutput() {
        Random rnd = new Random(3);
        int n = 50, in = 6, out = 4;
        float[] x = new float[n * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) (1 + rnd.nextGaussian());
        ChannelStats stats = new ChannelStats(in, false);
        stats.add(x, n);
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        DenseLinear dense = new DenseLinear(new FloatMatrix(out, in, w), null);
        int[] kept = {0, 2, 5};
        DenseLinear flap = new Flap().compensate(dense, stats, kept);
        // Mean output over the calibration tokens is unchanged: bias = W[:, removed] mean(x_removed).
        double[] mean = stats.mean();
        for (int o = 0; o < out; o++) {
            double full = 0, pruned = flap.bias()[o];
            for (int j = 0; j < in; j++) full += w[o * in + j] * mean[j];
            for (int a = 0; a < kept.length; a++) pruned += flap.weight().get(o, a) * mean[kept[a]];
            assertThat(pruned).isCloseTo(full, within(1e-5));
        }
    }

    @Test
    void shortGptDropsTheLowestInfluenceBlocksAndRenumbers() {
        DecoderModel model = model(8);
        List<int[]> calib = windows(3, 16, 9);
        double[] bi = ShortGpt.blockInfluence(model, calib, Progress.NONE);
        int lowest = 0;
        for (int l = 1; l < bi.length; l++) if (bi[l] < bi[lowest]) lowest = l;
        PruneOutcome r = new ShortGpt(1).prune(model, calib, Progress.NONE);
        assertThat(r.removedLayers()).containsExactly(lowest);
        assertThat(r.model().blocks()).hasSize(2);
        assertThat(r.model().config().numHiddenLayers()).isEqualTo(2);
        for (int i = 0; i < 2; i++) assertThat(r.model().block(i).index()).isEqualTo(i);
        for (double b : bi) assertThat(b).isBetween(0.0, 2.0);
    }

    @Test
    void badInputIsRejectedWithAUsefulMessage() {
        DecoderModel model = model(2);
        List<int[]> calib = windows(2, 8, 3);
        // 48 * 0.01 = 0.48 channels would stay: every MLP channel removed.
        assertThatThrownBy(() -> new StructuredPruner(new Fasp(true), 0.99, StructuredPruner.Allocation.UNIFORM)
                .prune(model, calib, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("all 48 MLP channels")
                .hasMessageContaining("lower sparsity");
        // Channels survive (48 * 0.08 = 3.84) but 6 * 0.08 = 0.48 heads rounds to none.
        assertThatThrownBy(() -> new StructuredPruner(new Flap(), 0.92, StructuredPruner.Allocation.UNIFORM)
                .prune(model, calib, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("all 6 attention heads");
        assertThatThrownBy(() -> new StructuredPruner(new Fasp(true), 1.0, StructuredPruner.Allocation.UNIFORM))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("[0, 1)");
        assertThatThrownBy(() -> new ShortGpt(3).prune(model, calib, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("num_hidden_layers")
                .hasMessageContaining("use layers 2");
        assertThatThrownBy(() -> new ShortGpt(0)).isInstanceOf(PrunelabException.InvalidArgument.class);
        // fasp 25% keeps 36 channels; 2 x 8 = 16 calibration tokens cannot determine a 36-input refit.
        assertThatThrownBy(() -> new StructuredPruner(new Fasp(true), 0.25, StructuredPruner.Allocation.UNIFORM)
                .prune(model, calib, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("only 16 tokens")
                .hasMessageContaining("restore=false");
        // Without restoration nothing is refit, so few tokens are allowed.
        assertThat(new StructuredPruner(new Fasp(false), 0.25, StructuredPruner.Allocation.UNIFORM)
                .prune(model, calib, Progress.NONE).model().config().intermediateSize()).isEqualTo(36);
    }

    private static boolean allFinite(float[] v) {
        for (float f : v) if (!Float.isFinite(f)) return false;
        return true;
    }

    private static void zeroColumnsExcept(FloatMatrix w, int[] kept) {
        boolean[] keep = new boolean[w.cols()];
        for (int j : kept) keep[j] = true;
        for (int r = 0; r < w.rows(); r++) for (int j = 0; j < w.cols(); j++) if (!keep[j]) w.set(r, j, 0f);
    }


    /**
     * Head layouts: nearest grouped-query layout, ties to more groups; a kept head count must divide hidden_size when
     * the model's own count does (transformers' Llama and Gemma 3 configs refuse others).
     */
    @Test
    void headLayoutsKeepHiddenSizeAMultipleOfTheHeads() {
        // SmolLM2-135M: 9 heads in 3 groups, hidden 576; every candidate divides 576, so nothing changes.
        assertThat(BlockPlan.headLayout(9, 3, 9 * 0.75, 576, "every block")).containsExactly(3, 2);
        assertThat(BlockPlan.headLayout(9, 3, 9 * 0.5, 576, "every block")).containsExactly(2, 2);
        // Gemma 3 270M: 4 heads in 1 group, hidden 640: 3 heads would not reload in transformers; 2 and 4 are as
        // near, and the tie removes less than asked rather than more.
        assertThat(BlockPlan.headLayout(4, 1, 4 * 0.75, 640, "every block")).containsExactly(1, 4);
        assertThat(BlockPlan.headLayout(4, 1, 4 * 0.5, 640, "every block")).containsExactly(1, 2);
        // A tie between head counts (2.5 between 2 and 3): the larger; a tie between layouts of one count: more groups.
        assertThat(BlockPlan.headLayout(9, 3, 2.5, 576, "every block")).containsExactly(3, 1);
        assertThat(BlockPlan.headLayout(6, 3, 2, 48, "every block")).containsExactly(2, 1);
        assertThat(BlockPlan.headLayout(4, 1, 4 * 0.8, 640, "every block")).containsExactly(1, 4);
        assertThat(BlockPlan.headLayout(4, 1, 4 * 0.75, 0, "every block")).as("no constraint").containsExactly(1, 3);
        // A model whose own head count does not divide its hidden size (explicit head_dim) is not constrained.
        assertThat(BlockPlan.headLayout(4, 1, 3, 650, "every block")).containsExactly(1, 3);
    }
}
