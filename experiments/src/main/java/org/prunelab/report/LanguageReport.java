package org.prunelab.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.prunelab.eval.Bootstrap;
import org.prunelab.eval.tasks.McResult;
import org.prunelab.prune.Methods;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalResult;
import org.prunelab.run.RunResult;
import org.prunelab.sweep.SweepOutcome;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import static org.prunelab.report.TradeoffReport.fmt;

/**
 * {@code results/languages.md}: the language study of {@code experiments/sweeps/languages.yaml}. Per UDHR language:
 * the perplexity increase of every pruned model (pruned / dense on the same windows, paired 95% bootstrap interval),
 * the zero-shot accuracy drop on {@code udhr-next} (dense minus pruned on the same items, paired interval), the effect
 * of the calibration language, and a verdict on the seed's claim that low-resource languages degrade more: the mean
 * log perplexity ratio of the low-resource group minus the high-resource group, with a bootstrap interval over the
 * languages (stratified by group). Languages are grouped by {@link #LANGUAGES}' approximate web-text level, which this
 * report states and does not measure.
 */
public final class LanguageReport {
    private LanguageReport() {}

    /**
     * What the report knows about a UDHR translation.
     *
     * @param name     English name
     * @param script   writing system
     * @param resource approximate level of web text in the language: high, mid or low
     */
    record Language(String name, String script, String resource) {}

    /**
     * The study's languages. Resource levels are this report's coarse grouping by the share of web text in the language
     * (high: among the largest languages of Common Crawl; mid: hundreds of millions of speakers but a far smaller web
     * share; low: well under 0.1% of web text), the usual meaning of "low-resource" in the pruning papers; they are
     * stated, not measured here.
     */
    static final Map<String, Language> LANGUAGES = languages();

    private static Map<String, Language> languages() {
        Map<String, Language> m = new LinkedHashMap<>();
        m.put("eng", new Language("English", "Latin", "high"));
        m.put("fra", new Language("French", "Latin", "high"));
        m.put("rus", new Language("Russian", "Cyrillic", "high"));
        m.put("cmn_hans", new Language("Chinese (Mandarin, simplified)", "Han", "high"));
        m.put("vie", new Language("Vietnamese", "Latin with tone marks", "mid"));
        m.put("arb", new Language("Arabic (Standard)", "Arabic", "mid"));
        m.put("hin", new Language("Hindi", "Devanagari", "mid"));
        m.put("swh", new Language("Swahili", "Latin", "low"));
        m.put("yor", new Language("Yoruba", "Latin with tone marks", "low"));
        m.put("hau_NG", new Language("Hausa (Nigeria)", "Latin", "low"));
        return m;
    }

    private static final int GROUP_RESAMPLES = 2000;
    private static final double CHANCE = 0.25; // udhr-next has 4 choices

    /** One pruned model of the study, and what distinguishes it. */
    private record Model(RunResult run, String label, double sparsity, String calibration) {}

