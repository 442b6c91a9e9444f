package org.prunelab.prune.structured;

import org.prunelab.prune.CalibrationData;
import dev.ludovic.netlib.blas.BLAS;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.Linear;
import org.prunelab.model.LlamaModel;
import org.prunelab.model.LowRankLinear;
import org.prunelab.prune.ActivationCache;
import org.prunelab.tensor.FloatMatrix;

import java.util.ArrayList;
import java.util.HashMap;
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
public final class LowRank {
    private final double rankRatio;
    private final boolean activationWeighted;

    /** @throws PrunelabException.InvalidArgument for a ratio outside (0, 1] (a rank above min(in, out) or none) */
    public LowRank(double rankRatio, boolean activationWeighted) {
        if (!(rankRatio > 0)) {
            throw new PrunelabException.InvalidArgument("--rank-ratio must be positive, got " + rankRatio);
        }
        if (rankRatio > 1) {
            throw new PrunelabException.InvalidArgument("--rank-ratio " + rankRatio + " asks for a rank above min(in, out),"
                    + " which a factorisation cannot have: use a ratio in (0, 1]");
        }
        this.rankRatio = rankRatio;
        this.activationWeighted = activationWeighted;
    }

    /**
     * Factorises a copy of every block; {@code model} is unchanged.
     *
     * @param windows calibration windows (used only with activation weighting)
     * @throws PrunelabException.InvalidArgument if a linear's rank rounds to 0 or the model is not dense
     */
    public StructuredResult prune(LlamaModel model, List<int[]> windows, Progress progress) {
        Calibration.checkDense(model);
        if (activationWeighted) CalibrationData.checkWindows(model, windows);
        int blocks = model.blocks().size();
        List<DecoderBlock> current = new ArrayList<>(model.blocks());
        ActivationCache cache = null;
        try {
            float[] x = null;
            if (activationWeighted) {
                int seqlen = windows.getFirst().length;
                cache = ActivationCache.create(windows.size(), seqlen, model.config().hiddenSize());
                Calibration.embed(model, windows, cache);
                x = new float[seqlen * model.config().hiddenSize()];
            }
            for (int l = 0; l < blocks; l++) {
                progress.update(l, blocks, "block " + (l + 1) + "/" + blocks);
                LlamaModel working = model.withBlocks(model.config(), current);
                Map<String, double[]> norms = activationWeighted ? inputNorms(working, l, cache, x) : Map.of();
                Map<String, Linear> factored = new LinkedHashMap<>();
                for (Map.Entry<String, Linear> e : working.block(l).linears().entrySet()) {
                    FloatMatrix w = ((DenseLinear) e.getValue()).weight();
                    int rank = (int) Math.round(rankRatio * Math.min(w.rows(), w.cols()));
                    factored.put(e.getKey(), factor(w, rank, norms.get(e.getKey()), "layer " + l + " " + e.getKey()));
                }
                current.set(l, working.block(l).withLinears(l, factored));
                // Each factorisation leaves tens of MB of double-precision garbage (W', its Gram matrix, eigenvectors),
                // allocated straight into the old generation; collecting per block keeps resident memory flat
                // (without it the peak reached 10.8x the fp32 model's size).
                System.gc();
                if (activationWeighted && l + 1 < blocks) Calibration.propagate(model.withBlocks(model.config(), current), l, cache, x);
            }
            progress.update(blocks, blocks, "blocks");
        } finally {
            if (cache != null) cache.close();
            progress.finish();
        }
        LlamaModel pruned = model.withBlocks(model.config(), current);
        return new StructuredResult(activationWeighted ? "lowrank-aw" : "lowrank", 1 - rankRatio, "uniform", pruned,
                Calibration.linearParameters(model), Calibration.linearParameters(pruned), List.of());
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
        if (rank < 1 || rank > Math.min(in, out)) {
            throw new PrunelabException.InvalidArgument(where + ": rank " + rank + " is outside [1, min(in, out) = "
                    + Math.min(in, out) + "] for a [" + out + ", " + in + "] weight; choose another --rank-ratio");
        }
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

    /** Root-mean-square input of each linear of block l over the cached windows, by linear name. */
    private static Map<String, double[]> inputNorms(LlamaModel model, int l, ActivationCache cache, float[] x) {
        Map<String, ChannelStats> stats = new HashMap<>();
        DecoderBlock block = model.block(l);
        block.linears().forEach((name, lin) -> stats.put(name, new ChannelStats(lin.inFeatures(), false)));
        int seqlen = x.length / model.config().hiddenSize();
        for (int w = 0; w < cache.windows(); w++) {
            cache.read(w, x);
            // q/k/v (and gate/up) see the same input; feeding each its own copy costs little next to the SVDs.
            model.runBlock(l, x, seqlen, 0, (layer, name, input, tokens, in) -> stats.get(name).add(input, tokens));
        }
        Map<String, double[]> norms = new HashMap<>();
        stats.forEach((name, s) -> norms.put(name, s.norms()));
        return norms;
    }
}
