package org.prunelab.prune;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.ModelShape;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Unstructured and N:M pruning of every block's seven linears with a per-matrix {@link PruningMethod} (magnitude,
 * Wanda, SparseGPT), in the {@link CalibrationLoop}: per block, each linear's input statistics are collected
 * ({@link LinearStats}: q/k/v share one object, gate/up one), every linear is copied and pruned with
 * {@link PruningMethod#prune}, and the pruned block produces the next block's calibration inputs — the sequential
 * propagation of locuslab/wanda. Magnitude ({@link PruningMethod#needsCalibration()} false) runs no forward work.
 *
 * <p>With OWL (Yin et al. 2024), a first pass over the still-dense model gathers each block's Wanda scores and
 * turns their outlier ratios into per-block sparsities ({@link OwlAllocator}), as luuyin/OWL does; the pruning
 * pass then uses unstructured sparsity {@code s_l} for block l.
 *
 * <p>With a {@link QuantSpec}, every pruned linear is then quantised to a GGUF block format in the same block step:
 * RTN (llama.cpp's rounding of the pruned weights), or GPTQ on the pruned weights with the Hessian collected alongside
 * the method's own statistics, pruned weights held at exactly 0 ({@link GptqQuantizer}); SparseGPT with GPTQ prunes
 * and quantises in its one sweep ({@link PruningMethod#pruneAndQuantize}, the paper's joint mode). The next block is
 * calibrated on the pruned <em>and quantised</em> block's outputs. Each linear's blocks are in
 * {@link PrunedLinear#quantized()}; the model holds their exact values as fp32 dense weights.
 *
 * <p>Embeddings, norms and the LM head are never touched.
 */
public final class LayerwisePruner implements Pruner {
    private final PruningMethod<?> method;
    private final SparsityPattern pattern;
    private final OwlAllocator owl;
    private final QuantSpec quant;

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
        this(method, pattern, owl, null);
    }

    /**
     * @param owl   null for uniform sparsity; otherwise OWL chooses each block's sparsity around {@code pattern.sparsity()}
     * @param quant quantisation after pruning, or null for none
     * @throws PrunelabException.InvalidArgument if OWL is combined with a method without calibration
     *         (magnitude) or with an N:M pattern
     */
    public LayerwisePruner(PruningMethod<?> method, SparsityPattern pattern, OwlAllocator owl, QuantSpec quant) {
        if (owl != null && !method.needsCalibration()) {
            throw new PrunelabException.InvalidArgument("${owl} needs calibration statistics (Wanda scores of the dense "
                    + "model), which " + method.name() + " does not collect: use ${method} wanda or ${method} sparsegpt with ${owl}");
        }
        if (owl != null && pattern instanceof SparsityPattern.NM) {
            throw new PrunelabException.InvalidArgument("${owl} gives each block its own unstructured sparsity, which the "
                    + pattern.label() + " pattern cannot express: drop ${owl} or use ${pattern} unstructured");
        }
        this.method = method;
        this.pattern = pattern;
        this.owl = owl;
        this.quant = quant;
    }

    /**
     * Quantisation of the dense model without pruning (the {@code dense} baseline of a quantised sweep): every block
     * linear rounded to {@code quant}'s format by RTN, or by GPTQ on the calibration windows.
     *
     * @throws IllegalArgumentException if quant is null
     */
    public static LayerwisePruner quantizeOnly(QuantSpec quant) {
        if (quant == null) throw new IllegalArgumentException("quantizeOnly needs a QuantSpec");
        return new LayerwisePruner(new KeepAll(), SparsityPattern.unstructured(0), null, quant);
    }

    /** This pruner with {@code quant} after pruning (null: none); pattern, method and OWL unchanged. */
    @Override
    public LayerwisePruner withQuantization(QuantSpec quant) {
        return new LayerwisePruner(method, pattern, owl, quant);
    }

    /** The quantisation after pruning, or null. */
    public QuantSpec quantization() { return quant; }

    /**
     * The registry entry of a mask method: parameters {@code sparsity}, {@code pattern} and, for methods with
     * calibration statistics, {@code owl}.
     *
     * @param sparsityOf what {@code sparsity} is a share of for this method's comparison group
     */
    static Method method(String name, String summary, String paper, String sparsityOf, boolean calibrated,
                         Supplier<PruningMethod<?>> perMatrix) {
        List<MethodParam> params = new ArrayList<>(List.of(
                MethodParam.number("sparsity", null, 0, true, 1, false, "share of weights to remove: " + sparsityOf
                        + "; implied (1 - N/M) for an N:M pattern"),
                MethodParam.pattern("pattern", "unstructured", "unstructured, or N:M: keep N of every M consecutive weights of a row (2:4, 4:8)")));
        if (calibrated) {
            params.add(MethodParam.bool("owl", false, "OWL (Yin et al., ICML 2024): blocks with more outlier Wanda scores keep "
                    + "more weights (M=5, lambda=0.08); the mean over blocks stays the target"));
        }
        return new Method(name, Method.Kind.UNSTRUCTURED, summary, paper, sparsityOf, params, args ->
                new LayerwisePruner(perMatrix.get(), args.pattern(), args.has("owl") && args.bool("owl") ? new OwlAllocator() : null));
    }

    @Override
    public String method() { return method.name(); }

    @Override
    public boolean needsCalibration() { return method.needsCalibration() || quant != null && quant.needsCalibration(); }

    @Override
    public void check(ModelShape shape, long calibrationTokens) {
        if (shape.factorised()) {
            throw new PrunelabException.InvalidArgument("the model's linears are low-rank factors, not dense matrices: "
                    + method.name() + " prunes the dense model; start from the model the factors were made from");
        }
        for (int l = 0; l < shape.blocks().size(); l++) {
            for (ModelShape.LinearShape s : shape.linears(l)) {
                if (pattern instanceof SparsityPattern.NM nm) nm.checkDivides(s.inFeatures(), "layer " + l + " " + s.name());
                if (quant != null) quant.checkFits(s.inFeatures(), "layer " + l + " " + s.name());
            }
        }
    }

    @Override
    public double requestedSparsity(ModelShape shape) { return pattern.sparsity(); }

    /** {@link #prune(DecoderModel, List, PruneOptions)} keeping the input model. */
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, Progress progress) {
        return prune(model, windows, PruneOptions.keepInput(progress));
    }

    /**
     * Prunes a copy of every block of {@code model}.
     *
     * @param model   a Llama model whose linears are {@link DenseLinear}
     * @param windows calibration token windows, all of the same length seqlen (ignored by magnitude)
     * @return the pruned model, per-linear sparsities and OWL's per-block sparsities
     * @throws PrunelabException.InvalidArgument if there are no windows, they differ in length, seqlen is
     *         beyond the model's context, a linear is not dense, or N:M's M does not divide a linear's in_features
     * @throws PrunelabException if the method fails numerically (SparseGPT's Cholesky)
     */
    /**
     * The method's statistics for each of the block's input groups (q/k/v share one, gate/up one), and the largest
     * single matrix's pruning temporaries ({@link PruningMethod#pruneBytes}).
     */
    @Override
    public BlockMemory blockMemory(ModelShape shape, int layer, long tokens) {
        java.util.Map<String, ModelShape.LinearShape> byName = new java.util.HashMap<>();
        for (ModelShape.LinearShape s : shape.linears(layer)) byName.put(s.name(), s);
        long held = 0;
        for (List<String> group : shape.layout().inputGroups()) held += method.statsBytes(byName.get(group.getFirst()).inFeatures());
        long peak = 0;
        for (List<String> group : shape.layout().inputGroups()) {
            for (String name : group) {
                ModelShape.LinearShape s = byName.get(name);
                peak = Math.max(peak, method.pruneBytes(s.outFeatures(), s.inFeatures(), group.size() == 1));
            }
        }
        return new BlockMemory(held, peak);
    }

    /** Block by block in the calibration loop: streams. */
    @Override
    public boolean streams() { return true; }

    @Override
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, PruneOptions options) {
        Pruner.requireDense(model);
        check(ModelShape.of(model), 0);
        return run(method, model, windows, options);
    }

    private <S extends CalibrationStats> PruneOutcome run(PruningMethod<S> m, DecoderModel model, List<int[]> windows,
                                                           PruneOptions options) {
        boolean gptq = quant != null && quant.algorithm() == QuantSpec.Algorithm.GPTQ;
        // GPTQ after a method without a Hessian needs one collected next to the method's own statistics.
        boolean extraHessian = gptq && !m.quantizesJointly();
        boolean calibrated = m.needsCalibration() || gptq;
        java.util.function.IntFunction<CalibrationStats> factory = extraHessian
                ? in -> new WithHessian<>(m.newStats(in), new HessianStats(in)) : m::newStats;
        List<PrunedLinear> pruned = new ArrayList<>();
        double[] blockSparsities = null;
        long before = PruneOutcome.linearParameters(model); // before the loop may release the input's blocks
        try (CalibrationLoop loop = new CalibrationLoop(model, windows, owl == null ? 1 : 2, options)) {
            if (owl != null) {
                int blocks = model.blocks().size();
                double[] outlierRatios = new double[blocks];
                loop.run(new ScanPass<>("OWL outlier scan, ", InputNormStats::new) {
                    @Override
                    void collect(int layer, DecoderBlock block, LinearStats<InputNormStats> norms) {
                        List<double[]> scores = new ArrayList<>();
                        block.linears().forEach((name, linear) ->
                                scores.add(WandaPruner.wandaScores(((DenseLinear) linear).weight(), norms.get(name))));
                        outlierRatios[layer] = owl.outlierRatio(scores);
                    }
                });
                blockSparsities = owl.allocate(outlierRatios, pattern.sparsity());
            }
            double[] perBlock = blockSparsities;
            @SuppressWarnings("unchecked")
            List<DecoderBlock> blocks = loop.run(CalibrationLoop.pruningPass(calibrated,
                    (layer, block) -> calibrated ? LinearStats.all(block, factory) : null,
                    (layer, block, stats) -> {
                        LinearStats<CalibrationStats> s = calibrated ? (LinearStats<CalibrationStats>) stats
                                : LinearStats.all(block, factory);
                        SparsityPattern p = perBlock == null ? pattern : SparsityPattern.unstructured(perBlock[layer]);
                        return pruneBlock(m, block, s, p, quant, pruned, options.sink() != null);
                    }));
            DecoderModel out = model.withBlocks(model.config(), blocks);
            return new PruneOutcome(m.name(), pattern.sparsity(), out, before, PruneOutcome.linearParameters(out),
                    PruneOutcome.nonzeroParameters(out), pruned, blockSparsities, null, List.of(), Map.of(), List.of());
        }
    }

    /**
     * A copy of the block with each linear pruned by {@code m} and, with {@code quant}, quantised: the input block's
     * weights are never written.
     */
    @SuppressWarnings("unchecked")
    static <S extends CalibrationStats> DecoderBlock pruneBlock(PruningMethod<S> m, DecoderBlock block,
                                                                         LinearStats<CalibrationStats> stats, SparsityPattern p,
                                                                         QuantSpec quant, List<PrunedLinear> out,
                                                                         boolean collectEach) {
        Map<String, Linear> linears = new LinkedHashMap<>();
        // An input group's Hessian (q/k/v share one, gate/up one) may become its last linear's factor in place.
        Map<HessianStats, Integer> usesLeft = new java.util.IdentityHashMap<>();
        for (String name : block.linears().keySet()) {
            HessianStats h = hessianOf(stats.get(name));
            if (h != null) usesLeft.merge(h, 1, Integer::sum);
        }
        block.linears().forEach((name, linear) -> {
            DenseLinear dense = (DenseLinear) linear;
            FloatMatrix weight = dense.weight().copy();
            CalibrationStats st = stats.get(name);
            HessianStats h = hessianOf(st);
            if (h != null && usesLeft.merge(h, -1, Integer::sum) == 0) h.markLastUse();
            S own = st instanceof WithHessian<?> both ? (S) both.method : (S) st;
            PruneResult r;
            if (quant != null && quant.algorithm() == QuantSpec.Algorithm.GPTQ && m.quantizesJointly()) {
                r = m.pruneAndQuantize(weight, own, p, quant.type());
            } else {
                r = m.prune(weight, own, p);
                if (quant != null && quant.algorithm() == QuantSpec.Algorithm.GPTQ) {
                    PruneResult g = new GptqQuantizer().quantize(weight, ((WithHessian<?>) st).hessian, r.mask(), quant.type());
                    r = new PruneResult(r.mask(), g.deadInputs(), g.percdamp(), g.quantized());
                } else if (quant != null) {
                    QuantMatrix q = QuantMatrix.quantize(quant.type(), weight);
                    System.arraycopy(q.dequantize().data(), 0, weight.data(), 0, weight.data().length);
                    r = new PruneResult(r.mask(), r.deadInputs(), r.percdamp(), q);
                }
            }
            out.add(new PrunedLinear(block.index(), name, weight.rows(), weight.cols(), p.sparsity(),
                    r.mask().prunedCount(), weight.countZeros(), r.deadInputs(), r.percdamp(), r.quantized()));
            linears.put(name, new DenseLinear(weight, dense.bias()));
            // Streaming: each linear's temporaries (scores, Hessian inverses: GBs at 7B) are collected before the next
            // linear's, so the peak holds the largest linear's, not the sum the collector would otherwise let grow.
            if (collectEach) System.gc();
        });
        return block.withLinears(block.index(), linears);
    }

    /** The Hessian a linear's factorisation reads: SparseGPT's own, or the one collected for GPTQ; else null. */
    private static HessianStats hessianOf(CalibrationStats st) {
        if (st instanceof WithHessian<?> both) return both.hessian;
        return st instanceof HessianStats h ? h : null;
    }

    /** A method's statistics and the Hessian GPTQ needs, fed the same inputs. */
    private static final class WithHessian<S extends CalibrationStats> implements CalibrationStats {
        final S method;
        final HessianStats hessian;

        WithHessian(S method, HessianStats hessian) {
            this.method = method;
            this.hessian = hessian;
        }

        @Override public int inFeatures() { return hessian.inFeatures(); }
        @Override public long tokens() { return hessian.tokens(); }

        @Override
        public void add(float[] x, int tokens) {
            method.add(x, tokens);
            hessian.add(x, tokens);
        }
    }

    /** No pruning: the method of {@link #quantizeOnly}. */
    private static final class KeepAll implements PruningMethod<NoStats> {
        @Override public String name() { return Methods.DENSE; }
        @Override public boolean needsCalibration() { return false; }
        @Override public NoStats newStats(int inFeatures) { return new NoStats(inFeatures); }

        @Override
        public PruneResult prune(FloatMatrix weight, NoStats stats, SparsityPattern pattern) {
            return new PruneResult(new Mask(weight.rows(), weight.cols()), 0, 0);
        }
    }

    /**
     * A pass that only looks: each block's inputs go to one statistics object per input group, {@link #collect}
     * reads them, the block stays as it is. OWL's outlier scan; FLAP's global ranking and ShortGPT's block influence
     * are scans too.
     */
    abstract static class ScanPass<S extends CalibrationStats> implements CalibrationLoop.Pass {
        private final String prefix;
        private final java.util.function.IntFunction<S> factory;

        ScanPass(String prefix, java.util.function.IntFunction<S> factory) {
            this.prefix = prefix;
            this.factory = factory;
        }

        abstract void collect(int layer, DecoderBlock block, LinearStats<S> stats);

        @Override public String label(int layer, int n) { return prefix + "block " + (layer + 1) + "/" + n; }
        @Override public boolean calibrated() { return true; }
        @Override public boolean modifiesBlocks() { return false; }
        @Override public BlockObserver observer(int layer, DecoderBlock block) { return LinearStats.all(block, factory); }

        @Override
        @SuppressWarnings("unchecked")
        public DecoderBlock apply(int layer, DecoderBlock block, BlockObserver stats) {
            collect(layer, block, (LinearStats<S>) stats);
            return block;
        }
    }
}
