package org.prunelab.cli;

import picocli.CommandLine.Option;

/**
 * Whether and where a run is recorded in MLflow: by default every {@code prune}, {@code eval} and {@code bench} run is,
 * on the server {@code MLFLOW_TRACKING_URI} names or else the project's local server (started if needed); when no
 * server answers, the run goes to {@code mlruns/outbox} and {@code ./prunelab mlflow sync} sends it later.
 */
final class TrackingOptions {
    /** The default experiment of CLI runs. */
    static final String DEFAULT_EXPERIMENT = "prunelab";

    @Option(names = "--track", negatable = true, defaultValue = "${sys:prunelab.tracking:-true}", fallbackValue = "true",
            description = "Record the run in MLflow (default: on; --no-track to skip). MLFLOW_TRACKING_URI names the server;"
                    + " otherwise the project's local one is used (started if needed), and with none reachable the run waits in"
                    + " mlruns/outbox for './prunelab mlflow sync'.")
    boolean track;

    @Option(names = "--experiment", defaultValue = DEFAULT_EXPERIMENT,
            description = "MLflow experiment of the run (default: ${DEFAULT-VALUE}).")
    String experiment;
}
