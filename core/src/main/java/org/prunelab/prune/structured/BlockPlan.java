package org.prunelab.prune.structured;

import org.prunelab.PrunelabException;
import org.prunelab.model.BlockShape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * What one block keeps: MLP intermediate channels (rows of GATE/UP, columns of DOWN) and
 * attention heads (rows of Q, columns of O), with the key/value groups those heads read (rows of
 * K/V). Every kept group keeps the same number of query heads, so the block stays valid grouped-query
 * attention (query head h reads key/value head h / group) and a Hugging Face config can describe it.
 *
 * @param keptChannels kept MLP channels, ascending
 * @param keptGroups   kept key/value groups, ascending
 * @param keptHeads    kept query heads, ascending; {@code keptHeads.length} is a multiple of {@code keptGroups.length}
 *                     and each kept group's heads come in order
 */
public record BlockPlan(int[] keptChannels, int[] keptGroups, int[] keptHeads) {

    /** The block's widths after removal. */
    public BlockShape shape() {
        return new BlockShape(keptChannels.length, keptHeads.length, keptGroups.length);
    }

    /**
     * Keeps the {@code keep} channels with the highest scores (ties: lower index).
     *
     * @throws PrunelabException.InvalidArgument if keep is below 1 (every channel removed)
     */
    static int[] topChannels(double[] scores, int keep, String where) {
        if (keep < 1) {
            throw new PrunelabException.InvalidArgument(where + ": the ratio would remove all " + scores.length
                    + " MLP channels of the block; lower ${sparsity}");
        }
        return IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.comparingDouble((Integer j) -> -scores[j]).thenComparingInt(j -> j))
                .limit(keep).mapToInt(Integer::intValue).sorted().toArray();
    }

    /**
     * The grouped-query layout "g groups x h heads each" (g <= kv heads, h <= group size) whose g*h is nearest
     * {@code targetHeads}; on a tie the larger head count (removing less than asked rather than more), then the one
     * with more groups (removing query heads before whole key/value groups). When the block's own head count divides {@code hiddenSize}, only layouts whose g*h divides it too
     * qualify: transformers' Llama and
     * Gemma 3 configs refuse a checkpoint whose hidden_size is not a multiple of num_attention_heads, even with an
     * explicit head_dim (Gemma 3 270M: 4 heads, hidden 640, so 3 heads would not reload and a 25% cut keeps 4, the
     * nearer of 2 and 4 that removes less; SmolLM2's possible counts
     * 1, 2, 3, 4, 6, 9 all divide 576). It depends only on the counts, so every block of a uniform prune gets the
     * same layout.
     *
     * @return {g, h}
     * @throws PrunelabException.InvalidArgument if the target rounds to no head at all
     */
    static int[] headLayout(int heads, int kvHeads, double targetHeads, int hiddenSize, String where) {
        if (Math.round(targetHeads) < 1) {
            throw new PrunelabException.InvalidArgument(where + ": the ratio would remove all " + heads
                    + " attention heads of the block; lower ${sparsity}");
        }
        return nearestLayout(heads, kvHeads, targetHeads, hiddenSize > 0 && hiddenSize % heads == 0 ? hiddenSize : 0);
    }

    /** {@link #headLayout}'s search; {@code divides} > 0 keeps only layouts whose head count divides it (1 always does). */
    private static int[] nearestLayout(int heads, int kvHeads, double targetHeads, int divides) {
        int group = heads / kvHeads;
        int[] best = null;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (int g = kvHeads; g >= 1; g--) {
            for (int h = 1; h <= group; h++) {
                if (divides > 0 && divides % (g * h) != 0) continue;
                double distance = Math.abs(g * h - targetHeads);
                boolean tie = Math.abs(distance - bestDistance) <= 1e-9;
                if (distance < bestDistance - 1e-9 || (tie && g * h > best[0] * best[1])) {
                    best = new int[]{g, h};
                    bestDistance = distance;
                }
            }
        }
        return best;
    }

    /**
     * Kept groups and heads of the layout "g groups x h heads": each group keeps its h best heads, and the g groups
     * with the best sum of those stay.
     *
     * @return {kept groups, kept heads}, both ascending
     */
    static int[][] layout(double[] headScores, int kvHeads, int group, int g, int h) {
        int[][] headsOf = new int[kvHeads][];
        double[] groupScore = new double[kvHeads];
        for (int kv = 0; kv < kvHeads; kv++) {
            double[] s = Arrays.copyOfRange(headScores, kv * group, (kv + 1) * group);
            int[] top = topChannels(s, h, "");
            headsOf[kv] = new int[h];
            for (int i = 0; i < h; i++) {
                headsOf[kv][i] = kv * group + top[i];
                groupScore[kv] += headScores[headsOf[kv][i]];
            }
        }
        int[] groups = topChannels(groupScore, g, "");
        List<Integer> kept = new ArrayList<>();
        for (int kv : groups) for (int head : headsOf[kv]) kept.add(head);
        return new int[][]{groups, kept.stream().mapToInt(Integer::intValue).toArray()};
    }
}