    /**
     * The report.
     *
     * @param outcome the sweep's results (a dense point and pruned points evaluated on {@code udhr:<code>} sets and
     *                {@code udhr-next:<code>} tasks)
     * @param header  Markdown paragraphs that say how the results were made (command, commit, settings, machine)
     * @param plots   file names of the plots beside the report, to link
     */
    public static String markdown(SweepOutcome outcome, String header, List<String> plots) {
        List<RunResult> results = outcome.results();
        StringBuilder md = new StringBuilder("# Pruning and languages: do low-resource languages degrade more?\n\n");
        md.append(header.strip()).append("\n\n");
        if (!outcome.failures().isEmpty()) {
            md.append("**Points that failed** (no numbers below):\n\n");
            outcome.failures().forEach(f -> md.append("- ").append(f).append('\n'));
            md.append('\n');
        }
        RunResult dense = results.stream().filter(r -> r.spec().method().equals(Methods.DENSE)).findFirst().orElse(null);
        if (dense == null) {
            md.append("No dense point has a result: nothing to compare with.\n");
            return md.toString();
        }
        List<String> codes = codes(dense);
        List<Model> all = models(results).stream().filter(m -> m.run().evals().size() > 1).toList();
        List<Model> own = models(results).stream().filter(m -> m.run().evals().size() == 1).toList();

        md.append("## The languages and the dense model\n\n")
                .append("Perplexity on the evaluation part of each UDHR translation (every 128-token window; the interval is over"
                        + " windows), and zero-shot accuracy on `udhr-next` (choose an article's true next third among 4;"
                        + " chance 0.25; the interval is over items). Resource level: this report's approximate grouping by"
                        + " web-text share, stated, not measured.\n\n")
                .append("| language | code | script | resource | windows | dense perplexity | udhr-next items | dense accuracy |\n")
                .append("|---|---|---|---|---:|---|---:|---|\n");
        for (String c : codes) {
            Language l = LANGUAGES.getOrDefault(c, new Language(c, "?", "?"));
            EvalResult e = eval(dense, c).orElseThrow();
            Optional<McResult> t = task(dense, c);
            md.append("| ").append(l.name()).append(" | ").append(c).append(" | ").append(l.script()).append(" | ")
                    .append(l.resource()).append(" | ").append(e.windows()).append(" | ")
                    .append(e.perplexityInterval().format(2)).append(" | ")
                    .append(t.map(x -> String.valueOf(x.items().size())).orElse("-")).append(" | ")
                    .append(t.map(x -> x.acc().format(3) + (x.acc().lo() <= CHANCE ? " (chance within)" : "")).orElse("-"))
                    .append(" |\n");
        }
        md.append('\n');

        for (double sparsity : new double[]{0.5, 0.3}) {
            List<Model> at = all.stream().filter(m -> Math.abs(m.sparsity() - sparsity) < 1e-9).toList();
            if (at.isEmpty()) continue;
            md.append("## Perplexity increase at ").append(fmt("%.0f%%", 100 * sparsity)).append(" sparsity (pruned / dense)\n\n")
                    .append("Each ratio's interval is paired: one bootstrap resample draws the same windows for the pruned and"
                            + " the dense model. Calibration in brackets in the column head.\n\n| language | resource |");
            at.forEach(m -> md.append(' ').append(m.label()).append(" (").append(m.calibration()).append(") |"));
            md.append("\n|---|---|").append("---|".repeat(at.size())).append('\n');
            for (String c : codes) {
                md.append("| ").append(c).append(" | ").append(resource(c)).append(" |");
                for (Model m : at) md.append(' ').append(eval(m.run(), c).map(LanguageReport::ratio).orElse("-")).append(" |");
                md.append('\n');
            }
            md.append('\n');
        }

        List<Model> scored = all.stream().filter(m -> !m.run().tasks().isEmpty()).toList();
        if (!scored.isEmpty()) {
            md.append("## Accuracy drop at 50% sparsity (dense minus pruned accuracy on udhr-next)\n\n")
                    .append("Paired over the same items (positive: the pruned model answers fewer correctly): the items the"
                            + " pruned model scored, the first of the dense model's (the column \"dense\" is the dense accuracy on"
                            + " those items). Where the dense model is at chance, accuracy has nowhere to fall and a drop cannot be"
                            + " seen; with a few tens of items per language an interval spans tenths, so read the rows together.\n\n| language | resource | items | dense |");
            scored.forEach(m -> md.append(' ').append(m.label()).append(" (").append(m.calibration()).append(") |"));
            md.append("\n|---|---|---:|---|").append("---|".repeat(scored.size())).append('\n');
            int items = scored.stream().flatMap(m -> m.run().tasks().stream()).mapToInt(t -> t.items().size()).min().orElse(0);
            for (String c : codes) {
                md.append("| ").append(c).append(" | ").append(resource(c)).append(" | ").append(items).append(" | ")
                        .append(task(dense, c).map(t -> fmt("%.3f", prefixAccuracy(t, items))).orElse("-")).append(" |");
                for (Model m : scored) md.append(' ').append(drop(dense, m.run(), c).map(i -> signed(i)).orElse("-")).append(" |");
                md.append('\n');
            }
            md.append('\n');
        }

        calibrationSection(md, codes, dense, all, own);
        verdict(md, codes, all);
        for (String p : plots) md.append("![").append(p).append("](").append(p).append(")\n\n");
        return md.toString();
    }

