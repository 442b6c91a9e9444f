package org.prunelab.track;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A run calibrated on UDHR (alone or in a list) says on MLflow that its calibration set is small; others do not. */
class CalibrationTagsTest {
    @TempDir Path tmp;

    private static FakeBackend.Run track(FakeBackend backend, Path outbox, String calib) {
        RunSpec spec = RunSpec.pruning("smollm2-135m", "mwanda", Map.of("sparsity", 0.5), new CalibrationSpec(calib, 8, 128),
                List.of(new EvalSpec("brown", 64, 2)), "dense", null, 0);
        try (Tracker tracker = new Tracker(backend, URI.create("http://fake"), Outbox.open(outbox), Map.of(), null)) {
            TrackedRun run = RunTracking.start(tracker, "e", null, spec, "cli", Map.of());
            RunTracking.finish(run, new RunResult(spec, 0.5, 0.5, 10, 5, 100, 1, 1, 0.1, Double.NaN, Double.NaN, Double.NaN,
                    Double.NaN, "dense", List.of(), List.of("the calibration set is small: ...")), null);
        }
        return backend.runs.values().stream().reduce((a, b) -> b).orElseThrow();
    }

    @Test
    void udhrCalibrationIsTaggedSmallAndListsEveryDataset() {
        FakeBackend backend = new FakeBackend();
        FakeBackend.Run udhr = track(backend, tmp.resolve("a"), "udhr:eng,udhr:swh,udhr:yor");
        assertThat(udhr.tags).containsEntry(MlflowNames.CALIB_SMALL_TAG, "true")
                .containsEntry(MlflowNames.WARNINGS_TAG, "the calibration set is small: ...");
        assertThat(udhr.params).containsEntry("calib_dataset", "udhr:eng,udhr:swh,udhr:yor");
        FakeBackend.Run brown = track(backend, tmp.resolve("b"), "brown");
        assertThat(brown.tags).doesNotContainKey(MlflowNames.CALIB_SMALL_TAG);
        assertThat(brown.params).containsEntry("calib_dataset", "brown");
    }
}
