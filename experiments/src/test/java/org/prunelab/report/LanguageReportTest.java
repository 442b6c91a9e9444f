package org.prunelab.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.eval.Bootstrap;
import org.prunelab.eval.tasks.McResult;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.run.TaskSpec;
import org.prunelab.sweep.SweepOutcome;
import org.prunelab.sweep.SweepSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The language report on synthetic results whose answer is known: the verdict, the paired accuracy drops, the plots. */
class LanguageReportTest {
    private static final List<String> CODES = List.of("eng", "fra", "rus", "swh", "yor", "hau_NG");
    private static final List<EvalSpec> EVAL = CODES.stream().map(c -> new EvalSpec("udhr:" + c, 128, 0)).toList();
    private static final List<TaskSpec> TASKS = CODES.stream().map(c -> new TaskSpec("udhr-next:" + c, 4)).toList();

    /** Every language's ratio is {@code high} for the high-resource codes and {@code low} for the low-resource ones. */
    private static RunResult result(RunSpec spec, double high, double low, boolean[] correct) {
        List<EvalResult> evals = new ArrayList<>();
        for (String c : CODES) {
            double ratio = spec.prunes() ? (LanguageReport.LANGUAGES.get(c).resource().equals("low") ? low : high) : 1;
            evals.add(new EvalResult("udhr:" + c, c, 128, 10, "evaluation", "part", 1280, 20 * ratio, 20, Math.log(20 * ratio), 1,
                    new Bootstrap.Interval(20 * ratio, 18 * ratio, 22 * ratio, 0.95, 10, 1000, 1),
                    new Bootstrap.Interval(ratio, 0.95 * ratio, 1.05 * ratio, 0.95, 10, 1000, 1)));
        }
        List<McResult> tasks = new ArrayList<>();
        for (String c : CODES) {
            List<McResult.ItemResult> items = new ArrayList<>();
            double[] acc = new double[correct.length];
            for (int i = 0; i < correct.length; i++) {
                items.add(new McResult.ItemResult("i" + i, 0, new double[]{-1, -2}, new boolean[]{true, false}, correct[i] ? 0 : 1, 0));
                acc[i] = correct[i] ? 1 : 0;
            }
            tasks.add(new McResult("udhr-next:" + c, items, Bootstrap.accuracy(acc), Bootstrap.accuracy(acc), 10, 1, "note"));
        }
        return new RunResult(spec, spec.sparsity(), spec.sparsity(), 100, 50, 400, 1, -1, Double.NaN, Double.NaN, Double.NaN,
                Double.NaN, Double.NaN, "dense", evals, List.of(), tasks);
    }

    private static RunSpec pruned(String method, double sparsity) {
        return RunSpec.pruning("smollm2-135m", method, Map.of("sparsity", sparsity), new CalibrationSpec("brown", 32, 256), EVAL,
                "dense", null, 0).withTasks(TASKS);
    }

    private static SweepOutcome outcome(List<RunResult> results) {
        SweepSpec spec = new SweepSpec("languages", "e", null, results.stream().map(RunResult::spec).toList(), null, "",
                Map.of(), Map.of(), SweepSpec.LANGUAGES);
        return new SweepOutcome(spec, results, results.size(), 0, List.of(), Optional.empty());
    }

    @Test
    void verdictFollowsTheData() {
        boolean[] all = {true, true, true, true};
        boolean[] half = {true, false, true, false};
        RunResult dense = result(RunSpec.dense("smollm2-135m", EVAL, "dense", null).withTasks(TASKS), 1, 1, all);
        RunResult worseLow = result(pruned("wanda", 0.5), 1.5, 3.0, half);
        RunResult worseHigh = result(pruned("sparsegpt", 0.5), 3.0, 1.5, all);
        String md = LanguageReport.markdown(outcome(List.of(dense, worseLow, worseHigh)), "header", List.of("p.png"));
        assertThat(md).contains("| wanda | brown 32x256 | 50% | 1.50x | - | 3.00x | 2.00x [2.00, 2.00] | low-resource degrade more |")
                .contains("| sparsegpt | brown 32x256 | 50% | 3.00x | - | 1.50x | 0.50x [0.50, 0.50] | low-resource degrade less |")
                .contains("Of 2 pruned models, 1 raise the low-resource languages' perplexity clearly more")
                .contains("| swh | low | 3.00x [2.85, 3.15] | 1.50x [1.42, 1.58] |")
                .contains("![p.png](p.png)");
        // accuracy: dense 4/4, wanda 2/4 on the same items: a drop of +0.5, paired; sparsegpt none
        assertThat(md).contains("| eng | high | 4 | 1.000 | +0.500 [+0.000, +1.000] | +0.000 [+0.000, +0.000] |");
        // a pruned run that scored the first 2 items pairs with the dense run's first 2
        RunResult firstTwo = result(pruned("wanda", 0.5), 1.5, 3.0, new boolean[]{false, false});
        assertThat(LanguageReport.drop(dense, firstTwo, "eng")).get().satisfies(i -> assertThat(i.estimate()).isEqualTo(1.0));
    }

    @Test
    void groupDifferenceResamplesLanguagesWithinGroups() {
        Bootstrap.Interval d = LanguageReport.groupDifference(new double[]{1, 2, 3}, new double[]{0, 0, 0, 0});
        assertThat(d.estimate()).isCloseTo(2, within(1e-12));
        assertThat(d.lo()).isGreaterThanOrEqualTo(1).isLessThan(2);
        assertThat(d.hi()).isGreaterThan(2).isLessThanOrEqualTo(3);
        assertThat(LanguageReport.groupDifference(new double[]{1, 2, 3}, new double[]{0, 0, 0, 0})).isEqualTo(d); // seeded
    }

    @Test
    void plotsAreWrittenWithALogAxisForRatios(@TempDir Path dir) {
        boolean[] all = {true, true, true, true};
        RunResult dense = result(RunSpec.dense("smollm2-135m", EVAL, "dense", null).withTasks(TASKS), 1, 1, all);
        List<RunResult> results = List.of(dense, result(pruned("wanda", 0.5), 1.5, 30000, all));
        Path ppl = LanguageReport.perplexityPlot(results, dir.resolve("languages-perplexity-increase.png"));
        Path acc = LanguageReport.accuracyPlot(results, dir.resolve("languages-accuracy.png"));
        assertThat(ppl).exists();
        assertThat(acc).exists();
        assertThat(Files.isRegularFile(ppl)).isTrue();
        assertThat(LanguageReport.perplexityPlot(List.of(dense), dir.resolve("none.png"))).isNull();
    }
}
