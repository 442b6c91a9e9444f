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
     * unstructured method starting at the dense point, N:M points as separate markers: shows the collapse.
     *
     * @return the PNG written, or null when there is no pruned point to draw
     */
    public static Path perplexityVsSparsity(List<RunResult> results, Path png) {
        Map<String, RunResult> denseByModel = new LinkedHashMap<>();
        for (RunResult r : results) {
            if (r.spec().method().equals(Methods.DENSE) && !r.evals().isEmpty()) denseByModel.putIfAbsent(r.spec().model(), r);
        }
        Map<String, List<RunResult>> series = new LinkedHashMap<>();
        for (RunResult r : results) {
            if (r.spec().method().equals(Methods.DENSE) || r.evals().isEmpty()) continue;
            // One series per method variant (wanda, wanda owl, ...); N:M and structured points as markers of their own.
            String name = modelPrefix(results, r) + (r.spec().pattern().equals("unstructured") ? r.spec().methodLabel()
                    : r.spec().methodLabel() + " (" + r.spec().pattern() + ")");
            series.computeIfAbsent(name, k -> new ArrayList<>()).add(r);
        }
        if (series.isEmpty()) return null;
        String headline = series.values().iterator().next().getFirst().evals().getFirst().dataset();
        XYChart chart = new XYChartBuilder().width(900).height(560)
                .title("Perplexity vs sparsity (" + headline + ")").xAxisTitle("target sparsity")
                .yAxisTitle("perplexity (log scale)").build();
        chart.getStyler().setYAxisLogarithmic(true);
        series.forEach((name, points) -> {
            List<RunResult> sorted = new ArrayList<>(points);
            sorted.sort(Comparator.comparingDouble(p -> p.requestedSparsity()));
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            boolean line = points.getFirst().spec().pattern().equals("unstructured");
            RunResult dense = denseByModel.get(points.getFirst().spec().model());
            if (line && dense != null) {
                x.add(0.0);
                y.add(dense.evals().getFirst().perplexity());
            }
            for (RunResult p : sorted) {
                x.add(p.requestedSparsity());
                y.add(p.evals().getFirst().perplexity());
            }
            XYSeries s = chart.addSeries(name, x, y);
            if (!line) s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        });
        return save(chart, png);
    }

    /**
     * Perplexity increase (pruned / dense) per evaluation set for every pruned point at 50% sparsity
     * (unstructured 0.5 and N:M patterns): which languages suffer most.
     *
     * @return the PNG written, or null when there is no such point
     */
    public static Path languageIncrease(List<RunResult> results, Path png) {
        List<RunResult> half = results.stream()
                .filter(r -> !r.spec().method().equals(Methods.DENSE) && Math.abs(r.requestedSparsity() - 0.5) < 1e-9)
                .toList();
        if (half.isEmpty()) return null;
        Set<String> datasets = new LinkedHashSet<>();
        half.forEach(r -> r.evals().forEach(e -> datasets.add(e.dataset())));
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(560)
                .title("Perplexity increase at 50% sparsity, per evaluation set").xAxisTitle("evaluation set")
                .yAxisTitle("perplexity / dense perplexity").build();
        Set<String> names = new java.util.HashSet<>();
        for (RunResult r : half) {
            List<String> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            for (String d : datasets) {
                EvalResult e = r.evals().stream().filter(v -> v.dataset().equals(d)).findFirst().orElse(null);
                x.add(d);
                y.add(e == null ? 0.0 : e.pplRatio());
            }
            String name = uniqueName(names, modelPrefix(results, r) + r.spec().methodLabel() + " " + r.spec().pattern()
                    + (r.spec().seed() != 0 ? " seed " + r.spec().seed() : ""));
            names.add(name);
            chart.addSeries(name, x, y);
        }
        return save(chart, png);
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
