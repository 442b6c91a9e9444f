package org.prunelab.data;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How much calibration text also occurs in an evaluation text: the share of the calibration windows' token n-grams
 * ({@value #N} consecutive tokens) that occur anywhere in the evaluation windows. Different texts share almost no
 * 16-grams (a share near 0); a calibration file that contains the evaluation text, such as a UDHR page passed as a
 * {@code .txt} and evaluated on {@code udhr:eng}, shares most of them. A run warns above {@value #WARN_ABOVE} and
 * records the share in its report, since perplexity on text the pruner calibrated on is optimistic.
 */
public final class Overlap {
    /** n-gram length in tokens. */
    public static final int N = 16;
    /** Share above which a run warns. */
    public static final double WARN_ABOVE = 0.01;

    private Overlap() {}

    /**
     * @return the share in [0, 1] of the calibration windows' {@value #N}-grams found in the evaluation windows
     *         (0 when either side is shorter than one n-gram)
     */
    public static double share(List<int[]> calibration, List<int[]> evaluation) {
        Set<Long> eval = new HashSet<>();
        for (int[] w : evaluation) for (int i = 0; i + N <= w.length; i++) eval.add(hash(w, i));
        if (eval.isEmpty()) return 0;
        long found = 0, total = 0;
        for (int[] w : calibration) {
            for (int i = 0; i + N <= w.length; i++) {
                total++;
                if (eval.contains(hash(w, i))) found++;
            }
        }
        return total == 0 ? 0 : (double) found / total;
    }

    /** A 64-bit FNV-1a hash of {@code w[from .. from + N)}: collisions are negligible at these sizes. */
    private static long hash(int[] w, int from) {
        long h = 0xcbf29ce484222325L;
        for (int i = from; i < from + N; i++) {
            h ^= w[i];
            h *= 0x100000001b3L;
        }
        return h;
    }
}
