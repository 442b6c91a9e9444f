package org.prunelab.sweep;

/**
 * How each point's speed is measured: a prefill of {@code seqlen} tokens, timed {@code repeats} times
 * after warm-up (median). A measurement setting, not part of a run's key.
 */
public record SpeedSettings(int seqlen, int repeats) {}
