package org.prunelab.io;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Picks the names closest to a missing one, for error messages that show what a file does have. */
public final class NearbyNames {
    private NearbyNames() {}

    /** Up to {@code limit} names from {@code have} sharing the longest prefix with {@code wanted}, sorted. */
    static List<String> of(String wanted, Collection<String> have, int limit) {
        return have.stream()
                .sorted(Comparator.comparingInt((String n) -> -commonPrefix(wanted, n)).thenComparing(n -> n))
                .limit(limit)
                .sorted()
                .toList();
    }

    /** Up to 8 nearby names, as a readable list. */
    public static String describe(String wanted, Collection<String> have) {
        if (have.isEmpty()) return "it has no tensors";
        return "nearby names it has: " + of(wanted, have, 8) + " (" + have.size() + " tensors in all)";
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) i++;
        return i;
    }
}
