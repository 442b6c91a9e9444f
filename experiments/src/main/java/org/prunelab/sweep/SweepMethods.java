package org.prunelab.sweep;

import org.prunelab.PrunelabException;
import org.prunelab.prune.PruningMethods;

import java.util.ArrayList;
import java.util.List;

/**
 * The method names a sweep accepts: {@value #DENSE} (the unpruned model, the baseline every ratio divides
 * by) and every name {@link PruningMethods#byName} accepts, so a method added there is usable in sweeps with
 * no change here.
 *
 * <p>Structured methods (fasp, flap, shortgpt, lowrank) build a smaller model instead of zeroing weights; they
 * are listed in {@link #STRUCTURED}, run by {@link StructuredMethods}, and used in specs with
 * {@code pattern: structured}.
 */
public final class SweepMethods {
    /** The method name of an unpruned run. */
    public static final String DENSE = "dense";

    /** Structured methods the executor can run ({@link StructuredMethods}). */
    static final List<String> STRUCTURED = StructuredMethods.NAMES;

    private SweepMethods() {}

    /** Every accepted name, for messages. */
    public static List<String> names() {
        List<String> names = new ArrayList<>(List.of(DENSE));
        names.addAll(PruningMethods.NAMES);
        names.addAll(STRUCTURED);
        return names;
    }

    /** Whether {@code name} is dense, a registered pruning method, or a structured method. */
    public static boolean isKnown(String name) {
        if (name.equals(DENSE) || STRUCTURED.contains(name)) return true;
        try {
            PruningMethods.byName(name);
            return true;
        } catch (PrunelabException.InvalidArgument e) {
            return false;
        }
    }

    /** Whether the method reads calibration windows (dense and magnitude do not). */
    public static boolean needsCalibration(String name) {
        if (name.equals(DENSE)) return false;
        if (STRUCTURED.contains(name)) return true;
        return PruningMethods.byName(name).needsCalibration();
    }

    /** Whether {@code name} removes whole structures (heads, channels, blocks) rather than single weights. */
    public static boolean isStructured(String name) {
        return STRUCTURED.contains(name);
    }
}
