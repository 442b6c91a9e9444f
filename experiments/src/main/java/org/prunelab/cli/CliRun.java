package org.prunelab.cli;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunSpec;
import org.prunelab.track.MlflowNames;
import org.prunelab.track.RunTracking;
import org.prunelab.track.TrackedRun;
import org.prunelab.track.Tracker;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * How {@code prune}, {@code eval} and {@code bench} run a {@link RunSpec}: plan it (every check before anything loads),
 * open tracking, run it through the {@link Pipeline}, let the command save what it saves, record the run in MLflow
 * ({@link RunTracking}, the same as a sweep point), and say where it went. Progress and warnings go to stderr.
 */
final class CliRun {
    /** What the command learns: the pipeline's outcome and where the run was recorded. */
    record Result(Pipeline.Outcome outcome, String tracking) {}

    private CliRun() {}

    /**
     * @param command     the subcommand, logged as param {@code command}
     * @param releaseDense whether the loaded model may be given up while pruning ({@code prune})
     * @param save        called with the outcome before the run is recorded (e.g. writes the model to --out); may be null
     */
    static Result run(String command, RunSpec spec, TrackingOptions tracking, boolean releaseDense, PrintWriter err,
                      Consumer<Pipeline.Outcome> save) {
        return run(command, spec, tracking, releaseDense, err, save, false, null, null);
    }

    /**
     * As {@link #run(String, RunSpec, TrackingOptions, boolean, PrintWriter, Consumer)}; with {@code streaming} the run
     * is streamed ({@link Pipeline#executeStreamed}) and writes a pruned model to {@code streamOut} itself.
     */
    static Result run(String command, RunSpec spec, TrackingOptions tracking, boolean releaseDense, PrintWriter err,
                      Consumer<Pipeline.Outcome> save, boolean streaming, Path streamOut, Path scratch) {
        PrunelabHome home = PrunelabHome.fromEnvironment();
        try (Pipeline pipeline = new Pipeline(home).scratchDir(scratch)) {
            Pipeline.Plan plan = pipeline.plan(spec); // fails in milliseconds, before a server starts or weights load
            if (streaming) Pipeline.checkStreamable(plan);
            Pipeline.Ui ui = ui(err, switch (command) {
                case "eval" -> Spelling.EVAL;
                case "bench" -> Spelling.BENCH;
                default -> Spelling.PRUNE;
            });
            if (!tracking.track) {
                Pipeline.Outcome o = streaming ? pipeline.executeStreamed(plan, streamOut, ui)
                        : pipeline.execute(plan, ui, releaseDense);
                if (save != null) save.accept(o);
                return new Result(o, "not tracked (--no-track)");
            }
            Path root = Path.of(System.getProperty("prunelab.root", ".")).toAbsolutePath();
            try (Tracker tracker = Tracker.open(root)) {
                TrackedRun run = RunTracking.start(tracker, tracking.experiment, null, spec, "cli", Map.of());
                run.logParam(MlflowNames.Param.COMMAND, command);
                Pipeline.Outcome o;
                try {
                    o = streaming ? pipeline.executeStreamed(plan, streamOut, ui)
                            : pipeline.execute(plan, ui, releaseDense);
                    if (save != null) save.accept(o);
                } catch (RuntimeException e) {
                    RunTracking.fail(run, e);
                    throw e;
                }
                Path files = Files.createTempDirectory("prunelab-run-");
                try {
                    Pipeline.writeFiles(files, o.files());
                    RunTracking.finish(run, o.result(), files);
                } finally {
                    deleteTree(files);
                }
                String where = tracker.runUrl(run).map(u -> "MLflow run " + run.name() + ": " + u)
                        .orElse("MLflow run " + run.name() + " kept in mlruns/outbox (" + tracker.offlineReason().orElse("offline")
                                + "); './prunelab mlflow sync' sends it");
                err.println("tracking: " + where);
                err.flush();
                return new Result(o, where);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot stage the run's files for MLflow", e);
            }
        }
    }

    /** Progress bars and warnings on stderr, parameters spelled as the command's flags. */
    static Pipeline.Ui ui(PrintWriter err, java.util.function.UnaryOperator<String> spelling) {
        return new Pipeline.Ui() {
            @Override public Progress stage(String label) { return new ConsoleProgress(label); }

            @Override
            public void warn(String message) {
                err.println("warning: " + PrunelabException.render(message, spelling));
                err.flush();
            }
        };
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            // a leftover temporary folder is harmless
        }
    }

    /** @throws PrunelabException.InvalidArgument when a count must be positive */
    static void requirePositive(Integer value, String flag) {
        if (value != null && value < 1) {
            throw new PrunelabException.InvalidArgument(flag + " must be at least 1, got " + value);
        }
    }

    /**
     * "95% bootstrap intervals over 8 windows: perplexity 72.28 [61.20, 85.03], pruned / dense 1.70x [1.55, 1.88]" (the
     * ratio left out when {@code withRatio} is false or it has no interval); "n/a" ends with fewer than 2 windows.
     */
    static String intervals(org.prunelab.run.EvalResult e, boolean withRatio) {
        String s = "95% bootstrap intervals over " + e.perplexityInterval().units() + " windows: perplexity "
                + e.perplexityInterval().format(2);
        if (withRatio && e.ratioInterval().defined()) s += ", ratio " + e.ratioInterval().format(3);
        return e.perplexityInterval().units() < 2 ? s + " (fewer than 2 windows: no interval)" : s;
    }
}
