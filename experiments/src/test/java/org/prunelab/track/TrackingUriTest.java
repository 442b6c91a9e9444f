package org.prunelab.track;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrackingUriTest {

    @TempDir
    Path root;

    @Test
    void aTrackingUriFromTheEnvironmentIsUsedAndNothingIsStarted() {
        URI uri = Tracker.trackingUri(root, Map.of("MLFLOW_TRACKING_URI", " http://127.0.0.1:5999/ "));
        assertThat(uri).isEqualTo(URI.create("http://127.0.0.1:5999/"));
        assertThat(root.resolve("mlruns")).doesNotExist();
    }

    @Test
    void aNonHttpTrackingUriIsRefusedWithWhatToDo() {
        assertThatThrownBy(() -> Tracker.trackingUri(root, Map.of("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")))
                .isInstanceOf(PrunelabException.Setup.class)
                .hasMessageContaining("sqlite:///mlflow.db").hasMessageContaining("unset it");
    }

    @Test
    void withoutTheVenvTheLocalServerCannotStartAndSaysHowToInstallIt() {
        assertThatThrownBy(() -> Tracker.trackingUri(root, Map.of()))
                .isInstanceOf(PrunelabException.Setup.class)
                .hasMessageContaining("tools/mlflow/setup.sh");
    }

    @Test
    void aServerThatDoesNotAnswerMakesAnOfflineTrackerThatStillRecords() {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        try (Tracker tracker = Tracker.connect(URI.create("http://127.0.0.1:1"), root.resolve("outbox"),
                root.resolve("python"), Map.of())) {
            assertThat(tracker.isOnline()).isFalse();
            assertThat(tracker.offlineReason()).hasValueSatisfying(r -> assertThat(r).contains("127.0.0.1:1"));
            try (TrackedRun run = tracker.startRun("tradeoff", "offline")) {
                run.logMetric(MlflowNames.Metric.PERPLEXITY, 12.0);
            }
        }
        assertThat(Outbox.files(root.resolve("outbox"))).singleElement()
                .satisfies(f -> assertThat(Outbox.read(f)).hasSize(3));
    }
}
