package org.prunelab.sweep;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.RunSpec;
import org.prunelab.track.MlflowNames.Param;
import org.prunelab.track.RunTracking;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A calibration set of several datasets (languages): one comma-joined {@code calib_dataset}, from the CLI's list, a
 * sweep spec's list or string; a single dataset's spec, canonical JSON and run key are what they were.
 */
class MultiDatasetCalibrationSpecTest {

    private static final SweepSpecLoader.Checks KNOWN = new SweepSpecLoader.Checks() {
        @Override public void model(String name) {}
        @Override public void dataset(String name) {
            if (!name.equals("brown") && !name.matches("udhr:(eng|swh|yor)")) {
                throw new PrunelabException.Dataset("unknown dataset '" + name + "'");
            }
        }
    };

    private static RunSpec wanda(CalibrationSpec c) {
        return RunSpec.pruning("smollm2-135m", "wanda", Map.of("sparsity", 0.5), c, List.of(new EvalSpec("brown", 64, 2)),
                "dense", null, 0);
    }

    /** The canonical JSON (and so the key) of a single-dataset run, written out: it must never change. */
    @Test
    void aSingleDatasetsCanonicalJsonAndKeyAreUnchanged() {
        RunSpec a = wanda(new CalibrationSpec("brown", 2, 64));
        assertThat(a.canonicalJson()).isEqualTo("{\"calibration\":{\"calib_dataset\":\"brown\",\"nsamples\":2,\"seqlen\":64},"
                + "\"evaluation\":[{\"eval_dataset\":\"brown\",\"eval_seqlen\":64,\"eval_windows\":2}],\"method\":\"wanda\","
                + "\"model\":\"smollm2-135m\",\"params\":{\"owl\":false,\"pattern\":\"unstructured\",\"sparsity\":0.5},"
                + "\"pattern\":\"unstructured\",\"seed\":0}");
        assertThat(new CalibrationSpec("brown", 2, 64).datasets()).containsExactly("brown");
    }

    @Test
    void aListIsOneCommaJoinedDatasetLoggedAsCalibDataset() {
        CalibrationSpec c = new CalibrationSpec("udhr:eng, udhr:swh ,udhr:yor", 12, 128);
        assertThat(c.dataset()).isEqualTo("udhr:eng,udhr:swh,udhr:yor");
        assertThat(c.datasets()).containsExactly("udhr:eng", "udhr:swh", "udhr:yor");
        assertThat(c).isEqualTo(new CalibrationSpec(CalibrationSpec.join(List.of("udhr:eng", "udhr:swh", "udhr:yor")), 12, 128));
        RunSpec r = wanda(c);
        assertThat(r.canonicalJson()).contains("\"calib_dataset\":\"udhr:eng,udhr:swh,udhr:yor\"");
        assertThat(r.key()).isNotEqualTo(wanda(new CalibrationSpec("udhr:eng", 12, 128)).key());
        assertThat(RunTracking.params(r)).containsEntry(Param.CALIB_DATASET, "udhr:eng,udhr:swh,udhr:yor");
        assertThatThrownBy(() -> CalibrationSpec.join(List.of("udhr:eng", "udhr:eng"))).hasMessageContaining("names a dataset twice");
        assertThatThrownBy(() -> new CalibrationSpec("udhr:eng,,udhr:swh", 4, 64)).hasMessageContaining("has an empty name");
    }

    @Test
    void aSweepSpecListsCalibrationDatasetsAsAListOrACommaString() {
        String base = """
                name: t
                model: smollm2-135m
                calibration: {dataset: %s, nsamples: 12, seqlen: 128}
                evaluation: {seqlen: 64, windows: 2, datasets: [udhr:swh]}
                grid:
                  - method: mwanda
                    sparsity: 0.5
                """;
        RunSpec list = SweepSpecLoader.parse(base.formatted("[udhr:eng, udhr:swh, udhr:yor]"), "spec.yaml", null, KNOWN).points().getFirst();
        RunSpec text = SweepSpecLoader.parse(base.formatted("\"udhr:eng,udhr:swh,udhr:yor\""), "spec.yaml", null, KNOWN).points().getFirst();
        assertThat(list.calibration()).isEqualTo(new CalibrationSpec("udhr:eng,udhr:swh,udhr:yor", 12, 128));
        assertThat(text.key()).isEqualTo(list.key());
        RunSpec one = SweepSpecLoader.parse(base.formatted("brown"), "spec.yaml", null, KNOWN).points().getFirst();
        assertThat(one.calibration().dataset()).isEqualTo("brown");
        assertThatThrownBy(() -> SweepSpecLoader.parse(base.formatted("[udhr:eng, udhr:xyz]"), "spec.yaml", null, KNOWN))
                .hasMessageContaining("spec.yaml line 3").hasMessageContaining("unknown dataset 'udhr:xyz'");
        assertThatThrownBy(() -> SweepSpecLoader.parse(base.formatted("[udhr:eng, udhr:eng]"), "spec.yaml", null, KNOWN))
                .hasMessageContaining("spec.yaml line 3").hasMessageContaining("twice");
    }
}