    /** Wanda at 50%: calibrated on English, on all ten languages, or on the language itself. */
    private static void calibrationSection(StringBuilder md, List<String> codes, RunResult dense, List<Model> all, List<Model> own) {
        List<Model> wanda = all.stream().filter(m -> m.run().spec().method().equals("wanda") && Math.abs(m.sparsity() - 0.5) < 1e-9).toList();
        if (own.isEmpty() && wanda.size() < 2) return;
        md.append("## Calibrating in the target language (Wanda, 50%)\n\n")
                .append("Perplexity ratio and accuracy drop of Wanda at 50% with each calibration set. \"own language\" is a"
                        + " separate model per language, calibrated on 4 x 128 tokens of that language's UDHR calibration part (the"
                        + " 10 articles never evaluated): a small set, so it is set beside Wanda on 4 x 128 tokens of Brown, the same"
                        + " amount of English.\n\n| language | resource |");
        wanda.forEach(m -> md.append(" ratio, ").append(m.calibration()).append(" |"));
        if (!own.isEmpty()) md.append(" ratio, own language 4x128 |");
        wanda.forEach(m -> md.append(" acc drop, ").append(m.calibration()).append(" |"));
        if (!own.isEmpty()) md.append(" acc drop, own language |");
        int cols = 2 * wanda.size() + (own.isEmpty() ? 0 : 2);
        md.append("\n|---|---|").append("---|".repeat(cols)).append('\n');
        for (String c : codes) {
            Optional<Model> mine = own.stream().filter(m -> eval(m.run(), c).isPresent()).findFirst();
            md.append("| ").append(c).append(" | ").append(resource(c)).append(" |");
            for (Model m : wanda) md.append(' ').append(eval(m.run(), c).map(LanguageReport::ratio).orElse("-")).append(" |");
            if (!own.isEmpty()) md.append(' ').append(mine.flatMap(m -> eval(m.run(), c)).map(LanguageReport::ratio).orElse("-")).append(" |");
            for (Model m : wanda) md.append(' ').append(drop(dense, m.run(), c).map(LanguageReport::signed).orElse("-")).append(" |");
            if (!own.isEmpty()) md.append(' ').append(mine.flatMap(m -> drop(dense, m.run(), c)).map(LanguageReport::signed).orElse("-")).append(" |");
            md.append('\n');
        }
        md.append('\n');
    }

