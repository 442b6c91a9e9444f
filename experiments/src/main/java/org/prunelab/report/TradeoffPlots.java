package org.prunelab.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.prunelab.run.EvalResult;
import org.prunelab.run.RunResult;
import org.prunelab.prune.Methods;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The trade-off sweep's PNG plots, drawn headless with XChart. */
public final class TradeoffPlots {
    private TradeoffPlots() {}

    /**
     * Headline perplexity (first evaluation set, log scale) against target sparsity, one line per
     * unstructured method starting at the dense point, N:M points as separate markers: shows the collapse. Each point
     * carries its 95% bootstrap interval over the evaluation windows as a vertical bar (the first seed's run; with several
     * calibration seeds the point is their mean).
     *
     * @return the PNG written, or null when there is no pruned point to draw
     */
    public static Path perplexityVsSparsity(List<RunResult> results, Path png) {
        XYChart chart = perplexityChart(results);
        return chart == null ? null : save(chart, png);
    }

    /** The chart {@link #perplexityVsSparsity} draws, or null when there is no pruned point. */
    static XYChart perplexityChart(List<RunResult> results) {
        Map<String, RunResult> denseByModel = new LinkedHashMap<>();
        for (RunResult r : results) {
            if (r.spec().method().equals(Methods.DENSE) && !r.evals().isEmpty()) denseByModel.putIfAbsent(r.spec().model(), r);
        }
        Map<String, List<SeedGroup>> series = new LinkedHashMap<>();
        for (SeedGroup g : SeedGroup.of(results)) {
            RunResult r = g.first();
            if (r.spec().method().equals(Methods.DENSE) || r.evals().isEmpty()) continue;
            // One series per method variant (wanda, wanda owl, ...); N:M and structured points as markers of their own.
            String name = modelPrefix(results, r) + (r.spec().pattern().equals("unstructured") ? r.spec().methodLabel()
                    : r.spec().methodLabel() + " (" + r.spec().pattern() + ")");
            series.computeIfAbsent(name, k -> new ArrayList<>()).add(g);
        }
        if (series.isEmpty()) return null;
        String headline = series.values().iterator().next().getFirst().first().evals().getFirst().dataset();
        XYChart chart = new XYChartBuilder().width(900).height(560)
                .title("Perplexity vs sparsity (" + headline + ")").xAxisTitle("target sparsity")
                .yAxisTitle("perplexity (log scale; bars: 95% bootstrap interval)").build();
        chart.getStyler().setYAxisLogarithmic(true);
        java.awt.Color[] colors = chart.getStyler().getSeriesColors();
        int[] index = {0};
        series.forEach((name, points) -> {
            java.awt.Color color = colors[index[0]++ % colors.length];
            List<SeedGroup> sorted = new ArrayList<>(points);
            sorted.sort(Comparator.comparingDouble(p -> p.first().requestedSparsity()));
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            boolean line = points.getFirst().first().spec().pattern().equals("unstructured");
            RunResult dense = denseByModel.get(points.getFirst().first().spec().model());
            if (line && dense != null) {
                x.add(0.0);
                y.add(dense.evals().getFirst().perplexity());
            }
            for (SeedGroup p : sorted) {
                x.add(p.first().requestedSparsity());
                y.add(p.mean(r -> r.evals().getFirst().perplexity()));
            }
            XYSeries s = chart.addSeries(name, x, y);
            s.setLineColor(color);
            s.setMarkerColor(color);
            if (!line) s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            for (SeedGroup p : sorted) intervalBar(chart, name, p.first().requestedSparsity(),
                    p.first().evals().getFirst().perplexityInterval(), color);
        });
        return chart;
    }

    /** The interval [lo, hi] at {@code x} as a vertical segment in {@code color}, not in the legend (XChart's own error bars are symmetric). */
    private static void intervalBar(XYChart chart, String series, double x, org.prunelab.eval.Bootstrap.Interval ci, java.awt.Color color) {
        if (!ci.defined()) return;
        // The name is only a key (the bar is not in the legend); XChart refuses a name twice.
        XYSeries bar = chart.addSeries(series + " interval " + chart.getSeriesCollection().size(),
                new double[] {x, x}, new double[] {ci.lo(), ci.hi()});
        bar.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        bar.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        bar.setLineColor(color);
        bar.setShowInLegend(false);
    }

    /**
     * Perplexity increase (pruned / dense) per evaluation set for every pruned point at 50% sparsity
     * (unstructured 0.5 and N:M patterns): which languages suffer most. The y axis is logarithmic: the ratios span
     * orders of magnitude (1.5x to tens of thousands), which a linear axis flattens into the baseline. Error bars: the
     * paired 95% bootstrap interval of each ratio (XChart draws them symmetric on the log scale, so each bar takes the
     * interval's wider side as a factor: never shorter than the interval); with several seeds, a bar is the mean over seeds with the first seed's interval.
     *
     * @return the PNG written, or null when there is no such point
     */
    public static Path languageIncrease(List<RunResult> results, Path png) {
        CategoryChart chart = languageChart(results);
        return chart == null ? null : save(chart, png);
    }

