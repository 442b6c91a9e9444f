package org.prunelab.tensor;

/** EXPERIMENT (removed before merge): switches back to the former decode paths, for A/B timing in one JVM. */
public final class DecodeExperiment {
    private DecodeExperiment() {}

    public static volatile boolean forkJoin = Boolean.getBoolean("x.forkjoin");
    public static volatile boolean oldMatvec = Boolean.getBoolean("x.oldMatvec");
    public static volatile boolean noFuse = Boolean.getBoolean("x.noFuse");
    public static volatile boolean oldAttention = Boolean.getBoolean("x.oldAttention");

    public static volatile int piecesPerThread = Integer.getInteger("x.pieces", 4);

    public static void set(String mode) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("pieces(\\d+)").matcher(mode);
        piecesPerThread = m.find() ? Integer.parseInt(m.group(1)) : Integer.getInteger("x.pieces", 4);
        forkJoin = mode.contains("forkjoin");
        oldMatvec = mode.contains("oldMatvec");
        noFuse = mode.contains("noFuse");
        oldAttention = mode.contains("oldAttention");
    }
}
