package org.prunelab.notebook;

import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.Table;

/** XChart plots of facade tables; the prunelab kernel shows them as PNG. */
public final class Charts {
    private Charts() {}

    /**
     * One line (with markers) per distinct value of {@code series}, {@code y} against {@code x}, rows sorted
     * by x.
     *
     * @param logY log-scale y axis (perplexity spans orders of magnitude once a method collapses)
     * @throws IllegalArgumentException if a column is missing or x/y is not numeric
     */
    public static XYChart lines(Table table, String x, String y, String series, boolean logY) {
        XYChart chart = new XYChartBuilder().width(640).height(400).title(table.name()).xAxisTitle(x).yAxisTitle(y).build();
        chart.getStyler().setYAxisLogarithmic(logY);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        for (String name : table.stringColumn(series).unique().asList()) {
            Table rows = table.where(table.stringColumn(series).isEqualTo(name)).sortOn(x);
            double[] xs = ((NumericColumn<?>) rows.column(x)).asDoubleArray();
            double[] ys = ((NumericColumn<?>) rows.column(y)).asDoubleArray();
            chart.addSeries(name, xs, ys).setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }
}
