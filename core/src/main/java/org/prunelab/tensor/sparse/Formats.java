package org.prunelab.tensor.sparse;

import java.util.Locale;
import java.util.Optional;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

/**
 * Chooses the execution format of a pruned weight [out_features, in_features].
 *
 * <p>{@code auto} rule, from the batch-1 decode measurements of {@code SparseKernelBench} on the
 * development machine (Xeon Sapphire Rapids, AVX-512, 2 shared cores; table and command in
 * {@code results/sparse-kernel-bench.md}):
 * <ol>
 *   <li>a matrix whose every group of 4 holds at most 2 nonzeros (or of 8 at most 4) is packed N:M,
 *       unless it is sparser than {@link #CSR_OVER_NM_SPARSITY}, where CSR stores fewer bytes;</li>
 *   <li>otherwise CSR when at least {@link #CSR_MIN_SPARSITY} of the weights are zero;</li>
 *   <li>otherwise dense.</li>
 * </ol>
 */
public final class Formats {
    /**
     * Unstructured sparsity from which CSR decode beats dense. CSR streams 8 bytes per nonzero
     * against dense's 4 per weight, so it cannot win below 50%, and its gathers cost more than dense
     * loads: measured, CSR decode at 50% ran at 0.6-0.9x of a Vector API dense matvec, at 70% at
     * 0.75-1.6x (winning when weights stream from memory), at 90% at 1.5-5x.
     */
    public static final double CSR_MIN_SPARSITY = 0.70;

    /** Sparsity above which CSR beats packed N:M even on N:M weights (CSR bytes 8(1-s) < N:M's ~2.1 per weight). */
    public static final double CSR_OVER_NM_SPARSITY = 0.85;

    private static final int[][] NM_PATTERNS = {{2, 4}, {4, 8}};

    private Formats() {}

    /**
     * Decides the format for {@code weight}.
     *
     * @param requested {@code auto}, {@code dense}, {@code csr} or {@code nm} (case-insensitive)
     * @throws PrunelabException.InvalidArgument for an unknown name, or for {@code nm} when the weights
     *         are neither 2:4 nor 4:8 (the message names the offending row and group and the format that fits)
     */
    public static FormatChoice choose(FloatMatrix weight, String requested) {
        double sparsity = weight.size() == 0 ? 0 : (double) weight.countZeros() / weight.size();
        String percent = String.format(Locale.ROOT, "%.1f%%", 100 * sparsity);
        return switch (requested.strip().toLowerCase(Locale.ROOT)) {
            case "dense" -> new FormatChoice(SparseFormat.DENSE, 0, 0, sparsity, "dense requested");
            case "csr" -> new FormatChoice(SparseFormat.CSR, 0, 0, sparsity, "csr requested (" + percent + " zeros)");
            case "nm" -> {
                int[] nm = fittingPattern(weight).orElseThrow(() -> notNm(weight, sparsity, percent));
                yield new FormatChoice(SparseFormat.NM, nm[0], nm[1], sparsity,
                        "nm requested; " + nm[0] + ":" + nm[1] + " pattern holds in every group");
            }
            case "auto" -> auto(weight, sparsity, percent);
            default -> throw new PrunelabException.InvalidArgument("unknown weight format '" + requested
                    + "': choose auto, dense, csr or nm");
        };
    }

    private static FormatChoice auto(FloatMatrix weight, double sparsity, String percent) {
        Optional<int[]> nm = sparsity > CSR_OVER_NM_SPARSITY ? Optional.empty() : fittingPattern(weight);
        if (nm.isPresent()) {
            int[] p = nm.get();
            return new FormatChoice(SparseFormat.NM, p[0], p[1], sparsity,
                    p[0] + ":" + p[1] + " pattern holds in every group (" + percent + " zeros)");
        }
        if (sparsity >= CSR_MIN_SPARSITY) {
            return new FormatChoice(SparseFormat.CSR, 0, 0, sparsity, percent + " zeros, at least the CSR crossover "
                    + Math.round(100 * CSR_MIN_SPARSITY) + "%");
        }
        return new FormatChoice(SparseFormat.DENSE, 0, 0, sparsity, "not N:M and " + percent
                + " zeros, below the CSR crossover " + Math.round(100 * CSR_MIN_SPARSITY) + "%");
    }

    private static Optional<int[]> fittingPattern(FloatMatrix weight) {
        for (int[] p : NM_PATTERNS) {
            if (PackedNmMatrix.findViolation(weight, p[0], p[1]).isEmpty()) return Optional.of(p);
        }
        return Optional.empty();
    }

    private static PrunelabException.InvalidArgument notNm(FloatMatrix weight, double sparsity, String percent) {
        PackedNmMatrix.Violation v = PackedNmMatrix.findViolation(weight, 4, 8).orElseThrow();
        String fits = sparsity >= CSR_MIN_SPARSITY ? "csr" : "dense (or csr, slower below "
                + Math.round(100 * CSR_MIN_SPARSITY) + "% zeros)";
        return new PrunelabException.InvalidArgument("format nm needs 2:4 or 4:8 weights, but the [" + weight.rows() + ", " + weight.cols() + "] weight"
                + " is neither: row " + v.row() + ", group of 8 number " + v.group() + " has " + v.nonZeros()
                + " nonzeros (" + percent + " zeros overall): use format " + fits + ", or prune with pattern 2:4");
    }
}
