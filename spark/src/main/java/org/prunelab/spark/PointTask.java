package org.prunelab.spark;

import java.io.Serializable;

/**
 * One sweep point as a Spark task carries it.
 *
 * @param index    the point's place among the points this invocation runs (its partition)
 * @param key      the point's run key ({@link org.prunelab.run.RunSpec#key()}): the idempotency key
 * @param specJson the point's {@link org.prunelab.run.RunSpec} as JSON
 * @param label    the point's run name ({@code wanda-unstructured-0.50}, with the model in front in a multi-model sweep)
 */
record PointTask(int index, String key, String specJson, String label) implements Serializable {
    private static final long serialVersionUID = 1L;
}
