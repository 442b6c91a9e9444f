package org.prunelab.sweep;

import org.prunelab.run.BenchSpec;
import org.prunelab.run.RunSpec;

import java.util.List;
import java.util.Map;

/**
 * A sweep after loading: its points expanded from the grid, in file order, duplicates removed.
 *
 * @param name         the sweep's name (the parent MLflow run's name)
 * @param experiment   the MLflow experiment the runs go to
 * @param profile      the profile applied, or null
 * @param points       one {@link RunSpec} per run
 * @param speed        how speed is measured (every point carries it as its {@link RunSpec#bench()})
 * @param text         the spec file's text, logged as an artifact of the parent run
 * @param datasetLines for each dataset name, the spec line that first names it (for later error messages)
 * @param pointLines   for each point's key, the line of the grid entry's method it came from
 * @param report       which report the sweep's results make: {@value #TRADEOFF} (results/tradeoff.md) or
 *                     {@value #LANGUAGES} (results/languages.md)
 */
public record SweepSpec(String name, String experiment, String profile, List<RunSpec> points, BenchSpec speed,
                        String text, Map<String, Integer> datasetLines, Map<String, Integer> pointLines, String report) {
    /** The structured-vs-unstructured trade-off report. */
    public static final String TRADEOFF = "tradeoff";
    /** The per-language study. */
    public static final String LANGUAGES = "languages";

    public SweepSpec {
        points = List.copyOf(points);
        datasetLines = Map.copyOf(datasetLines);
        pointLines = Map.copyOf(pointLines);
        if (report == null) report = TRADEOFF;
    }

    /** A sweep that makes the trade-off report. */
    public SweepSpec(String name, String experiment, String profile, List<RunSpec> points, BenchSpec speed,
                     String text, Map<String, Integer> datasetLines, Map<String, Integer> pointLines) {
        this(name, experiment, profile, points, speed, text, datasetLines, pointLines, TRADEOFF);
    }

    /** The spec line a point came from (its grid entry's method), or 0 when unknown. */
    public int line(RunSpec point) {
        return pointLines.getOrDefault(point.key(), 0);
    }
}