    /**
     * The verdict: per pruned model, the geometric-mean perplexity ratio of each resource group, and the difference of the
     * low and high groups' mean log ratios with a 95% interval from resampling languages within each group.
     */
    private static void verdict(StringBuilder md, List<String> codes, List<Model> all) {
        md.append("## Verdict on the seed's claim (low-resource languages degrade more)\n\n")
                .append("Per pruned model: the geometric mean of the perplexity ratio over each resource group's languages, and"
                        + " low minus high as a factor (exp of the difference of mean log ratios) with a 95% interval from"
                        + " resampling the languages within each group (" + GROUP_RESAMPLES + " resamples, seeded; with 3-4"
                        + " languages per group the interval is wide, and it ignores the windows' own noise).\n\n")
                .append("| model | calibration | sparsity | high | mid | low | low / high | reading |\n|---|---|---:|---:|---:|---:|---|---|\n");
        int more = 0, less = 0, unclear = 0;
        for (Model m : all) {
            Map<String, List<Double>> logs = new LinkedHashMap<>();
            for (String g : List.of("high", "mid", "low")) logs.put(g, new ArrayList<>());
            for (String c : codes) {
                Optional<EvalResult> e = eval(m.run(), c);
                String g = resource(c);
                if (e.isPresent() && logs.containsKey(g) && e.get().pplRatio() > 0) logs.get(g).add(Math.log(e.get().pplRatio()));
            }
            double[] high = toArray(logs.get("high"));
            double[] low = toArray(logs.get("low"));
            if (high.length == 0 || low.length == 0) continue;
            Bootstrap.Interval diff = groupDifference(low, high);
            String reading;
            if (diff.lo() > 0) {
                reading = "low-resource degrade more";
                more++;
            } else if (diff.hi() < 0) {
                reading = "low-resource degrade less";
                less++;
            } else {
                reading = "no clear difference";
                unclear++;
            }
            md.append("| ").append(m.label()).append(" | ").append(m.calibration()).append(" | ")
                    .append(fmt("%.0f%%", 100 * m.sparsity())).append(" | ")
                    .append(geo(logs.get("high"))).append(" | ").append(geo(logs.get("mid"))).append(" | ").append(geo(logs.get("low")))
                    .append(" | ").append(fmt("%.2fx", Math.exp(diff.estimate()))).append(" [").append(fmt("%.2f", Math.exp(diff.lo())))
                    .append(", ").append(fmt("%.2f", Math.exp(diff.hi()))).append("] | ").append(reading).append(" |\n");
        }
        md.append("\n**Reading.** Of ").append(more + less + unclear).append(" pruned models, ").append(more)
                .append(" raise the low-resource languages' perplexity clearly more than the high-resource ones', ").append(less)
                .append(" clearly less, and ").append(unclear).append(" show no difference the interval can separate from none. ");
        if (more > less + unclear) {
            md.append("On this model the data supports the seed's claim for perplexity.");
        } else if (less > more + unclear) {
            md.append("On this model the data says the opposite of the seed's claim for perplexity.");
        } else {
            md.append("On this model the data does not support the seed's claim as a general rule: whether the low-resource"
                    + " group degrades more depends on the method and the sparsity.");
        }
        md.append(" A perplexity ratio compares each language with itself, but the dense model (English-centric, 135M"
                + " parameters) already barely knows the low-resource languages (see the first table), so their ratios start from"
                + " a high baseline; accuracy near chance cannot fall at all. These are SmolLM2-135M numbers, not the 7B models of"
                + " the seed's claim.\n\n");
    }

    /** exp(mean(low) - mean(high)) in log space, interval over languages resampled within each group. */
    static Bootstrap.Interval groupDifference(double[] low, double[] high) {
        double estimate = mean(low) - mean(high);
        if (low.length < 2 && high.length < 2) {
            return new Bootstrap.Interval(estimate, Double.NaN, Double.NaN, Bootstrap.DEFAULT_LEVEL, low.length + high.length, 0, Bootstrap.DEFAULT_SEED);
        }
        SplittableRandom rng = new SplittableRandom(Bootstrap.DEFAULT_SEED);
        double[] stats = new double[GROUP_RESAMPLES];
        for (int b = 0; b < GROUP_RESAMPLES; b++) stats[b] = resampledMean(low, rng) - resampledMean(high, rng);
        Arrays.sort(stats);
        return new Bootstrap.Interval(estimate, Bootstrap.quantile(stats, 0.025), Bootstrap.quantile(stats, 0.975), Bootstrap.DEFAULT_LEVEL,
                low.length + high.length, GROUP_RESAMPLES, Bootstrap.DEFAULT_SEED);
    }

