package org.prunelab.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.prunelab.eval.Bootstrap;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.sweep.SweepOutcome;
import org.prunelab.sweep.SweepRunner;
import org.prunelab.sweep.SweepSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The trade-off report on synthetic run results: intervals beside every perplexity and ratio, the mean and spread over
 * calibration seeds, log axes and interval bars in the plots, and results stored before intervals existed.
 */
class TradeoffIntervalsTest {
    private static final List<EvalSpec> EVAL = List.of(new EvalSpec("brown", 64, 8), new EvalSpec("udhr:swh", 64, 8));
    private static final CalibrationSpec CALIB = new CalibrationSpec("brown", 16, 64);

    /** A result whose brown perplexity is {@code ppl} with interval [0.9 ppl, 1.1 ppl] and ratio ppl / 40 with [ratio - 0.1, ratio + 0.2]. */
    private static RunResult result(RunSpec spec, double ppl) {
        List<EvalResult> evals = new ArrayList<>();
        for (EvalSpec e : spec.evaluation()) {
            double p = e.dataset().equals("brown") ? ppl : ppl * 3;
            double dense = e.dataset().equals("brown") ? 40 : 120;
            double ratio = p / dense;
            evals.add(new EvalResult(e.dataset(), "en", 64, 8, "evaluation", "part", 512, p, dense, Math.log(p), 1,
                    new Bootstrap.Interval(p, 0.9 * p, 1.1 * p, 0.95, 8, 1000, 1),
                    spec.prunes() ? new Bootstrap.Interval(ratio, ratio - 0.1, ratio + 0.2, 0.95, 8, 1000, 1)
                            : new Bootstrap.Interval(1, 1, 1, 0.95, 8, 1000, 1)));
        }
        return new RunResult(spec, spec.sparsity(), spec.sparsity(), 100, 50, 400, 1, 1000, 0.01, 100, 1.0, 10, 1.0, "dense",
                evals, List.of());
    }

    private static RunSpec wanda(double sparsity, long seed) {
        return RunSpec.pruning("smollm2-135m", "wanda", Map.of("sparsity", sparsity), CALIB, EVAL, "dense", null, seed);
    }

    private static String markdown(List<RunResult> results) {
        SweepSpec spec = new SweepSpec("t", "e", null, results.stream().map(RunResult::spec).toList(), null, "", Map.of(), Map.of());
        return TradeoffReport.markdown(new SweepOutcome(spec, results, results.size(), 0, List.of(), Optional.empty()), "header", List.of());
    }

    @Test
    void aPointRunOnceShowsItsValueAndItsInterval() {
        String md = markdown(List.of(result(RunSpec.dense("smollm2-135m", EVAL, "dense", null), 40), result(wanda(0.5, 0), 60)));
        // Every point: perplexity [interval]; per language: ratio [paired interval]
        assertThat(md).contains("| 60.00 [54.00, 66.00] | 180.00 [162.00, 198.00] |")
                .contains("| wanda | unstructured | 0.50 | 1.50x [1.40, 1.70] | 1.50x [1.40, 1.70] |")
                .contains("| 40.00 [36.00, 44.00] |")
                .contains(TradeoffReport.INTERVALS)
                .doesNotContain("seeds:");
    }

    @Test
    void seedsOfOnePointAreOneRowWithMeanSpreadCountAndOneRunsInterval() {
        List<RunResult> results = List.of(result(RunSpec.dense("smollm2-135m", EVAL, "dense", null), 40),
                result(wanda(0.5, 0), 60), result(wanda(0.5, 1), 66), result(wanda(0.5, 2), 63));
        String md = markdown(results);
        // mean 63.00 of 60, 66, 63; spread 60.00-66.00 over 3 seeds; the interval is the first seed's run's
        assertThat(md).contains("| 63.00 (3 seeds: 60.00-66.00; seed 0: 60.00 [54.00, 66.00]) |")
                .contains("| wanda | unstructured | 0.50 | 1.58x (3 seeds: 1.50-1.65; seed 0: 1.50x [1.40, 1.70]) |");
        assertThat(md.lines().filter(l -> l.startsWith("| wanda | unstructured | 0.50 |"))).hasSize(2); // every point + per language
        // the seed table's quality retained uses the mean ratio over seeds: 40 / 63
        assertThat(md).contains("**63% (ppl 40.0 -> 63.0; all sets 63-63%; mean of 3 seeds)**");
    }

