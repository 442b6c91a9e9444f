package org.prunelab.report;

import org.prunelab.eval.Bootstrap;
import org.prunelab.run.EvalResult;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToDoubleFunction;

import static org.prunelab.report.TradeoffReport.fmt;

/**
 * The runs of one point of a sweep's grid that differ only in their calibration seed (a sweep with {@code seed: [0, 1, 2]}
 * runs each point once per seed, each its own run key), and how the trade-off report prints them: the mean over seeds,
 * their spread (min-max and count), and a single run (the first seed's) with its bootstrap interval over evaluation
 * windows. A point run with one seed prints as that run: its value and its interval.
 *
 * @param runs at least one, in the order the sweep listed them
 */
record SeedGroup(List<RunResult> runs) {
    SeedGroup {
        runs = List.copyOf(runs);
        if (runs.isEmpty()) throw new IllegalArgumentException("a seed group needs at least one run");
    }

    /** Groups {@code results} by their spec without the seed, in first-appearance order. */
    static List<SeedGroup> of(List<RunResult> results) {
        Map<String, List<RunResult>> groups = new LinkedHashMap<>();
        for (RunResult r : results) groups.computeIfAbsent(seedless(r.spec()), k -> new ArrayList<>()).add(r);
        return groups.values().stream().map(SeedGroup::new).toList();
    }

    private static String seedless(RunSpec s) {
        return new RunSpec(s.model(), s.method(), s.params(), s.calibration(), s.evaluation(), s.format(), s.bench(), 0,
                s.quantize(), s.tasks()).key();
    }

    /** The first seed's run: the spec every run of the group shares but for the seed, and the interval shown. */
    RunResult first() {
        return runs.getFirst();
    }

    int seeds() {
        return runs.size();
    }

    /** Mean of {@code f} over the runs where it is finite; NaN when it is finite in none. */
    double mean(ToDoubleFunction<RunResult> f) {
        double sum = 0;
        int n = 0;
        for (RunResult r : runs) {
            double v = f.applyAsDouble(r);
            if (Double.isFinite(v)) {
                sum += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** The headline (first evaluation set's) pruned / dense ratio, mean over seeds; NaN when no run evaluated. */
    double headlineRatio() {
        return mean(r -> r.evals().isEmpty() ? Double.NaN : r.evals().getFirst().pplRatio());
    }

    /** "72.28 [61.20, 85.03]", or with several seeds "71.90 (3 seeds: 70.80-72.28; seed 0: 72.28 [61.20, 85.03])"; "-" if none. */
    String perplexity(String dataset) {
        return cell(dataset, EvalResult::perplexity, EvalResult::perplexityInterval, "%.2f", "");
    }

    /** "1.70x [1.55, 1.88]", or with several seeds "1.69x (3 seeds: 1.65-1.72; seed 0: 1.70x [1.55, 1.88])"; "-" if none. */
    String ratio(String dataset) {
        return cell(dataset, EvalResult::pplRatio, EvalResult::ratioInterval, "%.2f", "x");
    }

    private String cell(String dataset, ToDoubleFunction<EvalResult> value,
                        java.util.function.Function<EvalResult, Bootstrap.Interval> interval, String format, String unit) {
        Optional<EvalResult> one = eval(first(), dataset);
        if (one.isEmpty()) return "-";
        Bootstrap.Interval ci = interval.apply(one.get());
        String single = fmt(format, value.applyAsDouble(one.get())) + unit + " "
                + (ci.defined() ? "[" + fmt(format, ci.lo()) + ", " + fmt(format, ci.hi()) + "]" : "[n/a]");
        if (seeds() == 1) return single;
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE, sum = 0;
        int n = 0;
        for (RunResult r : runs) {
            Optional<EvalResult> e = eval(r, dataset);
            if (e.isEmpty() || !Double.isFinite(value.applyAsDouble(e.get()))) continue;
            double v = value.applyAsDouble(e.get());
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            sum += v;
            n++;
        }
        if (n == 0) return "n/a";
        return fmt(format, sum / n) + unit + " (" + n + " seeds: " + fmt(format, lo) + "-" + fmt(format, hi) + "; seed "
                + first().spec().seed() + ": " + single + ")";
    }

    /**
     * Accuracy on task {@code label}: {@code "0.450 [0.300, 0.600]"} (the interval over items), or with several seeds
     * {@code "0.440 (3 seeds: 0.420-0.450; seed 0: 0.450 [0.300, 0.600])"}; "-" if no run scored it.
     */
    String accuracy(String label) {
        Optional<org.prunelab.eval.tasks.McResult> one = task(first(), label);
        if (one.isEmpty()) return "-";
        Bootstrap.Interval ci = one.get().acc();
        if (seeds() == 1) return ci.format(3);
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE, sum = 0;
        int n = 0;
        for (RunResult r : runs) {
            Optional<org.prunelab.eval.tasks.McResult> t = task(r, label);
            if (t.isEmpty()) continue;
            double v = t.get().acc().estimate();
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            sum += v;
            n++;
        }
        String bracket = ci.defined() ? "[" + fmt("%.3f", ci.lo()) + ", " + fmt("%.3f", ci.hi()) + "]" : "[n/a]";
        return fmt("%.3f", sum / n) + " (" + n + " seeds: " + fmt("%.3f", lo) + "-" + fmt("%.3f", hi) + "; seed "
                + first().spec().seed() + ": " + fmt("%.3f", ci.estimate()) + " " + bracket + ")";
    }

    /** Run {@code r}'s result on the task labelled {@code label} (the spec's task list and the results are parallel). */
    static Optional<org.prunelab.eval.tasks.McResult> task(RunResult r, String label) {
        for (int i = 0; i < r.tasks().size() && i < r.spec().tasks().size(); i++) {
            if (r.spec().tasks().get(i).label().equals(label)) return Optional.of(r.tasks().get(i));
        }
        return Optional.empty();
    }

    static Optional<EvalResult> eval(RunResult r, String dataset) {
        return r.evals().stream().filter(e -> e.dataset().equals(dataset)).findFirst();
    }
}
