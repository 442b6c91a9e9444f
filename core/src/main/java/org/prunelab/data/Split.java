package org.prunelab.data;

/**
 * The two parts of every corpus. They never share a document, so calibrating on one part and
 * measuring perplexity on the other never sees the same text twice.
 */
public enum Split {
    CALIBRATION, EVALUATION;

    /** The default rule, applied to a corpus's natural units (files, lines, paragraphs) in source order. */
    public static final String EVERY_TENTH_RULE = "unit index % 10 == 0 -> evaluation, all others -> calibration";

    /** {@link #EVERY_TENTH_RULE}: units 0, 10, 20, ... are evaluation (so even a tiny corpus has one). */
    public static Split everyTenth(int index) {
        return index % 10 == 0 ? EVALUATION : CALIBRATION;
    }

    /** Lower-case name as logged ({@code calibration}, {@code evaluation}). */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
