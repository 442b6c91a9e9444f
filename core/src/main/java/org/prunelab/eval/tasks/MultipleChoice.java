package org.prunelab.eval.tasks;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.data.Tokenizer;
import org.prunelab.eval.Bootstrap;
import org.prunelab.model.DecoderModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Zero-shot multiple-choice accuracy by log-likelihood, lm-evaluation-harness's {@code multiple_choice} output type:
 * every choice's continuation is scored after its context ({@link LogLikelihood}); {@code acc} is 1 when the choice
 * with the largest summed log-likelihood is the gold one, {@code acc_norm} when the largest log-likelihood divided by
 * the choice text's length in characters is ({@code len(choice)} in Python; lm-eval's {@code acc_norm}).
 */
public final class MultipleChoice {
    private MultipleChoice() {}

    /**
     * Scores {@code items} with {@code model} and its {@code tokenizer}.
     *
     * @param task     the task's name for the result
     * @param note     how the items were made, for the result
     * @param progress told after each item
     * @throws PrunelabException.InvalidArgument for no items, or a choice that encodes to no tokens
     */
    public static McResult evaluate(DecoderModel model, Tokenizer tokenizer, String task, List<McItem> items, String note,
                                    Progress progress) {
        if (items.isEmpty()) throw new PrunelabException.InvalidArgument("task " + task + " has no items to score");
        long start = System.nanoTime();
        long tokens = 0;
        List<McResult.ItemResult> results = new ArrayList<>(items.size());
        try {
            for (int n = 0; n < items.size(); n++) {
                McItem item = items.get(n);
                int k = item.choices().size();
                double[] ll = new double[k];
                boolean[] greedy = new boolean[k];
                // Choices with the same context text share one context run.
                Map<String, List<Integer>> byContext = new LinkedHashMap<>();
                for (int c = 0; c < k; c++) byContext.computeIfAbsent(item.choices().get(c).context(), x -> new ArrayList<>()).add(c);
                for (Map.Entry<String, List<Integer>> group : byContext.entrySet()) {
                    List<int[]> conts = new ArrayList<>();
                    int[] context = null;
                    for (int c : group.getValue()) {
                        LogLikelihood.Pair p = LogLikelihood.encode(tokenizer, group.getKey(), item.choices().get(c).continuation());
                        context = p.context();
                        conts.add(p.continuation());
                        tokens += p.continuation().length - 1;
                    }
                    tokens += context.length;
                    LogLikelihood.Score[] s = LogLikelihood.score(model, context, conts);
                    for (int j = 0; j < s.length; j++) {
                        int c = group.getValue().get(j);
                        ll[c] = s[j].logLikelihood();
                        greedy[c] = s[j].greedy();
                    }
                }
                results.add(new McResult.ItemResult(item.id(), item.gold(), ll, greedy, argmax(ll, null), argmax(ll, item)));
                progress.update(n + 1, items.size(), "items");
            }
        } finally {
            progress.finish();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double[] acc = results.stream().mapToDouble(r -> r.correct() ? 1 : 0).toArray();
        double[] accNorm = results.stream().mapToDouble(r -> r.correctNorm() ? 1 : 0).toArray();
        return new McResult(task, results, Bootstrap.accuracy(acc), Bootstrap.accuracy(accNorm), tokens, seconds, note);
    }

    /** numpy's argmax (first maximum) of ll, or of ll / normLength when {@code norm} gives the choices. */
    static int argmax(double[] ll, McItem norm) {
        int best = 0;
        double bestValue = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < ll.length; i++) {
            double v = norm == null ? ll[i] : ll[i] / norm.choices().get(i).normLength();
            if (v > bestValue) {
                best = i;
                bestValue = v;
            }
        }
        return best;
    }
}
