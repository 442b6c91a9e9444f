package org.prunelab.sweep;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.fuzz.FuzzContract;
import org.prunelab.run.RunSpec;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz target for the sweep spec loader: YAML (Jackson's YAML parser, aliases and anchors included), the keys and
 * values of a spec, profiles, and the grid's expansion into run specs. Either a {@link SweepSpec} whose points all
 * have keys, or a {@link org.prunelab.PrunelabException.InvalidArgument} naming the line. Contract:
 * {@link FuzzContract}; inputs in {@code SweepSpecFuzzTestInputs/spec/} (the committed sweeps and hand-made cases).
 */
class SweepSpecFuzzTest {
    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void spec(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        for (String profile : text.contains("quick") ? new String[] {null, "quick"} : new String[] {null}) {
            FuzzContract.run(input.length, () -> {
                SweepSpec spec = SweepSpecLoader.parse(text, "fuzz.yaml", profile, SweepSpecLoader.Checks.NONE);
                assertThat(spec.points()).isNotEmpty();
                for (RunSpec p : spec.points()) assertThat(p.key()).isNotBlank();
            });
        }
    }
}
