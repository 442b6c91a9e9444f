package org.prunelab.prune;

import org.prunelab.model.ActivationCache;
import org.prunelab.arch.ModelLoader;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.bench.RandomWeights;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.tensor.FloatMatrix;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The sequential calibration loop on a tiny random Llama (hidden 32, intermediate 48, 3 blocks, GQA 4/2 heads):
 * what each block sees, what each method leaves, determinism, OWL, and bad input.
 */
class LayerwisePrunerTest {
    static final DecoderConfig CONFIG = new DecoderConfig(32, 48, 3, 4, 2, 8, 50, 64, 1e-5, 10000, null, true, 1, 2);
    static final int SEQLEN = 16;

    static DecoderModel model() {
        return ModelLoader.build(CONFIG, new RandomWeights(CONFIG, 7, 0.2));
    }

    static List<int[]> windows(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> w = new ArrayList<>();
        for (int i = 0; i < n; i++) w.add(r.ints(SEQLEN, 0, CONFIG.vocabSize()).toArray());
        return w;
    }

    /** The per-matrix methods by name. */
    static final Map<String, java.util.function.Supplier<PruningMethod<?>>> METHODS = new java.util.LinkedHashMap<>();

    static {
        METHODS.put("magnitude", MagnitudePruner::new);
        METHODS.put("wanda", WandaPruner::new);
        METHODS.put("sparsegpt", SparseGptPruner::new);
    }

    static FloatMatrix weight(DecoderModel m, int layer, String name) {
        return ((DenseLinear) m.block(layer).linear(name)).weight();
    }

    /** The dense forward's input to every (layer, linear), per window: what sequential calibration must see at sparsity 0. */
    static Map<String, List<float[]>> denseInputs(DecoderModel m, List<int[]> windows) {
        Map<String, List<float[]>> inputs = new HashMap<>();
        for (int[] tokens : windows) {
            float[] hidden = m.embed(tokens);
            for (int l = 0; l < m.blocks().size(); l++) {
                m.runBlock(l, hidden, tokens.length, 0, (layer, name, x, t, in) ->
                        inputs.computeIfAbsent(layer + "." + name, k -> new ArrayList<>()).add(java.util.Arrays.copyOf(x, t * in)));
            }
        }
        return inputs;
    }

    @Test
    void atSparsityZeroEveryBlockSeesExactlyTheDenseForwardsInputs() {
        DecoderModel m = model();
        List<int[]> windows = windows(3, 1);
        Map<String, List<float[]>> dense = denseInputs(m, windows);
        Recording<InputNormStats> rec = new Recording<>(new WandaPruner());
        new LayerwisePruner(rec, SparsityPattern.unstructured(0)).prune(m, windows, Progress.NONE);

        for (int l = 0; l < CONFIG.numHiddenLayers(); l++) {
            for (String owner : List.of("q_proj", "o_proj", "gate_proj", "down_proj")) {
                List<float[]> seen = rec.inputs.get(l + "." + owner);
                assertThat(seen).as("layer %d %s: one batch per window", l, owner).hasSize(windows.size());
                for (int w = 0; w < windows.size(); w++) {
                    assertThat(seen.get(w)).as("layer %d %s window %d", l, owner, w).isEqualTo(dense.get(l + "." + owner).get(w));
                }
            }
            // k/v and up share q's and gate's statistics object: it was fed once per window, not three times.
            assertThat(rec.statsOf.get(l + ".k_proj")).isSameAs(rec.statsOf.get(l + ".q_proj"));
            assertThat(rec.statsOf.get(l + ".v_proj")).isSameAs(rec.statsOf.get(l + ".q_proj"));
            assertThat(rec.statsOf.get(l + ".up_proj")).isSameAs(rec.statsOf.get(l + ".gate_proj"));
            assertThat(rec.statsOf.get(l + ".q_proj").tokens()).isEqualTo((long) windows.size() * SEQLEN);
        }
    }

    @Test
    void laterBlocksAreCalibratedOnThePrunedBlocksOutputs() {
        DecoderModel m = model();
        List<int[]> windows = windows(2, 2);
        Map<String, List<float[]>> dense = denseInputs(m, windows);
        Recording<InputNormStats> rec = new Recording<>(new WandaPruner());
        DecoderModel pruned = new LayerwisePruner(rec, SparsityPattern.unstructured(0.5)).prune(m, windows, Progress.NONE).model();

        // Block 0 sees the embeddings either way; block 1 sees what the pruned block 0 produced.
        assertThat(rec.inputs.get("0.q_proj").get(0)).isEqualTo(dense.get("0.q_proj").get(0));
        assertThat(rec.inputs.get("1.q_proj").get(0)).isNotEqualTo(dense.get("1.q_proj").get(0));
        // And exactly that: rerunning the pruned model's blocks 0 reproduces block 1's captured input.
        Map<String, List<float[]>> prunedForward = denseInputs(pruned, windows);
        assertThat(rec.inputs.get("1.q_proj").get(1)).isEqualTo(prunedForward.get("1.q_proj").get(1));
        assertThat(rec.inputs.get("2.q_proj").get(0)).isEqualTo(prunedForward.get("2.q_proj").get(0));
    }