    private static double resampledMean(double[] x, SplittableRandom rng) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[rng.nextInt(x.length)];
        return s / x.length;
    }

    /**
     * Perplexity increase per language at 50% sparsity, one series per pruned model evaluated on every language, on a log
     * axis with the paired intervals as error bars (XChart draws a log-axis bar as the factor covering the interval's
     * wider side).
     *
     * @return the PNG written, or null when there is no such model
     */
    public static Path perplexityPlot(List<RunResult> results, Path png) {
        RunResult dense = results.stream().filter(r -> r.spec().method().equals(Methods.DENSE)).findFirst().orElse(null);
        if (dense == null) return null;
        List<String> codes = codes(dense);
        List<Model> half = models(results).stream().filter(m -> m.run().evals().size() > 1 && Math.abs(m.sparsity() - 0.5) < 1e-9).toList();
        if (half.isEmpty()) return null;
        CategoryChart chart = new CategoryChartBuilder().width(1100).height(600)
                .title("Perplexity increase at 50% sparsity per language (SmolLM2-135M, UDHR)")
                .xAxisTitle("language (resource level)").yAxisTitle("pruned / dense perplexity (log scale; bars: 95% interval)").build();
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setErrorBarsColorSeriesColor(false);
        List<String> x = codes.stream().map(c -> c + " (" + resource(c) + ")").toList();
        double lowest = 1;
        java.util.Set<String> names = new java.util.HashSet<>();
        for (Model m : half) {
            List<Double> y = new ArrayList<>();
            List<Double> err = new ArrayList<>();
            for (String c : codes) {
                EvalResult e = eval(m.run(), c).orElse(null);
                double r = e == null ? 1 : e.pplRatio();
                y.add(r);
                err.add(e == null || !e.ratioInterval().defined() || e.ratioInterval().lo() <= 0 ? 1.0
                        : Math.max(e.ratioInterval().hi() / r, r / e.ratioInterval().lo()));
            }
            String name = TradeoffPlots.uniqueName(names, m.label() + " (" + m.calibration() + ")");
            names.add(name);
            chart.addSeries(name, x, y, err);
            for (int i = 0; i < y.size(); i++) lowest = Math.min(lowest, y.get(i) / err.get(i));
        }
        chart.getStyler().setYAxisMin(lowest / 2);
        return save(chart, png);
    }

    /**
     * udhr-next accuracy per language of the dense model and every pruned model that scored the tasks, with the intervals
     * over items as error bars (the wider side: XChart's bars are symmetric) and chance as a dashed reference in the title.
     *
     * @return the PNG written, or null when no model scored the tasks
     */
    public static Path accuracyPlot(List<RunResult> results, Path png) {
        RunResult dense = results.stream().filter(r -> r.spec().method().equals(Methods.DENSE)).findFirst().orElse(null);
        if (dense == null || dense.tasks().isEmpty()) return null;
        List<String> codes = codes(dense);
        CategoryChart chart = new CategoryChartBuilder().width(1100).height(600)
                .title("udhr-next accuracy per language, dense and 50% sparsity (chance = 0.25)")
                .xAxisTitle("language (resource level)").yAxisTitle("accuracy (bars: 95% interval over items)").build();
        chart.getStyler().setErrorBarsColorSeriesColor(false);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(1.0);
        List<String> x = codes.stream().map(c -> c + " (" + resource(c) + ")").toList();
        List<RunResult> runs = new ArrayList<>(List.of(dense));
        List<String> labels = new ArrayList<>(List.of("dense"));
        for (Model m : models(results)) {
            if (m.run().evals().size() > 1 && !m.run().tasks().isEmpty() && Math.abs(m.sparsity() - 0.5) < 1e-9) {
                runs.add(m.run());
                labels.add(m.label() + " (" + m.calibration() + ")");
            }
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < runs.size(); i++) {
            List<Double> y = new ArrayList<>();
            List<Double> err = new ArrayList<>();
            for (String c : codes) {
                Optional<McResult> t = task(runs.get(i), c);
                double a = t.map(v -> v.acc().estimate()).orElse(0.0);
                y.add(a);
                err.add(t.filter(v -> v.acc().defined()).map(v -> Math.max(v.acc().hi() - a, a - v.acc().lo())).orElse(0.0));
            }
            String name = TradeoffPlots.uniqueName(names, labels.get(i));
            names.add(name);
            chart.addSeries(name, x, y, err);
        }
        return save(chart, png);
    }

    private static Path save(CategoryChart chart, Path png) {
        try {
            String base = png.toString().replaceFirst("\\.png$", "");
            BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
            return Path.of(base + ".png");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }

    /** The pruned models, labelled by method (and pattern) and calibration. */
    private static List<Model> models(List<RunResult> results) {
        List<Model> out = new ArrayList<>();
        for (RunResult r : results) {
            if (r.spec().method().equals(Methods.DENSE) || r.evals().isEmpty()) continue;
            String label = r.spec().methodLabel() + (r.spec().pattern().equals("unstructured") ? "" : " " + r.spec().pattern());
            double sparsity = Double.isNaN(r.spec().sparsity()) ? r.requestedSparsity() : r.spec().sparsity();
            out.add(new Model(r, label, sparsity, calibration(r.spec().calibration())));
        }
        return out;
    }

    /** "brown 32x256", "UDHR x10 20x128", "udhr:swh 4x128". */
    private static String calibration(CalibrationSpec c) {
        if (c == null) return "none";
        String d = c.dataset();
        if (d.contains(",")) d = "UDHR x" + d.split(",").length;
        return d + " " + c.nsamples() + "x" + c.seqlen();
    }

    /** The UDHR codes the dense run evaluated, in order. */
    private static List<String> codes(RunResult dense) {
        return dense.evals().stream().map(EvalResult::dataset).filter(d -> d.startsWith("udhr:")).map(d -> d.substring(5)).toList();
    }

    private static Optional<EvalResult> eval(RunResult r, String code) {
        return SeedGroup.eval(r, "udhr:" + code);
    }

    private static Optional<McResult> task(RunResult r, String code) {
        return SeedGroup.task(r, "udhr-next:" + code);
    }

    /**
     * Dense minus pruned accuracy on the same items, paired: the items both scored (a task's first N items, so a run that
     * scored fewer pairs with the dense run's first ones; their ids must agree); empty when either did not score the task.
     */
    static Optional<Bootstrap.Interval> drop(RunResult dense, RunResult pruned, String code) {
        Optional<McResult> d = task(dense, code);
        Optional<McResult> p = task(pruned, code);
        if (d.isEmpty() || p.isEmpty()) return Optional.empty();
        int n = Math.min(d.get().items().size(), p.get().items().size());
        double[] a = new double[n];
        double[] b = new double[n];
        for (int i = 0; i < n; i++) {
            McResult.ItemResult x = d.get().items().get(i);
            McResult.ItemResult y = p.get().items().get(i);
            if (!x.id().equals(y.id())) return Optional.empty(); // not the same items: no paired comparison
            a[i] = x.correct() ? 1 : 0;
            b[i] = y.correct() ? 1 : 0;
        }
        return n == 0 ? Optional.empty() : Optional.of(Bootstrap.pairedDifference(a, b));
    }

    /** Accuracy over a task's first {@code n} items. */
    private static double prefixAccuracy(McResult t, int n) {
        int k = Math.min(n, t.items().size());
        if (k == 0) return Double.NaN;
        int right = 0;
        for (int i = 0; i < k; i++) if (t.items().get(i).correct()) right++;
        return right / (double) k;
    }

    private static String ratio(EvalResult e) {
        Bootstrap.Interval ci = e.ratioInterval();
        return fmt("%.2fx", e.pplRatio()) + (ci.defined() ? " [" + fmt("%.2f", ci.lo()) + ", " + fmt("%.2f", ci.hi()) + "]" : " [n/a]");
    }

    private static String signed(Bootstrap.Interval i) {
        return String.format(Locale.ROOT, "%+.3f", i.estimate()) + (i.defined()
                ? String.format(Locale.ROOT, " [%+.3f, %+.3f]", i.lo(), i.hi()) : " [n/a]");
    }

    private static String resource(String code) {
        Language l = LANGUAGES.get(code);
        return l == null ? "?" : l.resource();
    }

    private static String geo(List<Double> logs) {
        if (logs.isEmpty()) return "-";
        return fmt("%.2fx", Math.exp(mean(toArray(logs))));
    }

    private static double[] toArray(List<Double> x) {
        return x.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }
}
