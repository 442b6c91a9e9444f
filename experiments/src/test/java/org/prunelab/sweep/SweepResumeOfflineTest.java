package org.prunelab.sweep;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.Progress;
import org.prunelab.run.RunExecutor;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.track.Tracker;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A sweep killed part-way, with tracking offline throughout: the re-run finds finished points in the outbox. */
class SweepResumeOfflineTest {

    static SweepSpec threePoints(String experiment) {
        return SweepSpecLoader.parse("""
                name: resume
                experiment: %s
                model: m
                calibration: {dataset: brown, nsamples: 2, seqlen: 64}
                evaluation: {seqlen: 64, windows: 2, datasets: [brown, "udhr:swh"]}
                grid:
                  - method: [magnitude, wanda]
                    sparsity: [0.5]
                  - method: wanda
                    pattern: "2:4"
                """.formatted(experiment), "resume.yaml", null, SweepSpecLoader.Checks.NONE);
    }

    @Test
    void aKilledSweepResumesWithOnlyTheMissingPoints(@TempDir Path tmp) {
        SweepSpec spec = threePoints("offline-resume");
        Path outbox = tmp.resolve("outbox");
        ScriptedExecutor first = new ScriptedExecutor(1, -1, null);
        try (Tracker tracker = Tracker.offline(outbox, Map.of(), "test")) {
            assertThatThrownBy(() -> new SweepRunner(tracker, first, tmp.resolve("state")).run(spec, Progress.NONE))
                    .isInstanceOf(ScriptedExecutor.Killed.class);
        }
        assertThat(first.ran).containsExactly(spec.points().get(0).key());

        ScriptedExecutor second = new ScriptedExecutor(-1, -1, null);
        SweepOutcome outcome;
        try (Tracker tracker = Tracker.offline(outbox, Map.of(), "test")) {
            outcome = new SweepRunner(tracker, second, tmp.resolve("state")).run(spec, Progress.NONE);
        }
        assertThat(second.ran).containsExactly(spec.points().get(1).key(), spec.points().get(2).key());
        assertThat(outcome.skipped()).isEqualTo(1);
        assertThat(outcome.ran()).isEqualTo(2);
        assertThat(outcome.failures()).isEmpty();
        assertThat(outcome.results()).extracting(RunResult::spec).containsExactlyElementsOf(spec.points());
        assertThat(outcome.results().getFirst().evals().getFirst().perplexity())
                .isEqualTo(ScriptedExecutor.perplexity(spec.points().getFirst()));

        // A third run finds everything finished and runs nothing.
        ScriptedExecutor third = new ScriptedExecutor(-1, -1, null);
        try (Tracker tracker = Tracker.offline(outbox, Map.of(), "test")) {
            SweepOutcome again = new SweepRunner(tracker, third, tmp.resolve("state")).run(spec, Progress.NONE);
            assertThat(again.skipped()).isEqualTo(3);
            assertThat(again.results()).hasSize(3);
        }
        assertThat(third.ran).isEmpty();
    }

    @Test
    void aPointThatFailsWithAUserErrorIsReportedAndTheOthersRun(@TempDir Path tmp) {
        SweepSpec spec = threePoints("offline-failure");
        RunExecutor failing = new RunExecutor() {
            final ScriptedExecutor inner = new ScriptedExecutor(-1, -1, null);
            @Override public RunResult run(RunSpec s, Path dir, Progress p) {
                if (s.pattern().equals("2:4")) throw new org.prunelab.PrunelabException.InvalidArgument("2:4 does not fit");
                return inner.run(s, dir, p);
            }
            @Override public String describe() { return "failing"; }
            @Override public void close() {}
        };
        try (Tracker tracker = Tracker.offline(tmp.resolve("outbox"), Map.of(), "test")) {
            SweepOutcome outcome = new SweepRunner(tracker, failing, tmp.resolve("state")).run(spec, Progress.NONE);
            assertThat(outcome.failures()).singleElement().asString().contains("wanda-2:4", "2:4 does not fit");
            assertThat(outcome.results()).hasSize(2);
        }
        // The failed point is not finished, so a re-run tries it again.
        ScriptedExecutor retry = new ScriptedExecutor(-1, -1, null);
        try (Tracker tracker = Tracker.offline(tmp.resolve("outbox"), Map.of(), "test")) {
            new SweepRunner(tracker, retry, tmp.resolve("state")).run(spec, Progress.NONE);
        }
        assertThat(retry.ran).isEqualTo(List.of(spec.points().get(2).key()));
    }
}
