package org.prunelab.notebook;

import org.dflib.jjava.jupyter.Extension;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.display.mime.MIMEType;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.internal.chartpart.Chart;
import tech.tablesaw.api.Table;
import tech.tablesaw.io.html.HtmlWriteOptions;
import tech.tablesaw.io.html.HtmlWriter;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Base64;

/**
 * How the kernel shows prunelab's values: Tablesaw tables as {@code text/html} (plus aligned
 * {@code text/plain}), XChart charts as {@code image/png}, {@link Model}s as their summary table,
 * {@link RunLink}s as a link. Installed through {@code META-INF/services/org.dflib.jjava.jupyter.Extension}.
 */
public final class Renderers implements Extension {
    /** Rows shown in text/plain and HTML before the rest is elided. */
    private static final int MAX_ROWS = 200;

    @Override
    public void install(BaseKernel kernel) {
        Renderer r = kernel.getRenderer();
        r.createRegistration(Table.class).preferring(MIMEType.TEXT_HTML).supporting(MIMEType.TEXT_PLAIN)
                .register((table, ctx) -> {
                    Table shown = forDisplay(table);
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, () -> shown.print(MAX_ROWS));
                    ctx.renderIfRequested(MIMEType.TEXT_HTML, () -> html(shown));
                });
        r.createRegistration(Model.class).preferring(MIMEType.TEXT_HTML).supporting(MIMEType.TEXT_PLAIN)
                .register((model, ctx) -> {
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, model::toString);
                    ctx.renderIfRequested(MIMEType.TEXT_HTML, () -> html(model.summary()));
                });
        r.createRegistration(Chart.class).preferring(MIMEType.IMAGE_PNG).supporting(MIMEType.TEXT_PLAIN)
                .register((chart, ctx) -> {
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, () -> "chart: " + chart.getTitle());
                    ctx.renderIfRequested(MIMEType.IMAGE_PNG, () -> png(chart));
                });
        r.createRegistration(RunLink.class).preferring(MIMEType.TEXT_HTML).supporting(MIMEType.TEXT_PLAIN)
                .register((link, ctx) -> {
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, link::toString);
                    ctx.renderIfRequested(MIMEType.TEXT_HTML, link::html);
                });
    }

    /**
     * The table as shown: every number column with at most four decimals, or four significant digits in scientific
     * notation for very small or large values (a notebook's own computed ratios would otherwise print 17 digits). The
     * values are not changed.
     */
    static Table forDisplay(Table table) {
        Table copy = table.copy();
        copy.setName(table.name());
        for (var c : copy.columns()) {
            if (c instanceof tech.tablesaw.api.DoubleColumn d) {
                d.setPrintFormatter(new tech.tablesaw.columns.numbers.NumberColumnFormatter(new Readable(), ""));
            }
        }
        return copy;
    }

    /** Four decimals, or four significant digits in scientific notation outside [1e-3, 1e9). */
    static final class Readable extends java.text.NumberFormat {
        private final java.text.DecimalFormat fixed = new java.text.DecimalFormat("0.####",
                java.text.DecimalFormatSymbols.getInstance(java.util.Locale.ROOT));

        @Override
        public StringBuffer format(double v, StringBuffer to, java.text.FieldPosition pos) {
            double a = Math.abs(v);
            if (!Double.isFinite(v) || v == 0 || (a >= 1e-3 && a < 1e9)) return to.append(Double.isFinite(v) ? fixed.format(v) : String.valueOf(v));
            return to.append(String.format(java.util.Locale.ROOT, "%.3e", v));
        }

        @Override
        public StringBuffer format(long v, StringBuffer to, java.text.FieldPosition pos) {
            return to.append(v);
        }

        @Override
        public Number parse(String source, java.text.ParsePosition pos) {
            throw new UnsupportedOperationException("display only");
        }
    }

    /** A table as an HTML {@code <table>} with its name as caption, numbers as Tablesaw prints them. */
    static String html(Table table) {
        StringWriter out = new StringWriter();
        Table shown = table.rowCount() > MAX_ROWS ? table.first(MAX_ROWS) : table;
        new HtmlWriter().write(shown, HtmlWriteOptions.builder(out).build());
        String caption = "<p><b>" + NotebookProgress.escape(table.name()) + "</b>"
                + (shown != table ? " (first " + MAX_ROWS + " of " + table.rowCount() + " rows)" : "") + "</p>";
        return caption + out;
    }

    /** A chart as base64 PNG, what Jupyter's image/png expects. */
    static String png(Chart<?, ?> chart) {
        try {
            return Base64.getEncoder().encodeToString(BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new UncheckedIOException("could not draw chart " + chart.getTitle() + " as PNG", e);
        }
    }
}
