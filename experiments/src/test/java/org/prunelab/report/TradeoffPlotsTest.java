package org.prunelab.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.sweep.SweepOutcome;
import org.prunelab.sweep.SweepSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Method variants (OWL on and off, ...) are their own rows and series, not a crash of the plot library. */
class TradeoffPlotsTest {

    private static RunResult result(RunSpec spec, double ppl) {
        List<EvalResult> evals = List.of(new EvalResult("brown", "en", 64, 2, "evaluation", "part", 128, ppl, 40, Math.log(ppl), 1),
                new EvalResult("udhr:swh", "sw", 64, 2, "evaluation", "part", 128, ppl * 3, 120, Math.log(ppl * 3), 1));
        return new RunResult(spec, spec.sparsity(), spec.sparsity(), 100, 50, 400, 1, 1000, 0.01, 100, 1.0, 10, 1.0, "dense",
                evals, List.of());
    }

    @Test
    void owlOnAndOffAtTheSameSparsityAreTwoSeriesAndTwoRows(@TempDir Path tmp) {
        List<EvalSpec> e = List.of(new EvalSpec("brown", 64, 2), new EvalSpec("udhr:swh", 64, 2));
        RunSpec dense = RunSpec.dense("smollm2-135m", e, "dense", null);
        RunSpec plain = RunSpec.pruning("smollm2-135m", "wanda", Map.of("sparsity", 0.5), null, e, "dense", null, 0);
        RunSpec owl = RunSpec.pruning("smollm2-135m", "wanda", Map.of("sparsity", 0.5, "owl", true), null, e, "dense", null, 0);
        RunSpec seed1 = RunSpec.pruning("smollm2-135m", "wanda", Map.of("sparsity", 0.5), null, e, "dense", null, 1);
        List<RunResult> results = List.of(result(dense, 40), result(plain, 60), result(owl, 55), result(seed1, 61));
        assertThat(TradeoffPlots.perplexityVsSparsity(results, tmp.resolve("a.png"))).exists();
        assertThat(TradeoffPlots.languageIncrease(results, tmp.resolve("b.png"))).exists();
        SweepSpec spec = new SweepSpec("t", "e", null, results.stream().map(RunResult::spec).toList(), null, "", Map.of(), Map.of());
        String md = TradeoffReport.markdown(new SweepOutcome(spec, results, 4, 0, List.of(), Optional.empty()), "header", List.of());
        assertThat(md).contains("| wanda owl | unstructured | 0.50 |").contains("| wanda | unstructured | 0.50 |")
                .contains("| dense | dense |");
        assertThat(TradeoffPlots.uniqueName(java.util.Set.of("wanda unstructured"), "wanda unstructured")).isEqualTo("wanda unstructured (2)");
    }

    /** Two models: a side-by-side table keyed by the grid's values, each model's own sections, model-named series. */
    @Test
    void twoModelsAreSideBySideAndEachHasItsOwnTables(@TempDir Path tmp) {
        List<EvalSpec> e = List.of(new EvalSpec("brown", 64, 2), new EvalSpec("udhr:swh", 64, 2));
        List<RunResult> results = new java.util.ArrayList<>();
        for (String model : List.of("smollm2-135m", "gemma3-270m")) {
            results.add(result(RunSpec.dense(model, e, "dense", null), 40));
            results.add(result(RunSpec.pruning(model, "wanda", Map.of("sparsity", 0.5), null, e, "dense", null, 0),
                    model.startsWith("gemma") ? 100 : 60));
            results.add(result(RunSpec.pruning(model, "shortgpt", Map.of("sparsity", 0.2), null, e, "dense", null, 0), 80));
        }
        SweepSpec spec = new SweepSpec("t", "e", null, results.stream().map(RunResult::spec).toList(), null, "", Map.of(), Map.of());
        String md = TradeoffReport.markdown(new SweepOutcome(spec, results, 6, 0, List.of(), Optional.empty()), "header", List.of());

        assertThat(md).contains("## The models side by side", "| method | pattern | sparsity | smollm2-135m | gemma3-270m |",
                "| wanda | unstructured | 0.50 | 1.50x [n/a] (0.500) | 2.50x [n/a] (0.500) |", "| shortgpt | structured | 0.20 | 2.00x",
                "## Model smollm2-135m", "## Model gemma3-270m", "### Every point");
        assertThat(md.indexOf("## Model gemma3-270m")).isGreaterThan(md.indexOf("## Model smollm2-135m"));
        assertThat(TradeoffPlots.perplexityVsSparsity(results, tmp.resolve("a.png"))).exists();
        assertThat(TradeoffPlots.languageIncrease(results, tmp.resolve("b.png"))).exists();
    }
}
