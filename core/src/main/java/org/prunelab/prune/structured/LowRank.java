package org.prunelab.prune.structured;

import dev.ludovic.netlib.blas.BLAS;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.LowRankLinear;
import org.prunelab.model.ModelShape;
import org.prunelab.prune.BlockObserver;
import org.prunelab.prune.CalibrationLoop;
import org.prunelab.prune.LinearStats;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodParam;
import org.prunelab.prune.PruneOptions;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.prune.Pruner;
import org.prunelab.tensor.FloatMatrix;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Training-free low-rank factorisation (the truncated-SVD variant of REFERENCE.md "Low-rank"): every linear of
 * every block, {@code W [out, in]}, becomes {@code B A} with {@code A [rank, in]}, {@code B [out, rank]} from the
 * truncated SVD, {@code rank = round(rankRatio * min(in, out))}. The SVD is taken from the eigen-decomposition of
 * the smaller Gram matrix ({@code W^T W} or {@code W W^T}) in double. With activation weighting, the columns of W
 * are first scaled by the input norms {@code ||X_j||} (so directions that carry large inputs are kept) and A is
 * unscaled afterwards; the norms come from sequential calibration (block l sees the factorised blocks before it).
 * A linear keeps only {@code rank * (in + out)} parameters, fewer than {@code in * out} only when
 * {@code rank < in * out / (in + out)}.
 */
public final class LowRank implements Pruner {

    /** The registry entry: {@code rank_ratio}, or {@code sparsity} as the share of the blocks' linear parameters. */
    public static final Method METHOD = new Method("lowrank", Method.Kind.LOW_RANK,
            "replace every block linear W by two thin factors B A of its truncated SVD (optionally activation-weighted)",
            "truncated-SVD variant of Wang, Wohlwend & Lei, \"Structured Pruning of Large Language Models\" (FLOP), EMNLP 2020",
            "the blocks' linear parameters (the rank ratio that stores 1 - sparsity of them)",
            List.of(MethodParam.number("sparsity", null, 0, true, 1, false,
                            "share of the blocks' linear parameters the factors remove; give this or rank_ratio"),
                    MethodParam.number("rank_ratio", null, 0, false, 1, true,
                            "kept rank as a share of min(in, out) of each linear; give this or sparsity"),
                    MethodParam.bool("activation_weighted", false, "scale W's columns by the input norms ||X_j|| before the SVD")),
            args -> {
                args.requireOneOf("rank_ratio", "sparsity", "${rank_ratio} 0.3");
                boolean aw = args.bool("activation_weighted");
                return args.isGiven("rank_ratio") ? new LowRank(args.number("rank_ratio"), aw) : LowRank.ofShare(args.number("sparsity"), aw);
            });

    private final double rankRatio;   // NaN when derived from the share
    private final double share;       // NaN when the rank ratio is given
    private final boolean activationWeighted;

    /** @throws PrunelabException.InvalidArgument for a ratio outside (0, 1] (a rank above min(in, out) or none) */
    public LowRank(double rankRatio, boolean activationWeighted) {
        if (!(rankRatio > 0)) {
            throw new PrunelabException.InvalidArgument("${rank_ratio} must be positive, got " + rankRatio);
        }
        if (rankRatio > 1) {
            throw new PrunelabException.InvalidArgument("${rank_ratio} " + rankRatio + " asks for a rank above min(in, out),"
                    + " which a factorisation cannot have: use a ratio in (0, 1]");
        }
        this.rankRatio = rankRatio;
        this.share = Double.NaN;
        this.activationWeighted = activationWeighted;
    }

    private LowRank(boolean activationWeighted, double share) {
        if (!(share >= 0 && share < 1)) throw new PrunelabException.InvalidArgument("${sparsity} must be in [0, 1), got " + share);
        this.rankRatio = Double.NaN;
        this.share = share;
        this.activationWeighted = activationWeighted;
    }

    /** The rank ratio whose factors keep {@code 1 - share} of the blocks' linear parameters (see {@link #rankRatioFor}). */
    public static LowRank ofShare(double share, boolean activationWeighted) {
        return new LowRank(activationWeighted, share);
    }

