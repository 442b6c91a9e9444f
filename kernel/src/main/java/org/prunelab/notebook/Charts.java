package org.prunelab.notebook;

import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
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
        for (String name : Charts.distinct(table, series)) {
            Table rows = table.where(table.stringColumn(series).isEqualTo(name)).sortOn(x);
            double[] xs = ((NumericColumn<?>) rows.column(x)).asDoubleArray();
            double[] ys = ((NumericColumn<?>) rows.column(y)).asDoubleArray();
            chart.addSeries(name, xs, ys).setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    /**
     * Grouped bars: for each value of {@code series} one bar per category, in the table's order of categories.
     *
     * @param logY log-scale y axis
     */
    public static CategoryChart bars(Table table, String category, String y, String series, boolean logY) {
        CategoryChart chart = new CategoryChartBuilder().width(720).height(400).title(table.name()).xAxisTitle(category)
                .yAxisTitle(y).build();
        chart.getStyler().setYAxisLogarithmic(logY);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        java.util.List<String> categories = Charts.distinct(table, category);
        for (String name : Charts.distinct(table, series)) {
            Table rows = table.where(table.stringColumn(series).isEqualTo(name));
            java.util.List<Double> values = new java.util.ArrayList<>();
            for (String c : categories) {
                Table cell = rows.where(rows.stringColumn(category).isEqualTo(c));
                values.add(cell.rowCount() == 0 ? 0.0 : ((NumericColumn<?>) cell.column(y)).getDouble(0));
            }
            chart.addSeries(name, categories, values);
        }
        return chart;
    }

    /** The distinct values of a string column in order of first appearance (Tablesaw's unique() does not keep order). */
    static java.util.List<String> distinct(Table table, String column) {
        return new java.util.ArrayList<>(new java.util.LinkedHashSet<>(table.stringColumn(column).asList()));
    }
}
