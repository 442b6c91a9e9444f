package org.prunelab.sweep;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.eval.Bootstrap;
import org.prunelab.eval.tasks.McResult;
import org.prunelab.report.TradeoffReport;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.run.TaskSpec;
import org.prunelab.track.MlflowTrackingIntegrationTest;
import org.prunelab.track.RunTracking;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Multiple-choice tasks in sweep specs, run keys, MLflow metric names, stored results and the trade-off table. */
class SweepTasksTest {
    private static final SweepSpecLoader.Checks ANY = new SweepSpecLoader.Checks() {
        @Override public void model(String name) {}
        @Override public void dataset(String name) {}
    };

    @Test
    void aSpecsEvaluationTasksReachEveryPointAndTheKey() {
        SweepSpec spec = SweepSpecLoader.parse("""
                name: t
                model: smollm2-135m
                calibration: {dataset: brown, nsamples: 2, seqlen: 64}
                evaluation: {seqlen: 64, windows: 2, datasets: [brown], tasks: [udhr-next:eng, brown-next], task_items: 5}
                grid:
                  - method: dense
                  - method: wanda
                    sparsity: 0.5
                    quantize: [none, q8_0]
                """, "spec.yaml", null, ANY);
        assertThat(spec.points()).hasSize(3).allSatisfy(p -> assertThat(p.tasks())
                .containsExactly(new TaskSpec("udhr-next:eng", 5), new TaskSpec("brown-next", 5)));
        RunSpec p = spec.points().getFirst();
        assertThat(p.canonicalJson()).contains("\"tasks\":[{\"task\":\"udhr-next:eng\",\"task_items\":5}");
        assertThat(p.withTasks(List.of()).canonicalJson()).as("no tasks: the key of earlier runs").doesNotContain("tasks");
    }

    @Test
    void theQuickProfileScoresBrownNext() {
        SweepSpec quick = SweepSpecLoader.load(MlflowTrackingIntegrationTest.projectRoot().resolve("experiments/sweeps/tradeoff.yaml"),
                "quick", ANY);
        assertThat(quick.points()).allSatisfy(p -> assertThat(p.tasks()).containsExactly(new TaskSpec("brown-next", 20)));
    }

    @Test
    void taskLabelsAreMlflowSafeAndFileTasksKeepTheirFileName() {
        assertThat(new TaskSpec("hellaswag:/data/hs/val.jsonl", 0).label()).isEqualTo("hellaswag:val.jsonl");
        assertThat(new TaskSpec("udhr-next:swh", 0).label()).isEqualTo("udhr-next:swh");
        assertThat(new TaskSpec(" brown-next ", 0).task()).isEqualTo("brown-next");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new TaskSpec("brown-next", -1))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("0 (all) or positive");
    }

    @Test
    void metricsStoredResultAndTableCarryTheAccuracy() throws Exception {
        RunSpec spec = RunSpec.dense("smollm2-135m", List.of(new EvalSpec("brown", 64, 1)), "dense", null)
                .withTasks(List.of(new TaskSpec("udhr-next:swh", 4)));
        McResult task = result();
        RunResult r = new RunResult(spec, 0, 0, 10, 10, 40, 0, -1, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                Double.NaN, "dense", List.of(new EvalResult("brown", "en", 64, 1, "evaluation", "p", 64, 20, 20, 3, 1)),
                List.of(), List.of(task));
        assertThat(RunTracking.taskMetrics(r)).containsEntry("acc/udhr-next:swh", 0.75).containsEntry("acc_norm/udhr-next:swh", 0.5)
                .containsKeys("acc_lo/udhr-next:swh", "acc_hi/udhr-next:swh", "acc_norm_lo/udhr-next:swh")
                .containsEntry("task_items/udhr-next:swh", 4);
        RunResult back = SweepRunner.JSON.readValue(SweepRunner.JSON.writeValueAsString(r), RunResult.class);
        assertThat(back.spec().key()).isEqualTo(spec.key());
        assertThat(back.tasks().getFirst().correct()).containsExactly(1, 1, 1, 0);
        String md = TradeoffReport.markdown(new SweepOutcome(new SweepSpec("t", "e", null, List.of(spec), null, "", java.util.Map.of(),
                java.util.Map.of()), List.of(r), 1, 0, List.of(), Optional.empty()), "header", List.of());
        assertThat(md).contains("| acc udhr-next:swh |").contains(task.acc().format(3));
    }

    private static McResult result() {
        List<McResult.ItemResult> items = List.of(
                new McResult.ItemResult("a", 0, new double[]{-1, -2}, new boolean[]{true, false}, 0, 0),
                new McResult.ItemResult("b", 1, new double[]{-3, -2}, new boolean[]{false, true}, 1, 0),
                new McResult.ItemResult("c", 0, new double[]{-1, -5}, new boolean[]{true, false}, 0, 0),
                new McResult.ItemResult("d", 0, new double[]{-4, -2}, new boolean[]{false, true}, 1, 1));
        double[] acc = {1, 1, 1, 0};
        double[] norm = {1, 0, 1, 0};
        return new McResult("udhr-next:swh", items, Bootstrap.accuracy(acc), Bootstrap.accuracy(norm), 100, 1.0, "note");
    }
}
