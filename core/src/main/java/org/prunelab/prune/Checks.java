package org.prunelab.prune;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

/** Argument checks shared by the methods, with messages that say what to do. */
final class Checks {
    private Checks() {}

    static void stats(String method, FloatMatrix weight, CalibrationStats stats, boolean needsTokens) {
        if (stats.inFeatures() != weight.cols()) {
            throw new PrunelabException.InvalidArgument(method + ": statistics were collected for "
                    + stats.inFeatures() + " input features but the weight " + shape(weight) + " has "
                    + weight.cols() + ": pass the statistics of this same linear");
        }
        if (needsTokens && stats.tokens() == 0) {
            throw new PrunelabException.InvalidArgument(method + ": no calibration tokens were added to the "
                    + "statistics of weight " + shape(weight) + ": run the calibration forward pass "
                    + "(CalibrationStats.add) before pruning");
        }
    }

    static void pattern(FloatMatrix weight, SparsityPattern pattern) {
        if (pattern instanceof SparsityPattern.NM nm) nm.checkDivides(weight.cols(), "weight " + shape(weight));
    }

    static String shape(FloatMatrix w) {
        return "[" + w.rows() + ", " + w.cols() + "]";
    }
}
