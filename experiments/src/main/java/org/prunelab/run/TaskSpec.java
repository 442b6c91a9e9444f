package org.prunelab.run;

import org.prunelab.PrunelabException;

/**
 * One zero-shot multiple-choice task of a run ({@code org.prunelab.eval.tasks}): accuracy by log-likelihood, as
 * lm-evaluation-harness scores it.
 *
 * @param task  {@code udhr-next:<code>}, {@code brown-next}, or {@code <format>:<file>} ({@code hellaswag:/data/h.jsonl})
 * @param items score only the first this many items (0 = all)
 */
public record TaskSpec(String task, int items) {
    public TaskSpec {
        if (task == null || task.isBlank()) throw new PrunelabException.InvalidArgument("a task needs a name, e.g. udhr-next:swh");
        task = task.strip();
        if (items < 0) throw new PrunelabException.InvalidArgument("task items must be 0 (all) or positive, got " + items);
    }

    /**
     * The task's short name for metric keys and tables: a file task keeps the file's name only
     * ({@code hellaswag:/data/val.jsonl} is {@code hellaswag:val.jsonl}); characters MLflow refuses in a metric name
     * become {@code _}.
     */
    public String label() {
        int colon = task.indexOf(':');
        String out = task;
        if (colon > 0 && (task.contains("/") || task.contains("\\"))) {
            String file = task.substring(colon + 1).replaceAll("[/\\\\]+$", "");
            out = task.substring(0, colon) + ":" + file.substring(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
        }
        return out.replaceAll("[^A-Za-z0-9_\\-.: ]", "_");
    }
}
