package org.prunelab.prune;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.Linear;
import org.prunelab.model.LlamaModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The one calibration loop every per-matrix method runs in, block by block with sequential propagation
 * (as locuslab/wanda's {@code prune_wanda} and {@code prune_sparsegpt}; REFERENCE.md "Calibration"):
 *
 * <ol>
 *   <li>embed the calibration windows ({@code nsamples x seqlen} tokens) into an {@link ActivationCache};</li>
 *   <li>for block l: run it on every window, each at positions 0..seqlen-1 with the causal mask, exactly as
 *       the forward pass does, while a {@link org.prunelab.model.LinearInputObserver} feeds each linear's
 *       input to the method's {@link CalibrationStats};</li>
 *   <li>prune all seven linears of the block with {@link PruningMethod#prune} (weights edited in place);</li>
 *   <li>re-run the <em>pruned</em> block on the cached inputs; its outputs, overwriting them, are the
 *       inputs of block l+1, so block l+1 is calibrated on what the pruned model actually produces.</li>
 * </ol>
 *
 * <p>Statistics: q_proj, k_proj and v_proj read the same normed input, as do gate_proj and up_proj, so each
 * group shares one statistics object (fed once per window); methods treat statistics as read-only.
 * Statistics live for one block only.
 *
 * <p>Magnitude ({@link PruningMethod#needsCalibration()} false) skips all forward work. With OWL
 * (Yin et al. 2024), a first sequential pass over the still-dense model gathers each block's Wanda
 * scores and turns their outlier ratios into per-block sparsities ({@link OwlAllocator}), as
 * luuyin/OWL does; the pruning pass then uses unstructured sparsity {@code s_l} for block l.
 *
 * <p>Embeddings, norms and the LM head are never touched. Progress is reported per block; the loop never
 * prints, logs or reads files (the activation cache is an unlinked temporary file).
 */
public final class LayerwisePruner {
    /**
     * The linear whose statistics object collects each linear's input: linears reading the same tensor
     * share one (q/k/v read input_layernorm's output, gate/up post_attention_layernorm's).
     */
    private static final Map<String, String> INPUT_OWNER = Map.of(
            "q_proj", "q_proj", "k_proj", "q_proj", "v_proj", "q_proj", "o_proj", "o_proj",
            "gate_proj", "gate_proj", "up_proj", "gate_proj", "down_proj", "down_proj");

    private final PruningMethod<?> method;
    private final SparsityPattern pattern;
    private final OwlAllocator owl;

    /** Prunes every block to {@code pattern} with {@code method}. */
    public LayerwisePruner(PruningMethod<?> method, SparsityPattern pattern) {
        this(method, pattern, null);
    }

    /**
     * @param owl null for uniform sparsity; otherwise OWL chooses each block's sparsity around
     *            {@code pattern.sparsity()}
     * @throws PrunelabException.InvalidArgument if OWL is combined with a method without calibration
     *         (magnitude) or with an N:M pattern (OWL varies the sparsity per block; N:M fixes it)
     */
    public LayerwisePruner(PruningMethod<?> method, SparsityPattern pattern, OwlAllocator owl) {
        if (owl != null && !method.needsCalibration()) {
            throw new PrunelabException.InvalidArgument("--owl needs calibration statistics (Wanda scores of the dense "
                    + "model), which " + method.name() + " does not collect: use --method wanda or --method sparsegpt with --owl");
        }
        if (owl != null && pattern instanceof SparsityPattern.NM) {
            throw new PrunelabException.InvalidArgument("--owl gives each block its own unstructured sparsity, which the "
                    + pattern.label() + " pattern cannot express: drop --owl or use --pattern unstructured");
        }
        this.method = method;
        this.pattern = pattern;
        this.owl = owl;
    }

    /**
     * Prunes {@code model} in place.
     *
     * @param model    a Llama model whose linears are {@link DenseLinear}
     * @param windows  calibration token windows, all of the same length seqlen (ignored by magnitude)
     * @param progress told {@code (block, blocks, "block i/n")}; OWL's scan counts as a second set of blocks
     * @return per-linear sparsities and OWL's per-block sparsities
     * @throws PrunelabException.InvalidArgument if there are no windows, they differ in length, seqlen is
     *         beyond the model's context, a linear is not dense, or N:M's M does not divide a linear's in_features
     * @throws PrunelabException if the method fails numerically (SparseGPT's Cholesky)
     */
    public LayerwiseResult prune(LlamaModel model, List<int[]> windows, Progress progress) {
        checkModel(model);
        if (method.needsCalibration()) CalibrationData.checkWindows(model, windows);
        try {
            return run(method, model, windows, progress);
        } finally {
            progress.finish();
        }
    }

    private <S extends CalibrationStats> LayerwiseResult run(PruningMethod<S> m, LlamaModel model, List<int[]> windows,
                                                              Progress progress) {
        int blocks = model.blocks().size();
        List<PrunedLinear> pruned = new ArrayList<>();
        if (!m.needsCalibration()) {
            for (int l = 0; l < blocks; l++) {
                progress.update(l, blocks, "block " + (l + 1) + "/" + blocks);
                Map<String, S> stats = newStats(model.block(l), m::newStats);
                pruneBlock(m, model.block(l), stats, pattern, pruned);
            }
            progress.update(blocks, blocks, "blocks");
            return new LayerwiseResult(m.name(), pattern, pruned, null);
        }
        int seqlen = windows.getFirst().length;
        int hidden = model.config().hiddenSize();
        int total = owl == null ? blocks : 2 * blocks;
        try (ActivationCache cache = ActivationCache.create(windows.size(), seqlen, hidden)) {
            float[] x = new float[seqlen * hidden];
            double[] blockSparsities = null;
            if (owl != null) {
                double[] outlierRatios = new double[blocks];
                embed(model, windows, cache);
                for (int l = 0; l < blocks; l++) {
                    progress.update(l, total, "OWL outlier scan, block " + (l + 1) + "/" + blocks);
                    Map<String, InputNormStats> norms = calibrate(model, l, cache, x, InputNormStats::new);
                    List<double[]> scores = new ArrayList<>();
                    model.block(l).linears().forEach((name, linear) ->
                            scores.add(WandaPruner.wandaScores(((DenseLinear) linear).weight(), norms.get(name))));
                    outlierRatios[l] = owl.outlierRatio(scores);
                    propagate(model, l, cache, x);
                }
                blockSparsities = owl.allocate(outlierRatios, pattern.sparsity());
            }
            embed(model, windows, cache);
            int offset = total - blocks;
            for (int l = 0; l < blocks; l++) {
                progress.update(offset + l, total, "block " + (l + 1) + "/" + blocks);
                Map<String, S> stats = calibrate(model, l, cache, x, m::newStats);
                SparsityPattern p = blockSparsities == null ? pattern : SparsityPattern.unstructured(blockSparsities[l]);
                pruneBlock(m, model.block(l), stats, p, pruned);
                stats = null;
                // A block's statistics and solver temporaries (SparseGPT: ~150 MB of double arrays, allocated
                // straight into the old generation) are garbage now. Collecting here keeps the heap, and so
                // resident memory, from growing block after block: without it SparseGPT's peak RSS reached
                // 7.6x the fp32 model's size, a measure of the collector rather than of the method.
                System.gc();
                if (l + 1 < blocks) propagate(model, l, cache, x);
            }
            progress.update(total, total, "blocks");
            return new LayerwiseResult(m.name(), pattern, pruned, blockSparsities);
        }
    }

    /** Block 0's inputs: the embedding rows of every window. */
    private static void embed(LlamaModel model, List<int[]> windows, ActivationCache cache) {
        for (int w = 0; w < windows.size(); w++) cache.write(w, model.embed(windows.get(w)));
    }

    /** Runs block l on every cached window, feeding each linear's input to its statistics; the cache is unchanged. */
    private static <S extends CalibrationStats> Map<String, S> calibrate(LlamaModel model, int l, ActivationCache cache,
                                                                          float[] x, IntFunction<S> factory) {
        Map<String, S> stats = newStats(model.block(l), factory);
        int seqlen = x.length / model.config().hiddenSize();
        for (int w = 0; w < cache.windows(); w++) {
            cache.read(w, x);
            model.runBlock(l, x, seqlen, 0, (layer, name, input, tokens, in) -> {
                if (INPUT_OWNER.get(name).equals(name)) stats.get(name).add(input, tokens);
            });
        }
        return stats;
    }

    /** Replaces every cached window by block l's output on it: the inputs of block l+1. */
    private static void propagate(LlamaModel model, int l, ActivationCache cache, float[] x) {
        int seqlen = x.length / model.config().hiddenSize();
        for (int w = 0; w < cache.windows(); w++) {
            cache.read(w, x);
            model.runBlock(l, x, seqlen, 0, null);
            cache.write(w, x);
        }
    }

    /** One statistics object per distinct linear input, mapped from every linear name that reads it. */
    private static <S extends CalibrationStats> Map<String, S> newStats(DecoderBlock block, IntFunction<S> factory) {
        Map<String, S> byOwner = new LinkedHashMap<>();
        Map<String, S> byName = new LinkedHashMap<>();
        block.linears().forEach((name, linear) -> {
            String owner = INPUT_OWNER.get(name);
            byName.put(name, byOwner.computeIfAbsent(owner, o -> factory.apply(linear.inFeatures())));
        });
        return byName;
    }

    private static <S extends CalibrationStats> void pruneBlock(PruningMethod<S> m, DecoderBlock block, Map<String, S> stats,
                                                                 SparsityPattern p, List<PrunedLinear> out) {
        block.linears().forEach((name, linear) -> {
            var weight = ((DenseLinear) linear).weight();
            PruneResult r = m.prune(weight, stats.get(name), p);
            out.add(new PrunedLinear(block.index(), name, weight.rows(), weight.cols(), p.sparsity(),
                    r.mask().prunedCount(), weight.countZeros(), r.deadInputs(), r.percdamp()));
        });
    }

    private void checkModel(LlamaModel model) {
        for (DecoderBlock block : model.blocks()) {
            for (Map.Entry<String, Linear> e : block.linears().entrySet()) {
                if (!(e.getValue() instanceof DenseLinear dense)) {
                    throw new PrunelabException.InvalidArgument("layer " + block.index() + " " + e.getKey() + " is "
                            + e.getValue() + ", not a dense matrix: prune the dense model as loaded");
                }
                if (pattern instanceof SparsityPattern.NM nm) {
                    nm.checkDivides(dense.inFeatures(), "layer " + block.index() + " " + e.getKey());
                }
            }
        }
    }
}
