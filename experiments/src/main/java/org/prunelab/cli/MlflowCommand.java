package org.prunelab.cli;

import org.prunelab.track.MlflowServer;
import org.prunelab.track.SyncReport;
import org.prunelab.track.Tracker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;

/**
 * {@code prunelab mlflow start|stop|url|sync}: the local MLflow tracking server (SQLite backend and artifacts
 * under {@code ./mlruns/}, Python from {@code .venv-mlflow}, made by {@code tools/mlflow/setup.sh}) and the
 * outbox of records that could not be sent.
 */
@Command(name = "mlflow", mixinStandardHelpOptions = true,
        description = "Start, stop or locate the local MLflow server; send records left in the outbox.")
final class MlflowCommand implements Runnable {
    @Spec CommandSpec spec;

    /** Without a subcommand: a usage error (exit 2), as for any other missing argument. */
    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "mlflow needs a subcommand: start, stop, url or sync");
    }

    private static Path root() {
        return Path.of(System.getProperty("prunelab.root", "."));
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Start the local server (or reuse a running one) and print the UI address.")
    int start() {
        spec.commandLine().getOut().println(MlflowServer.forProject(root()).start());
        spec.commandLine().getOut().flush();
        return 0;
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop the local server.")
    int stop() {
        boolean stopped = MlflowServer.forProject(root()).stop();
        spec.commandLine().getOut().println(stopped ? "stopped" : "no server was running");
        spec.commandLine().getOut().flush();
        return 0;
    }

    @Command(name = "url", mixinStandardHelpOptions = true, description = "Print the UI address of the running server; exit 1 if none runs.")
    int url() {
        var url = MlflowServer.forProject(root()).url();
        if (url.isEmpty()) {
            spec.commandLine().getErr().println("no MLflow server is running; start one with ./prunelab mlflow start");
            spec.commandLine().getErr().flush();
            return 1;
        }
        spec.commandLine().getOut().println(url.get());
        spec.commandLine().getOut().flush();
        return 0;
    }

    @Command(name = "sync", mixinStandardHelpOptions = true, description = "Send every record waiting in mlruns/outbox (or --outbox DIR) to the tracking server, exactly once.")
    int sync(@picocli.CommandLine.Option(names = "--outbox", paramLabel = "DIR",
            description = "Another outbox folder, e.g. a Spark executor's (<PRUNELAB_HOME>/mlflow-outbox on that machine)")
             Path outbox) {
        if (outbox != null && !java.nio.file.Files.isDirectory(outbox)) {
            throw new org.prunelab.PrunelabException.InvalidArgument("--outbox " + outbox + " is not a folder; give the"
                    + " outbox folder an executor wrote (default <PRUNELAB_HOME>/mlflow-outbox on that machine)");
        }
        try (Tracker tracker = outbox == null ? Tracker.open(root())
                : Tracker.connect(Tracker.trackingUri(root()), outbox, Tracker.pythonFor(root()),
                        org.prunelab.track.RunContext.tags(root()))) {
            SyncReport report = tracker.lastSync().orElseGet(tracker::sync);
            var out = spec.commandLine().getOut();
            out.printf("outbox: %d file(s) synced, %d record(s) sent, %d busy%s%n", report.filesSynced(), report.recordsSent(),
                    report.filesBusy(), report.problems().isEmpty() ? "" : "; problems: " + String.join("; ", report.problems()));
            out.flush();
            return report.complete() ? 0 : 1;
        }
    }
}
