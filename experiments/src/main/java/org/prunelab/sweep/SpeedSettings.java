package org.prunelab.sweep;

/**
 * How each point's speed is measured: a prompt of {@code seqlen} tokens prefilled, then {@code gen} tokens
 * decoded one at a time, {@code repeats} timed runs after warm-up (median). A measurement setting, not part
 * of a run's key.
 */
public record SpeedSettings(int seqlen, int repeats, int gen) {
    /** Decode steps when a spec does not say. */
    public static final int DEFAULT_GEN = 16;

    public SpeedSettings(int seqlen, int repeats) {
        this(seqlen, repeats, DEFAULT_GEN);
    }
}
