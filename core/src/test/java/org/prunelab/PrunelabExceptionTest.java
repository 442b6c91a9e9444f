package org.prunelab;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Parameters named once in core, spelled by each entry point. */
class PrunelabExceptionTest {

    @Test
    void placeholdersAreSpelledPlainByDefaultAndByTheCallersSpelling() {
        PrunelabException e = new PrunelabException.InvalidArgument("${eval.windows} must be 0 (all) or positive; see ${rank_ratio}"
                + " and {dataset: brown} and ${not closed");
        assertThat(e.getMessage()).isEqualTo("windows must be 0 (all) or positive; see rank_ratio and {dataset: brown} and ${not closed");
        Map<String, String> cli = Map.of("eval.windows", "--eval-windows", "rank_ratio", "--rank-ratio");
        assertThat(e.message(cli::get)).isEqualTo("--eval-windows must be 0 (all) or positive; see --rank-ratio and {dataset: brown}"
                + " and ${not closed");
        assertThat(e.message(n -> null)).isEqualTo(e.getMessage());
        assertThat(e.template()).startsWith("${eval.windows}");
        assertThat(e.toString()).contains(": windows must be").doesNotContain("${eval.windows}");
    }
}
