package org.prunelab.report;

import org.prunelab.run.EvalResult;
import org.prunelab.run.RunResult;
import org.prunelab.prune.Methods;
import org.prunelab.sweep.SweepOutcome;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * {@code results/tradeoff.md}: the seed's structured-vs-unstructured table with this machine's measured
 * values beside the seed's claims, then every point's numbers and the per-language perplexity increase.
 * "Sparsity reached" is the highest target sparsity whose headline perplexity (first evaluation set) stays
 * within {@value #COLLAPSE_RATIO}x dense; "quality retained" is dense perplexity / pruned perplexity.
 */
public final class TradeoffReport {
    /** How the tables' intervals and seed spreads read (printed above the table of every point). */
    static final String INTERVALS = "Perplexities: the value, then in brackets its 95% bootstrap interval over the evaluation"
            + " windows of the set (percentile bootstrap, 1000 resamples, seed " + org.prunelab.eval.Bootstrap.DEFAULT_SEED
            + "; the windows per set are in the header; \"n/a\" with fewer than 2). A point run with several calibration seeds"
            + " shows the mean over seeds, the seeds' min-max and count, and one run (the first seed's) with its interval; its"
            + " other columns are means over seeds.";

    /** Perplexity ratio above which a point counts as collapsed. */
    static final double COLLAPSE_RATIO = 2.0;

    private TradeoffReport() {}

    /**
     * @param header  Markdown paragraphs that say how the table was made (command, settings, machine)
     * @param plots   file names of the plots beside the table, to link (may be empty)
     */
    public static String markdown(SweepOutcome outcome, String header, List<String> plots) {
        List<RunResult> results = outcome.results();
        StringBuilder md = new StringBuilder("# Structured vs unstructured pruning: the trade-off, measured\n\n");
        md.append(header.strip()).append("\n\n");
        if (!outcome.failures().isEmpty()) {
            md.append("**Points that failed** (no numbers below):\n\n");
            outcome.failures().forEach(f -> md.append("- ").append(f).append('\n'));
            md.append('\n');
        }
        if (outcome.missingResults() > 0) {
            md.append("Note: ").append(outcome.missingResults()).append(" point(s) finished in MLflow by another machine"
                    + " have no local result and are left out.\n\n");
        }
        Map<String, List<RunResult>> byModel = new LinkedHashMap<>();
        for (RunResult r : results) byModel.computeIfAbsent(r.spec().model(), k -> new ArrayList<>()).add(r);
        if (byModel.size() <= 1) {
            seedTable(md, results, "##");
            pointTable(md, results, "##");
            languageTable(md, results, "##");
        } else {
            sideBySide(md, byModel);
            for (Map.Entry<String, List<RunResult>> m : byModel.entrySet()) {
                md.append("## Model ").append(m.getKey()).append("\n\n");
                seedTable(md, m.getValue(), "###");
                pointTable(md, m.getValue(), "###");
                languageTable(md, m.getValue(), "###");
            }
        }
        for (String p : plots) md.append("![").append(p).append("](").append(p).append(")\n\n");
        return md.toString();
    }

    /**
     * One row per point of the grid (method, pattern, sparsity), one column group per model: perplexity on the
     * headline set, pruned / dense, and the actual sparsity reached.
     */
    private static void sideBySide(StringBuilder md, Map<String, List<RunResult>> byModel) {
        md.append("## The models side by side\n\nPer point: headline perplexity, pruned / dense (headline set: each model's first"
                + " evaluation set, the same in every column here) with its paired 95% bootstrap interval over the evaluation"
                + " windows, and in parentheses the actual sparsity of the blocks' linears.\n\n| method | pattern | sparsity |");
        byModel.keySet().forEach(m -> md.append(' ').append(m).append(" |"));
        md.append("\n|---|---|---|").append("---|".repeat(byModel.size())).append('\n');
        Map<String, Map<String, SeedGroup>> rows = new LinkedHashMap<>();
        for (Map.Entry<String, List<RunResult>> m : byModel.entrySet()) {
            for (SeedGroup g : SeedGroup.of(m.getValue())) {
                RunResult r = g.first();
                // The grid's value (shortgpt 0.20 removes 4 of Gemma's 18 blocks, 0.22, and 6 of SmolLM2's 30): one row.
                double asked = Double.isNaN(r.spec().sparsity()) ? r.requestedSparsity() : r.spec().sparsity();
                String key = r.spec().methodLabel() + " | " + r.spec().pattern() + " | " + fmt("%.2f", asked);
                rows.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(m.getKey(), g);
            }
        }
        for (Map.Entry<String, Map<String, SeedGroup>> row : rows.entrySet()) {
            md.append("| ").append(row.getKey()).append(" |");
            for (String model : byModel.keySet()) {
                SeedGroup g = row.getValue().get(model);
                RunResult r = g == null ? null : g.first();
                String cell = r == null || r.evals().isEmpty() ? "-"
                        : r.spec().prunes() ? g.ratio(r.evals().getFirst().dataset()) + " (" + fmt("%.3f", g.mean(RunResult::actualSparsity)) + ")"
                        : "ppl " + g.perplexity(r.evals().getFirst().dataset());
                md.append(' ').append(cell).append(" |");
            }
            md.append('\n');
        }
        md.append('\n');
    }

    private static void seedTable(StringBuilder md, List<RunResult> results, String level) {
        md.append(level).append(" The seed's table, with this machine's measurements\n\n")
                .append("Each cell: the seed's claim where it made one, then **measured** here. Speed: pruned / dense in the"
                        + " same sweep on this CPU, prefill and batch-1 decode, each linear in the execution format"
                        + " `--format auto` picks (named in the table of points). Headline evaluation set: ")
                .append(results.isEmpty() || results.getFirst().evals().isEmpty() ? "-" : results.getFirst().evals().getFirst().dataset())
                .append(".\n\n")
                .append("| what gets removed | method | hardware needed | speedup on regular hardware | sparsity reached |"
                        + " quality retained at 50% | memory overhead while pruning |\n|---|---|---|---|---|---|---|\n");
        Map<String, List<SeedGroup>> groups = new LinkedHashMap<>();
        for (SeedGroup p : SeedGroup.of(results)) {
            RunResult r = p.first();
            if (r.spec().method().equals(Methods.DENSE)) continue;
            groups.computeIfAbsent(family(r.spec().pattern()) + "|" + r.spec().methodLabel(), k -> new ArrayList<>()).add(p);
        }
        for (Map.Entry<String, List<SeedGroup>> g : groups.entrySet()) {
            String family = g.getKey().substring(0, g.getKey().indexOf('|'));
            String method = g.getKey().substring(g.getKey().indexOf('|') + 1);
            List<SeedGroup> points = g.getValue();
            List<RunResult> pts = points.stream().flatMap(p -> p.runs().stream()).toList();
            String removed = switch (family) {
                case "unstructured" -> "single weights, anywhere";
                case "structured" -> "whole heads, channels or blocks";
                default -> "2 of every 4 weights (" + pts.getFirst().spec().pattern() + ")";
            };
            String hardware = switch (family) {
                case "unstructured" -> "none to run; sparse kernels to gain";
                case "structured" -> "none (the model is smaller)";
                default -> "sparse tensor cores (GPU) to gain";
            };
            String claimSpeed = switch (family) {
                case "unstructured", "n:m" -> "seed: 0.5-1.3x without sparse tensor cores; ";
                default -> "seed: 1.5-2x on regular hardware; ";
            };
            String claimSparsity = family.equals("unstructured") ? "seed: collapse above 60%; " : "";
            md.append("| ").append(removed).append(" | ").append(method).append(" | ").append(hardware).append(" | ")
                    .append(claimSpeed).append("**prefill ").append(range(pts, RunResult::speedupPrefill, "%.2fx"))
                    .append(", decode ").append(range(pts, RunResult::speedupDecode, "%.2fx")).append("** | ")
                    .append(claimSparsity).append("**").append(sparsityReached(points)).append("** | **")
                    .append(qualityAtHalf(points)).append("** | **")
                    .append(range(pts, r -> Math.max(0, r.memoryOverheadRatio()), "%.2f")).append(" x model** |\n");
        }
        if (groups.keySet().stream().noneMatch(k -> k.startsWith("structured"))) {
            md.append("| whole heads, channels or blocks | (no structured point has a result in this sweep) |"
                    + " none (the model is smaller) | seed: 1.5-2x on regular hardware; **not measured** | **not measured** |"
                    + " **not measured** | **not measured** |\n");
        }
        md.append("\nMemory overhead = (peak resident memory while pruning - before) / fp32 model size (a negative"
                + " reading, memory the collector gave back, shows as 0). "
                + "Sparsity reached = highest target sparsity with headline perplexity within ")
                .append(fmt("%.0f", COLLAPSE_RATIO)).append("x dense (actual sparsity of the pruned linears in the next table;"
                        + " with several calibration seeds, the mean over seeds).\n\n");
    }

    private static void pointTable(StringBuilder md, List<RunResult> results, String level) {
        Set<String> datasets = datasets(results);
        md.append(level).append(" Every point\n\n").append(INTERVALS).append("\n\n| method | pattern | sparsity | actual sparsity | prune s | memory overhead |"
                + " format | prefill tokens/s | prefill speedup | decode tokens/s | decode speedup |");
        datasets.forEach(d -> md.append(" ppl ").append(d).append(" |"));
        Set<String> tasks = tasks(results);
        tasks.forEach(t -> md.append(" acc ").append(t).append(" |"));
        md.append("\n|---|---|---|---|---|---|---|---|---|---|---|").append("---|".repeat(datasets.size() + tasks.size())).append('\n');
        for (SeedGroup g : SeedGroup.of(results)) {
            RunResult r = g.first();
            md.append("| ").append(r.spec().methodLabel()).append(" | ").append(r.spec().pattern()).append(" | ")
                    .append(fmt("%.2f", r.requestedSparsity())).append(" | ").append(fmt("%.4f", g.mean(RunResult::actualSparsity))).append(" | ")
                    .append(fmt("%.1f", g.mean(RunResult::pruneSeconds))).append(" | ").append(fmt("%.3f", g.mean(RunResult::memoryOverheadRatio))).append(" | ")
                    .append(r.format() == null ? "-" : r.format()).append(" | ")
                    .append(fmt("%.0f", g.mean(RunResult::prefillTokensPerS))).append(" | ").append(speedup(r, g.mean(RunResult::speedupPrefill))).append(" | ")
                    .append(fmt("%.1f", g.mean(RunResult::decodeTokensPerS))).append(" | ").append(speedup(r, g.mean(RunResult::speedupDecode))).append(" |");
            for (String d : datasets) md.append(' ').append(g.perplexity(d)).append(" |");
            for (String t : tasks) md.append(' ').append(g.accuracy(t)).append(" |");
            md.append('\n');
        }
        if (!tasks.isEmpty()) {
            md.append("\nacc: zero-shot multiple-choice accuracy (lm-eval log-likelihood scoring) with its 95% bootstrap"
                    + " interval over items; the task column names the task and its items are in each run's result.\n");
        }
        md.append('\n');
    }

    /** The multiple-choice task labels of the results, in first-seen order. */
    private static Set<String> tasks(List<RunResult> results) {
        Set<String> t = new LinkedHashSet<>();
        for (RunResult r : results) r.spec().tasks().forEach(s -> t.add(s.label()));
        return t;
    }

    private static void languageTable(StringBuilder md, List<RunResult> results, String level) {
        Set<String> datasets = datasets(results);
        md.append(level).append(" Perplexity increase per language (pruned / dense)\n\nEach ratio's interval is paired: one"
                + " bootstrap resample draws the same windows for the pruned and the dense model.\n\n| method | pattern | sparsity |");
        datasets.forEach(d -> md.append(' ').append(d).append(" |"));
        md.append("\n|---|---|---|").append("---|".repeat(datasets.size())).append('\n');
        for (SeedGroup g : SeedGroup.of(results)) {
            RunResult r = g.first();
            if (r.spec().method().equals(Methods.DENSE)) continue;
            md.append("| ").append(r.spec().methodLabel()).append(" | ").append(r.spec().pattern()).append(" | ")
                    .append(fmt("%.2f", r.requestedSparsity())).append(" |");
            for (String d : datasets) md.append(' ').append(g.ratio(d)).append(" |");
            md.append('\n');
        }
        md.append('\n');
    }

    private static String family(String pattern) {
        return pattern.equals("unstructured") || pattern.equals("structured") ? pattern : "n:m";
    }

    private static String sparsityReached(List<SeedGroup> pts) {
        double reached = -1;
        SeedGroup worst = null;
        for (SeedGroup p : pts) {
            double ratio = p.headlineRatio();
            if (Double.isNaN(ratio)) continue;
            if (ratio <= COLLAPSE_RATIO) reached = Math.max(reached, p.first().requestedSparsity());
            if (worst == null || p.first().requestedSparsity() > worst.first().requestedSparsity()) worst = p;
        }
        String s = reached < 0 ? "none within " + fmt("%.0f", COLLAPSE_RATIO) + "x" : fmt("%.0f%%", 100 * reached);
        if (worst != null && pts.size() > 1) {
            s += " (at " + fmt("%.0f%%", 100 * worst.first().requestedSparsity()) + ": " + fmt("%.1f", worst.headlineRatio()) + "x dense)";
        }
        return s;
    }

    /** At the 50% point (means over seeds where there are several): quality retained on the headline set and all sets' range. */
    private static String qualityAtHalf(List<SeedGroup> pts) {
        for (SeedGroup g : pts) {
            RunResult p = g.first();
            if (Math.abs(p.requestedSparsity() - 0.5) < 1e-9 && !p.evals().isEmpty()) {
                double lo = Double.MAX_VALUE;
                double hi = -Double.MAX_VALUE;
                for (EvalResult v : p.evals()) {
                    double retained = 1 / g.mean(r -> SeedGroup.eval(r, v.dataset()).map(EvalResult::pplRatio).orElse(Double.NaN));
                    lo = Math.min(lo, retained);
                    hi = Math.max(hi, retained);
                }
                return fmt("%.0f%%", 100 / g.headlineRatio()) + " (ppl "
                        + fmt("%.1f", g.mean(r -> r.evals().getFirst().perplexityDense())) + " -> "
                        + fmt("%.1f", g.mean(r -> r.evals().getFirst().perplexity())) + "; all sets " + fmt("%.0f", 100 * lo)
                        + "-" + fmt("%.0f%%", 100 * hi) + (g.seeds() > 1 ? "; mean of " + g.seeds() + " seeds" : "") + ")";
            }
        }
        return "no 50% point";
    }

    private static String range(List<RunResult> pts, ToDoubleFunction<RunResult> f, String format) {
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (RunResult p : pts) {
            double v = f.applyAsDouble(p);
            if (!Double.isFinite(v)) continue;
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        if (lo > hi) return "n/a";
        return fmt(format, lo).equals(fmt(format, hi)) ? fmt(format, lo) : fmt(format, lo).replace("x", "") + "-" + fmt(format, hi);
    }

    private static Set<String> datasets(List<RunResult> results) {
        Set<String> d = new LinkedHashSet<>();
        results.forEach(r -> r.evals().forEach(e -> d.add(e.dataset())));
        return d;
    }

    /** Formats v, printing "n/a" for NaN/infinite and never "-0" (a tiny negative reading rounds to plain 0). */
    /** A speedup, or 1.00x for the dense row (the baseline the others divide by). */
    private static String speedup(RunResult r, double v) {
        return r.spec().prunes() ? fmt("%.2fx", v) : "1.00x";
    }

    static String fmt(String format, double v) {
        if (!Double.isFinite(v)) return "n/a";
        String s = String.format(Locale.ROOT, format, v);
        return s.matches("-0(\\.0*)?(x)?") ? s.substring(1) : s;
    }
}
