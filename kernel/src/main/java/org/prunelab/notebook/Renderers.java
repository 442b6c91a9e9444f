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
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, () -> table.print(MAX_ROWS));
                    ctx.renderIfRequested(MIMEType.TEXT_HTML, () -> html(table));
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