    /**
     * The rank ratio rho (rank = rho x min(in, out)) on this model: the given one, or the one whose factors keep
     * {@code 1 - sparsity} of the block linears' parameters (a rank-r factorisation of an [out, in] matrix keeps
     * r (in + out) of them), capped at 1.
     */
    public double rankRatioFor(ModelShape shape) {
        if (!Double.isNaN(rankRatio)) return rankRatio;
        double dense = 0, perRho = 0;
        for (int l = 0; l < shape.blocks().size(); l++) {
            for (ModelShape.LinearShape s : shape.linears(l)) {
                long in = s.inFeatures(), out = s.outFeatures();
                dense += (double) in * out;
                perRho += (double) Math.min(in, out) * (in + out);
            }
        }
        return Math.min(1.0, (1 - share) * dense / perRho);
    }

    @Override
    public String method() { return "lowrank"; }

    @Override
    public boolean needsCalibration() { return activationWeighted; }

    @Override
    public void check(ModelShape shape, long calibrationTokens) {
        if (shape.factorised()) {
            throw new PrunelabException.InvalidArgument("the model's linears are already low-rank factors; factorise the dense model");
        }
        double rho = rankRatioFor(shape);
        for (int l = 0; l < shape.blocks().size(); l++) {
            for (ModelShape.LinearShape s : shape.linears(l)) {
                int rank = (int) Math.round(rho * Math.min(s.outFeatures(), s.inFeatures()));
                checkRank(rank, s.outFeatures(), s.inFeatures(), "layer " + l + " " + s.name());
            }
        }
    }

    /** The share of the blocks' linear parameters the factors remove, after rounding each rank. */
    @Override
    public double requestedSparsity(ModelShape shape) {
        if (!Double.isNaN(share)) return share;
        double rho = rankRatioFor(shape);
        double dense = 0, kept = 0;
        for (int l = 0; l < shape.blocks().size(); l++) {
            for (ModelShape.LinearShape s : shape.linears(l)) {
                long in = s.inFeatures(), out = s.outFeatures();
                dense += (double) in * out;
                kept += Math.round(rho * Math.min(in, out)) * (double) (in + out);
            }
        }
        return 1 - kept / dense;
    }

