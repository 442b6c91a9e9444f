package org.prunelab.track;

import java.util.Objects;

/**
 * One value of a metric, as MLflow stores it: the metric name, the value, the wall-clock time it was
 * measured (milliseconds since the Unix epoch, taken by the client so a replay keeps it) and a step.
 * MLflow treats two points with the same name, value, timestamp and step as the same point.
 */
public record MetricPoint(String key, double value, long timestampMs, long step) {
    public MetricPoint {
        Objects.requireNonNull(key, "key");
    }

    /** True when {@code other} is the same measurement (NaN equals NaN here, as in MLflow's store). */
    boolean sameAs(MetricPoint other) {
        return key.equals(other.key) && Double.compare(value, other.value) == 0
                && timestampMs == other.timestampMs && step == other.step;
    }
}
