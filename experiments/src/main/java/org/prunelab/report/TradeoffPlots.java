package org.prunelab.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.prunelab.sweep.EvalResult;
import org.prunelab.sweep.PointResult;
import org.prunelab.sweep.SweepMethods;

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
    public static Path perplexityVsSparsity(List<PointResult> results, Path png) {
        PointResult dense = results.stream().filter(r -> r.spec().method().equals(SweepMethods.DENSE)).findFirst().orElse(null);
        Map<String, List<PointResult>> series = new LinkedHashMap<>();
        for (PointResult r : results) {
            if (r.spec().method().equals(SweepMethods.DENSE) || r.evals().isEmpty()) continue;
            String name = r.spec().pattern().equals("unstructured") ? r.spec().method()
                    : r.spec().method() + " " + r.spec().pattern();
            series.computeIfAbsent(name, k -> new ArrayList<>()).add(r);
        }
        if (series.isEmpty()) return null;
        String headline = series.values().iterator().next().getFirst().evals().getFirst().dataset();
        XYChart chart = new XYChartBuilder().width(900).height(560)
                .title("Perplexity vs sparsity (" + headline + ")").xAxisTitle("target sparsity")
                .yAxisTitle("perplexity (log scale)").build();
        chart.getStyler().setYAxisLogarithmic(true);
        series.forEach((name, points) -> {
            List<PointResult> sorted = new ArrayList<>(points);
            sorted.sort(Comparator.comparingDouble(p -> p.spec().sparsity()));
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            boolean line = !name.contains(" ");
            if (line && dense != null) {
                x.add(0.0);
                y.add(dense.evals().getFirst().perplexity());
            }
            for (PointResult p : sorted) {
                x.add(p.spec().sparsity());
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
    public static Path languageIncrease(List<PointResult> results, Path png) {
        List<PointResult> half = results.stream()
                .filter(r -> !r.spec().method().equals(SweepMethods.DENSE) && Math.abs(r.spec().sparsity() - 0.5) < 1e-9)
                .toList();
        if (half.isEmpty()) return null;
        Set<String> datasets = new LinkedHashSet<>();
        half.forEach(r -> r.evals().forEach(e -> datasets.add(e.dataset())));
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(560)
                .title("Perplexity increase at 50% sparsity, per evaluation set").xAxisTitle("evaluation set")
                .yAxisTitle("perplexity / dense perplexity").build();
        for (PointResult r : half) {
            List<String> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            for (String d : datasets) {
                EvalResult e = r.evals().stream().filter(v -> v.dataset().equals(d)).findFirst().orElse(null);
                x.add(d);
                y.add(e == null ? 0.0 : e.pplRatio());
            }
            chart.addSeries(r.spec().method() + " " + r.spec().pattern(), x, y);
        }
        return save(chart, png);
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
