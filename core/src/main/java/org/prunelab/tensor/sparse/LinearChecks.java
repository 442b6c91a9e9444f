package org.prunelab.tensor.sparse;

/** Buffer checks shared by the sparse {@link org.prunelab.tensor.Linear} implementations. */
final class LinearChecks {
    private LinearChecks() {}

    /** @throws IllegalArgumentException if x or y is shorter than [tokens, in] / [tokens, out] */
    static void buffers(String format, float[] x, int tokens, int in, float[] y, int out) {
        if (tokens < 1) {
            throw new IllegalArgumentException(format + " forward: tokens must be at least 1, got " + tokens);
        }
        if ((long) tokens * in > x.length || (long) tokens * out > y.length) {
            throw new IllegalArgumentException(format + " forward: x has " + x.length + " floats and y " + y.length
                    + ", but [" + tokens + ", " + in + "] in and [" + tokens + ", " + out + "] out are needed");
        }
    }
}
