package org.prunelab.notebook;

/**
 * Where a tracked run landed: a link to the run in the MLflow UI, or, when no server was reachable, a note
 * that the record waits in the outbox ({@code ./prunelab mlflow sync} sends it later).
 *
 * @param runName the run's name
 * @param url     the run's page in the MLflow UI; null when tracking was offline
 * @param note    why there is no link; null when there is one
 */
public record RunLink(String runName, String url, String note) {
    /** An HTML anchor to the run, or the offline note. */
    public String html() {
        return url != null
                ? "MLflow run <a href=\"" + NotebookProgress.escape(url) + "\" target=\"_blank\">" + NotebookProgress.escape(runName) + "</a>"
                : "MLflow run " + NotebookProgress.escape(runName) + ": " + NotebookProgress.escape(note);
    }

    @Override
    public String toString() {
        return "MLflow run " + runName + ": " + (url != null ? url : note);
    }
}