    @Test
    void chartsUseALogAxisAndCarryTheIntervals() {
        List<RunResult> results = List.of(result(RunSpec.dense("smollm2-135m", EVAL, "dense", null), 40),
                result(wanda(0.5, 0), 60), result(wanda(0.6, 0), 600),
                result(RunSpec.pruning("smollm2-135m", "magnitude", Map.of("sparsity", 0.5), null, EVAL, "dense", null, 0), 36_000 * 40));
        XYChart ppl = TradeoffPlots.perplexityChart(results);
        assertThat(ppl.getStyler().isYAxisLogarithmic()).isTrue();
        // two lines (wanda, magnitude) and one interval bar per pruned point, the bars out of the legend
        assertThat(ppl.getSeriesCollection()).hasSize(2 + 3);
        assertThat(ppl.getSeriesCollection().stream().filter(s -> !s.isShowInLegend())).hasSize(3);

        CategoryChart lang = TradeoffPlots.languageChart(results);
        assertThat(lang.getStyler().isYAxisLogarithmic()).isTrue();
        CategorySeries wanda = lang.getSeriesCollection().stream().filter(s -> s.getName().startsWith("wanda")).findFirst().orElseThrow();
        // ratio 1.5 with [1.4, 1.7]: on the log axis the bar is [1.5 / f, 1.5 f] with f the wider side's factor, 1.7 / 1.5
        assertThat(wanda.getExtraValues()).isNotNull();
        assertThat(wanda.getExtraValues()[0]).isCloseTo(1.7 / 1.5, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void manySeriesGetDistinctColoursAndALegendThatFits() {
        java.awt.Color[] colours = TradeoffPlots.distinctColors(21);
        assertThat(java.util.Set.of(colours)).hasSize(21);
        List<RunResult> results = new java.util.ArrayList<>(List.of(result(RunSpec.dense("smollm2-135m", EVAL, "dense", null), 40)));
        for (int m = 0; m < 25; m++) { // 25 models: 25 series at 50%, more than XChart's palette and its default legend room
            results.add(result(RunSpec.pruning("model-" + m, "magnitude", Map.of("sparsity", 0.5), null, EVAL, "dense", null, 0), 60 + m));
        }
        CategoryChart lang = TradeoffPlots.languageChart(results);
        assertThat(lang.getSeriesCollection()).hasSize(25);
        assertThat(lang.getHeight()).isGreaterThanOrEqualTo(100 + 30 * lang.getSeriesCollection().size());
    }

    @Test
    void chartsDrawToPng(@TempDir Path tmp) {
        List<RunResult> results = List.of(result(RunSpec.dense("smollm2-135m", EVAL, "dense", null), 40),
                result(wanda(0.5, 0), 60), result(wanda(0.5, 1), 62));
        assertThat(TradeoffPlots.perplexityVsSparsity(results, tmp.resolve("a.png"))).exists();
        assertThat(TradeoffPlots.languageIncrease(results, tmp.resolve("b.png"))).exists();
    }

    /** A point result stored as JSON before intervals existed reads back with undefined intervals, and the table says n/a. */
    @Test
    void resultsStoredWithoutIntervalsReadBackAsUndefined() throws Exception {
        RunResult r = result(wanda(0.5, 0), 60);
        var tree = (com.fasterxml.jackson.databind.node.ObjectNode) SweepRunner.JSON.valueToTree(r);
        for (var e : tree.withArray("evals")) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) e).remove(List.of("perplexityInterval", "ratioInterval"));
        }
        RunResult old = SweepRunner.JSON.treeToValue(tree, RunResult.class);
        assertThat(old.evals().getFirst().perplexityInterval().defined()).isFalse();
        assertThat(old.evals().getFirst().perplexity()).isEqualTo(60);
        assertThat(markdown(List.of(old))).contains("60.00 [n/a]");
        // and a result with intervals survives the round trip
        RunResult back = SweepRunner.JSON.readValue(SweepRunner.JSON.writeValueAsString(r), RunResult.class);
        assertThat(back.evals().getFirst().perplexityInterval()).isEqualTo(r.evals().getFirst().perplexityInterval());
    }
}