    /** The chart {@link #languageIncrease} draws, or null when there is no point at 50%. */
    static CategoryChart languageChart(List<RunResult> results) {
        List<SeedGroup> half = SeedGroup.of(results).stream()
                .filter(g -> !g.first().spec().method().equals(Methods.DENSE) && Math.abs(g.first().requestedSparsity() - 0.5) < 1e-9)
                .toList();
        if (half.isEmpty()) return null;
        Set<String> datasets = new LinkedHashSet<>();
        half.forEach(g -> g.first().evals().forEach(e -> datasets.add(e.dataset())));
        // Sized to its content: ~6 px per bar across the sets, and a legend (one line of ~31 px per point, as XChart draws them) that fits;
        // at the fixed 1000 x 560 of before, a 21-point quick sweep cut its legend off and ran the set names together.
        int width = Math.max(1000, Math.min(2400, 200 + 300 + datasets.size() * (half.size() * 6 + 30)));
        int height = Math.max(560, Math.min(2400, 100 + half.size() * 31));
        CategoryChart chart = new CategoryChartBuilder().width(width).height(height)
                .title("Perplexity increase at 50% sparsity, per evaluation set").xAxisTitle("evaluation set")
                .yAxisTitle("perplexity / dense perplexity (log scale; bars: 95% interval)").build();
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setErrorBarsColorSeriesColor(false);
        Set<String> names = new java.util.HashSet<>();
        double lowest = 1; // bars start at the axis minimum, which a log axis needs above 0: below every bar and error bar
        for (SeedGroup g : half) {
            RunResult r = g.first();
            List<String> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            List<Double> err = new ArrayList<>();
            for (String d : datasets) {
                double ratio = g.mean(v -> SeedGroup.eval(v, d).map(EvalResult::pplRatio).orElse(Double.NaN));
                EvalResult e = SeedGroup.eval(r, d).orElse(null);
                x.add(d);
                // A missing set draws as 1 (no increase) on the log axis, where 0 has no place.
                y.add(Double.isFinite(ratio) ? ratio : 1.0);
                // On a log axis XChart draws an error bar e as [y / e, y * e] (log10 y -+ log10 e): the factor that covers
                // the interval's wider side. 1 draws nothing.
                err.add(e == null || !e.ratioInterval().defined() || !Double.isFinite(ratio) || e.ratioInterval().lo() <= 0 ? 1.0
                        : Math.max(e.ratioInterval().hi() / ratio, ratio / e.ratioInterval().lo()));
            }
            String name = uniqueName(names, modelPrefix(results, r) + r.spec().methodLabel() + " " + r.spec().pattern()
                    + (g.seeds() > 1 ? " (" + g.seeds() + " seeds)" : r.spec().seed() != 0 ? " seed " + r.spec().seed() : ""));
            names.add(name);
            chart.addSeries(name, x, y, err);
            for (int i = 0; i < y.size(); i++) lowest = Math.min(lowest, y.get(i) / err.get(i));
        }
        chart.getStyler().setYAxisMin(lowest / 2);
        chart.getStyler().setSeriesColors(distinctColors(half.size()));
        return chart;
    }

    /**
     * {@code n} colours that differ pairwise: hues evenly spaced around the circle, brightness alternating between two
     * levels so neighbouring hues stay apart (XChart's own palette has a dozen colours and repeats them, so a 20-point
     * sweep drew two series in the same green).
     */
    static java.awt.Color[] distinctColors(int n) {
        java.awt.Color[] c = new java.awt.Color[Math.max(1, n)];
        for (int i = 0; i < c.length; i++) {
            c[i] = java.awt.Color.getHSBColor((float) i / c.length, i % 2 == 0 ? 0.85f : 0.55f, i % 2 == 0 ? 0.80f : 0.60f);
        }
        return c;
    }

    /** {@code name}, or {@code name (2)}, {@code name (3)} when a series of that name exists (XChart refuses repeats). */
    /** "model: " in front of series names when the results span several models, else nothing. */
    private static String modelPrefix(List<RunResult> results, RunResult r) {
        return results.stream().map(x -> x.spec().model()).distinct().count() > 1 ? r.spec().model() + ": " : "";
    }

    static String uniqueName(java.util.Set<String> taken, String name) {
        if (!taken.contains(name)) return name;
        for (int i = 2; ; i++) if (!taken.contains(name + " (" + i + ")")) return name + " (" + i + ")";
    }

    private static Path save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path png) {
        try {
            Path abs = png.toAbsolutePath();
            Files.createDirectories(abs.getParent());
            Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp.png");
            BitmapEncoder.saveBitmap(chart, tmp.toString(), BitmapEncoder.BitmapFormat.PNG);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return abs;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write plot " + png, e);
        }
    }
}