    /** {@link #prune(DecoderModel, List, PruneOptions)} keeping the input model. */
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, Progress progress) {
        return prune(model, windows, PruneOptions.keepInput(progress));
    }

    /**
     * Factorises a copy of every block; {@code model} is unchanged.
     *
     * @param windows calibration windows (used only with activation weighting)
     * @throws PrunelabException.InvalidArgument if a linear's rank rounds to 0 or the model is not dense
     */
    @Override
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, PruneOptions options) {
        Pruner.requireDense(model);
        ModelShape shape = ModelShape.of(model);
        check(shape, 0);
        double rho = rankRatioFor(shape);
        long before = PruneOutcome.linearParameters(model); // before the loop may release the input's blocks
        try (CalibrationLoop loop = new CalibrationLoop(model, windows, 1, options)) {
            @SuppressWarnings("unchecked")
            List<DecoderBlock> blocks = loop.run(CalibrationLoop.pruningPass(activationWeighted,
                    (l, block) -> activationWeighted ? LinearStats.all(block, in -> new ChannelStats(in, false)) : null,
                    (l, block, stats) -> {
                        Map<String, Linear> factored = new LinkedHashMap<>();
                        for (Map.Entry<String, Linear> e : block.linears().entrySet()) {
                            FloatMatrix w = ((DenseLinear) e.getValue()).weight();
                            int rank = (int) Math.round(rho * Math.min(w.rows(), w.cols()));
                            double[] norms = stats == null ? null : ((LinearStats<ChannelStats>) stats).get(e.getKey()).norms();
                            factored.put(e.getKey(), factor(w, rank, norms, "layer " + l + " " + e.getKey()));
                        }
                        // Each factorisation leaves tens of MB of double-precision garbage (W', its Gram matrix, eigenvectors);
                        // the loop collects after every block (without it the peak reached 10.8x the fp32 model's size).
                        return block.withLinears(l, factored);
                    }));
            DecoderModel pruned = model.withBlocks(model.config(), blocks);
            long after = PruneOutcome.linearParameters(pruned);
            List<String> warnings = after <= before ? List.of() : List.of(String.format(java.util.Locale.ROOT,
                    "lowrank with ${rank_ratio} %.3f stores %d factor parameters for %d dense ones (%.2fx): the model grew;"
                            + " a linear only shrinks below rank in*out/(in+out), e.g. a ratio under 0.5 for a square matrix",
                    rho, after, before, (double) after / before));
            return new PruneOutcome("lowrank", requestedSparsity(shape), pruned, before,
                    after, PruneOutcome.nonzeroParameters(pruned), List.of(), null,
                    "uniform", List.of(), Map.of("rank_ratio", rho, "activation_weighted", activationWeighted), warnings);
        }
    }

    private static void checkRank(int rank, int out, int in, String where) {
        if (rank < 1 || rank > Math.min(in, out)) {
            throw new PrunelabException.InvalidArgument(where + ": rank " + rank + " is outside [1, min(in, out) = "
                    + Math.min(in, out) + "] for a [" + out + ", " + in + "] weight; choose another ${rank_ratio}");
        }
    }

    /**
     * The rank-{@code rank} truncated SVD of {@code w} ({@code [out, in]}) as two factors, optionally of
     * {@code w diag(scale)} with the scale taken back out of A.
     *
     * @param scale per-input-column weights {@code [in]} (activation norms), or null for the plain SVD
     * @throws PrunelabException.InvalidArgument if rank is below 1 or above min(in, out)
     */
    public static LowRankLinear factor(FloatMatrix w, int rank, double[] scale, String where) {
        int out = w.rows(), in = w.cols();
        checkRank(rank, out, in, where);
        double[] s = new double[in];
        double max = 0;
        for (int j = 0; j < in; j++) max = Math.max(max, scale == null ? 1 : scale[j]);
        for (int j = 0; j < in; j++) s[j] = scale == null ? 1 : Math.max(scale[j], 1e-6 * max + Double.MIN_NORMAL);
        double[] ws = new double[out * in]; // W diag(s), row-major [out, in] = column-major [in, out]
        for (int o = 0; o < out; o++) for (int j = 0; j < in; j++) ws[o * in + j] = w.data()[o * in + j] * s[j];
        BLAS blas = BLAS.getInstance();
        float[] a = new float[rank * in];
        float[] b = new float[out * rank];
        if (in <= out) {
            double[] gram = new double[in * in]; // (W')^T W', [in, in]
            blas.dgemm("N", "T", in, in, out, 1.0, ws, in, ws, in, 0.0, gram, in);
            SymmetricEigen eig = SymmetricEigen.of(gram, in);
            // A = V_r^T diag(1/s), B = W' V_r
            for (int r = 0; r < rank; r++) for (int j = 0; j < in; j++) a[r * in + j] = (float) (eig.vectors[j * in + r] / s[j]);
            for (int o = 0; o < out; o++) {
                for (int r = 0; r < rank; r++) {
                    double sum = 0;
                    for (int j = 0; j < in; j++) sum += ws[o * in + j] * eig.vectors[j * in + r];
                    b[o * rank + r] = (float) sum;
                }
            }
        } else {
            double[] gram = new double[out * out]; // W' (W')^T, [out, out]
            blas.dgemm("T", "N", out, out, in, 1.0, ws, in, ws, in, 0.0, gram, out);
            SymmetricEigen eig = SymmetricEigen.of(gram, out);
            // B = U_r, A = U_r^T W (the scale cancels: U_r^T W' diag(1/s))
            for (int o = 0; o < out; o++) for (int r = 0; r < rank; r++) b[o * rank + r] = (float) eig.vectors[o * out + r];
            for (int r = 0; r < rank; r++) {
                for (int j = 0; j < in; j++) {
                    double sum = 0;
                    for (int o = 0; o < out; o++) sum += eig.vectors[o * out + r] * w.data()[o * in + j];
                    a[r * in + j] = (float) sum;
                }
            }
        }
        return new LowRankLinear(new FloatMatrix(rank, in, a), new FloatMatrix(out, rank, b));
    }
}
