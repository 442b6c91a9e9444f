package org.prunelab.run;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.prunelab.Progress;
import org.prunelab.cache.Artifacts;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.eval.Bootstrap;
import org.prunelab.track.RunTracking;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bootstrap intervals through the real pipeline on SmolLM2-135M (magnitude 50%: no calibration, so the test stays
 * short): every evaluation carries its perplexity's interval over the windows and the paired interval of its ratio to
 * dense; the same run twice gives the same intervals bit for bit.
 */
class PipelineIntervalsTest {
    private static final List<EvalSpec> EVAL = List.of(new EvalSpec("brown", 64, 6), new EvalSpec("udhr:swh", 64, 6));
    private static PrunelabHome home;

    @BeforeAll
    static void needsTheModel() {
        home = PrunelabHome.fromEnvironment();
        assumeTrue(Files.exists(Artifacts.SMOLLM2_135M.location(home)), "model not fetched; run ./prunelab setup");
    }

    private static final Pipeline.Ui QUIET = new Pipeline.Ui() {
        @Override public Progress stage(String label) { return Progress.NONE; }
        @Override public void warn(String message) {}
    };

    private static RunResult run(RunSpec spec) {
        try (Pipeline p = new Pipeline(home)) {
            return p.execute(spec, QUIET, false).result();
        }
    }

    private static RunSpec magnitude() {
        return RunSpec.pruning("smollm2-135m", "magnitude", Map.of("sparsity", 0.5), null, EVAL, "dense", null, 0);
    }

    @Test
    void aPrunedRunCarriesItsIntervalsAndTheSameRunTwiceGivesTheSameOnes() {
        RunResult first = run(magnitude());
        for (EvalResult e : first.evals()) {
            Bootstrap.Interval ppl = e.perplexityInterval();
            assertThat(ppl.defined()).as(e.dataset()).isTrue();
            assertThat(ppl.units()).isEqualTo(6).isEqualTo(e.windows());
            assertThat(ppl.estimate()).isCloseTo(e.perplexity(), within(1e-9 * e.perplexity()));
            assertThat(ppl.lo()).isLessThanOrEqualTo(e.perplexity()).isGreaterThan(0);
            assertThat(ppl.hi()).isGreaterThanOrEqualTo(e.perplexity()).isGreaterThan(ppl.lo());

            Bootstrap.Interval ratio = e.ratioInterval();
            assertThat(ratio.defined()).isTrue();
            assertThat(ratio.estimate()).isCloseTo(e.pplRatio(), within(1e-9 * e.pplRatio()));
            assertThat(ratio.lo()).isLessThanOrEqualTo(e.pplRatio());
            assertThat(ratio.hi()).isGreaterThanOrEqualTo(e.pplRatio());
            // paired: half the weights gone costs on every resample of these windows, not only on average
            assertThat(ratio.lo()).isGreaterThan(1);
        }
        // the MLflow metrics of each evaluation carry the ends
        Map<org.prunelab.track.MlflowNames.Metric, Number> m = RunTracking.evalMetrics(first.headline());
        assertThat(m.get(org.prunelab.track.MlflowNames.Metric.PERPLEXITY_LO).doubleValue()).isEqualTo(first.headline().perplexityInterval().lo());
        assertThat(m.get(org.prunelab.track.MlflowNames.Metric.PPL_RATIO_HI).doubleValue()).isEqualTo(first.headline().ratioInterval().hi());

        RunResult again = run(magnitude());
        for (int i = 0; i < EVAL.size(); i++) {
            assertThat(again.evals().get(i).perplexityInterval()).isEqualTo(first.evals().get(i).perplexityInterval());
            assertThat(again.evals().get(i).ratioInterval()).isEqualTo(first.evals().get(i).ratioInterval());
        }
    }

    @Test
    void theDenseRunsRatioIntervalIsExactlyOne() {
        RunResult dense = run(RunSpec.dense("smollm2-135m", EVAL, "dense", null));
        for (EvalResult e : dense.evals()) {
            assertThat(e.pplRatio()).isEqualTo(1.0);
            assertThat(e.ratioInterval().defined()).isTrue();
            assertThat(e.ratioInterval().lo()).isEqualTo(1.0);
            assertThat(e.ratioInterval().hi()).isEqualTo(1.0);
            assertThat(e.perplexityInterval().lo()).isLessThan(e.perplexity());
            assertThat(e.perplexityInterval().hi()).isGreaterThan(e.perplexity());
        }
    }
}
