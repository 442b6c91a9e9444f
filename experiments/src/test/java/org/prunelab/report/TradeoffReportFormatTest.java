package org.prunelab.report;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Number formatting of the trade-off tables. */
class TradeoffReportFormatTest {
    @Test
    void tinyNegativeReadingsPrintAsPlainZero() {
        assertThat(TradeoffReport.fmt("%.3f", -0.0001)).isEqualTo("0.000");
        assertThat(TradeoffReport.fmt("%.0f", -0.2)).isEqualTo("0");
        assertThat(TradeoffReport.fmt("%.2fx", -0.001)).isEqualTo("0.00x");
        assertThat(TradeoffReport.fmt("%.3f", -0.5)).isEqualTo("-0.500");
        assertThat(TradeoffReport.fmt("%.1f", -10.04)).isEqualTo("-10.0");
        assertThat(TradeoffReport.fmt("%.3f", Double.NaN)).isEqualTo("n/a");
    }
}