    @Test
    void wandaPrunesExactlyFloorOfInFeaturesTimesSparsityPerRow() {
        for (double s : new double[] {0.1, 0.5, 0.7}) {
            DecoderModel m = model();
            PruneOutcome r = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(s)).prune(m, windows(2, 3), Progress.NONE);
            assertThat(r.linears()).hasSize(7 * CONFIG.numHiddenLayers());
            for (PrunedLinear pl : r.linears()) {
                FloatMatrix w = weight(r.model(), pl.layer(), pl.name());
                for (int row = 0; row < w.rows(); row++) {
                    int zeros = 0;
                    for (int c = 0; c < w.cols(); c++) if (w.get(row, c) == 0f) zeros++;
                    assertThat(zeros).as("s=%s layer %d %s row %d", s, pl.layer(), pl.name(), row).isEqualTo((int) (w.cols() * s));
                }
            }
        }
    }

    @Test
    void magnitudeAndSparseGptHitTheirPerMatrixTarget() {
        for (PruningMethod<?> method : List.of(new MagnitudePruner(), new SparseGptPruner())) {
            DecoderModel m = model();
            PruneOutcome r = new LayerwisePruner(method, SparsityPattern.unstructured(0.5)).prune(m, windows(4, 4), Progress.NONE);
            for (PrunedLinear pl : r.linears()) {
                long k = (long) (pl.parameters() * 0.5);
                // One threshold per matrix (per 128-column block for SparseGPT, wider than these matrices):
                // the reference prunes every score <= the (k+1)-th smallest, k+1 weights without ties.
                assertThat(pl.pruned()).as("%s layer %d %s", method.name(), pl.layer(), pl.name()).isEqualTo(k + 1);
                assertThat(pl.zeros()).isEqualTo(weight(r.model(), pl.layer(), pl.name()).countZeros()).isGreaterThanOrEqualTo(k + 1);
            }
            assertThat(r.actualSparsity()).isCloseTo(0.5, within(0.01));
        }
    }

    @Test
    void everyMethodKeepsNOfEveryMInNmPatterns() {
        for (String name : METHODS.keySet()) {
            for (SparsityPattern.NM nm : List.of(new SparsityPattern.NM(2, 4), new SparsityPattern.NM(4, 8))) {
                DecoderModel m = new LayerwisePruner(METHODS.get(name).get(), nm).prune(model(), windows(3, 5), Progress.NONE).model();
                for (DecoderBlock b : m.blocks()) {
                    for (String linear : org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames()) {
                        FloatMatrix w = weight(m, b.index(), linear);
                        for (int row = 0; row < w.rows(); row++) {
                            for (int c0 = 0; c0 < w.cols(); c0 += nm.m()) {
                                int zeros = 0;
                                for (int c = c0; c < c0 + nm.m(); c++) if (w.get(row, c) == 0f) zeros++;
                                assertThat(zeros).as("%s %s layer %d %s row %d group %d", name, nm.label(), b.index(), linear, row, c0)
                                        .isEqualTo(nm.prunedPerGroup());
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void embeddingsNormsAndLmHeadAreUntouched() {
        for (String name : METHODS.keySet()) {
            DecoderModel m = model();
            float[] embed = m.embedTokens().data().clone();
            float[] finalNorm = m.norm().weight().clone();
            List<float[]> norms = new ArrayList<>();
            for (DecoderBlock b : m.blocks()) {
                norms.add(b.norm(org.prunelab.model.NormRole.ATTENTION_INPUT).weight().clone());
                norms.add(b.norm(org.prunelab.model.NormRole.MLP_INPUT).weight().clone());
            }
            DecoderModel p = new LayerwisePruner(METHODS.get(name).get(), SparsityPattern.unstructured(0.6)).prune(m, windows(2, 6), Progress.NONE).model();
            assertThat(p.embedTokens().data()).as(name).isEqualTo(embed);
            assertThat(((DenseLinear) p.lmHead()).weight().data()).as(name + ": tied LM head").isEqualTo(embed);
            assertThat(p.norm().weight()).isEqualTo(finalNorm);
            for (DecoderBlock b : p.blocks()) {
                assertThat(b.norm(org.prunelab.model.NormRole.ATTENTION_INPUT).weight()).isEqualTo(norms.get(2 * b.index()));
                assertThat(b.norm(org.prunelab.model.NormRole.MLP_INPUT).weight()).isEqualTo(norms.get(2 * b.index() + 1));
            }
        }
    }

    /** Copy-on-prune: the input model keeps every weight bit for bit; with releaseInput its blocks are given up. */
    @Test
    void pruningNeverChangesItsInputAndCanReleaseIt() {
        for (String name : METHODS.keySet()) {
            DecoderModel m = model();
            DecoderModel fresh = model();
            PruneOutcome r = new LayerwisePruner(METHODS.get(name).get(), SparsityPattern.unstructured(0.5)).prune(m, windows(2, 12), Progress.NONE);
            for (DecoderBlock b : m.blocks()) {
                for (String linear : org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames()) {
                    assertThat(weight(m, b.index(), linear).data()).as("%s layer %d %s", name, b.index(), linear)
                            .isEqualTo(weight(fresh, b.index(), linear).data());
                    assertThat(weight(r.model(), b.index(), linear).countZeros()).isPositive();
                }
            }
            PruneOutcome again = new LayerwisePruner(METHODS.get(name).get(), SparsityPattern.unstructured(0.5))
                    .prune(m, windows(2, 12), new PruneOptions(Progress.NONE, true));
            for (DecoderBlock b : again.model().blocks()) {
                for (String linear : org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames()) {
                    assertThat(weight(again.model(), b.index(), linear).data()).isEqualTo(weight(r.model(), b.index(), linear).data());
                }
            }
            assertThat(m.blocks()).allMatch(DecoderBlock::isReleased);
            assertThatThrownBy(() -> m.logits(new int[]{1, 2})).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
        }
    }

    /**
     * Same windows, same result. Magnitude and Wanda keep weights bit for bit. SparseGPT's updated weights are
     * compared to 1e-6 relative: its inputs pass through the Vector API's lane reductions and EXP (softmax), whose
     * results may differ in the last bit between interpreted and JIT-compiled code, so a run during JIT warm-up can
     * differ from a later one in the last ulps (seen once on this tiny model; never between two warm runs).
     */
    @Test
    void sameWindowsGiveTheSameWeights() {
        for (String name : METHODS.keySet()) {
            DecoderModel a = new LayerwisePruner(METHODS.get(name).get(), SparsityPattern.unstructured(0.5)).prune(model(), windows(3, 8), Progress.NONE).model();
            DecoderModel b = new LayerwisePruner(METHODS.get(name).get(), SparsityPattern.unstructured(0.5)).prune(model(), windows(3, 8), Progress.NONE).model();
            for (DecoderBlock block : a.blocks()) {
                for (String linear : org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames()) {
                    float[] wa = weight(a, block.index(), linear).data();
                    float[] wb = weight(b, block.index(), linear).data();
                    for (int i = 0; i < wa.length; i++) {
                        assertThat(wa[i] == 0f).as("%s layer %d %s mask at %d", name, block.index(), linear, i).isEqualTo(wb[i] == 0f);
                        if (name.equals("sparsegpt")) {
                            assertThat(wa[i]).isCloseTo(wb[i], within(1e-6f * Math.max(1f, Math.abs(wa[i]))));
                        } else {
                            assertThat(Float.floatToRawIntBits(wa[i])).as("%s layer %d %s at %d", name, block.index(), linear, i)
                                    .isEqualTo(Float.floatToRawIntBits(wb[i]));
                        }
                    }
                }
            }
        }
    }

    @Test
    void owlSparsitiesComeFromTheDenseModelsWandaScoresAndAverageToTheTarget() {
        DecoderModel m = model();
        List<int[]> windows = windows(3, 9);
        // The expected allocation, computed independently: dense forward, per-linear input norms, Wanda scores.
        Map<String, List<float[]>> dense = denseInputs(m, windows);
        List<List<double[]>> scoresPerBlock = new ArrayList<>();
        for (DecoderBlock b : m.blocks()) {
            List<double[]> scores = new ArrayList<>();
            for (String name : org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames()) {
                FloatMatrix w = weight(m, b.index(), name);
                InputNormStats norms = new InputNormStats(w.cols());
                for (float[] x : dense.get(b.index() + "." + name)) norms.add(x, x.length / w.cols());
                scores.add(WandaPruner.wandaScores(w, norms));
            }
            scoresPerBlock.add(scores);
        }
        // lambda 0.2 so that three random blocks get visibly different sparsities.
        OwlAllocator owl = new OwlAllocator(5, 0.2);
        double[] expected = owl.allocateFromScores(scoresPerBlock, 0.5);

        PruneOutcome r = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5), owl).prune(m, windows, Progress.NONE);
        assertThat(r.blockSparsities()).containsExactly(expected, within(1e-12));
        assertThat(java.util.Arrays.stream(r.blockSparsities()).average().orElseThrow()).isCloseTo(0.5, within(1e-12));
        for (PrunedLinear pl : r.linears()) {
            assertThat(pl.targetSparsity()).isEqualTo(expected[pl.layer()]);
            assertThat(pl.pruned()).isEqualTo((long) pl.outFeatures() * (int) (pl.inFeatures() * expected[pl.layer()]));
        }
    }

    @Test
    void badInputIsRejectedWithAMessageThatSaysWhatToDo() {
        assertThatThrownBy(() -> new LayerwisePruner(new MagnitudePruner(), SparsityPattern.unstructured(0.5), new OwlAllocator()))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("wanda").hasMessageContaining("sparsegpt");
        assertThatThrownBy(() -> new LayerwisePruner(new WandaPruner(), SparsityPattern.nm(2, 4), new OwlAllocator()))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("2:4");
        assertThatThrownBy(() -> new LayerwisePruner(new WandaPruner(), SparsityPattern.nm(2, 5)).prune(model(), windows(1, 1), Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("divisible by 5").hasMessageContaining("q_proj");
        assertThatThrownBy(() -> new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5)).prune(model(), List.of(), Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("nsamples");
        assertThatThrownBy(() -> new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5))
                .prune(model(), List.of(new int[8], new int[9]), Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("same seqlen");
        assertThatThrownBy(() -> new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5))
                .prune(model(), List.of(new int[65]), Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("context of 64");
        assertThatThrownBy(() -> Methods.byName("obs"))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("magnitude, wanda, sparsegpt");
    }

    @Test
    void magnitudeNeedsNoWindowsAndReportsProgressPerBlock() {
        List<String> labels = new ArrayList<>();
        new LayerwisePruner(new MagnitudePruner(), SparsityPattern.unstructured(0.3))
                .prune(model(), List.of(), (done, total, label) -> labels.add(done + "/" + total + " " + label));
        assertThat(labels).containsExactly("0/3 block 1/3", "1/3 block 2/3", "2/3 block 3/3", "3/3 blocks");
    }

    @Test
    void activationCacheRoundTripsSlotsExactly() {
        try (ActivationCache cache = ActivationCache.create(3, 4, 5)) {
            SplittableRandom r = new SplittableRandom(11);
            float[][] slots = new float[3][20];
            for (int w = 0; w < 3; w++) {
                for (int i = 0; i < 20; i++) slots[w][i] = (float) r.nextGaussian();
                cache.write(w, slots[w]);
            }
            float[] back = new float[20];
            for (int w = 2; w >= 0; w--) {
                cache.read(w, back);
                assertThat(back).isEqualTo(slots[w]);
            }
        }
    }

    /** Wraps a method: records every input its statistics receive, then prunes with the wrapped method. */
    static final class Recording<S extends CalibrationStats> implements PruningMethod<Recording.Stats<S>> {
        final PruningMethod<S> inner;
        final Map<String, List<float[]>> inputs = new HashMap<>();
        final Map<String, Stats<S>> statsOf = new HashMap<>();
        private final Map<Stats<S>, String> owners = new HashMap<>();
        private int layer = 0;
        private int linearIndex = 0;

        Recording(PruningMethod<S> inner) { this.inner = inner; }

        static final class Stats<S extends CalibrationStats> implements CalibrationStats {
            final S inner;
            final List<float[]> seen = new ArrayList<>();

            Stats(S inner) { this.inner = inner; }

            @Override public int inFeatures() { return inner.inFeatures(); }
            @Override public long tokens() { return inner.tokens(); }
            @Override public void add(float[] x, int tokens) {
                seen.add(java.util.Arrays.copyOf(x, tokens * inFeatures()));
                inner.add(x, tokens);
            }
        }

        @Override public String name() { return "recording-" + inner.name(); }

        @Override public Stats<S> newStats(int inFeatures) { return new Stats<>(inner.newStats(inFeatures)); }

        /** Called for the block's linears in forward order; records which stats each one got. */
        @Override
        public PruneResult prune(FloatMatrix weight, Stats<S> stats, SparsityPattern pattern) {
            String name = org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames().get(linearIndex);
            statsOf.put(layer + "." + name, stats);
            if (!owners.containsKey(stats)) {
                owners.put(stats, name);
                inputs.put(layer + "." + name, stats.seen);
            }
            if (++linearIndex == org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames().size()) {
                linearIndex = 0;
                layer++;
            }
            return inner.prune(weight, stats.inner, pattern);
        }
    }
}
