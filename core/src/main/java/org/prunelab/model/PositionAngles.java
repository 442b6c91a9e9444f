package org.prunelab.model;

/**
 * The RoPE angles of one forward pass's positions, computed once per RoPE of the model (Llama has one; Gemma 3 one
 * for its global and one for its sliding-window layers) and shared by every block. Not shared between threads.
 */
final class PositionAngles {
    private final int startPos;
    private final int tokens;
    private Rope firstRope;
    private Rope.Table first;
    private Rope secondRope;
    private Rope.Table second;

    PositionAngles(int startPos, int tokens) {
        this.startPos = startPos;
        this.tokens = tokens;
    }

    /** The angles of {@code rope} for these positions, computed on first use. */
    Rope.Table of(Rope rope) {
        if (rope == firstRope) return first;
        if (rope == secondRope) return second;
        Rope.Table t = rope.table(startPos, tokens);
        if (firstRope == null) {
            firstRope = rope;
            first = t;
        } else if (secondRope == null) {
            secondRope = rope;
            second = t;
        }
        return t;
    }
}
