package org.prunelab.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.arch.ModelLoader;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.cache.Setup;
import org.prunelab.run.RunExecutor;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.sweep.SweepRunner;
import org.prunelab.tensor.Parallel;
import org.prunelab.track.MlflowNames;
import org.prunelab.track.RunContext;
import org.prunelab.track.RunStatus;
import org.prunelab.track.RunTracking;
import org.prunelab.track.TaggedRun;
import org.prunelab.track.TrackedRun;
import org.prunelab.track.Tracker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs one sweep point inside a Spark task: the executor's half of the engine.
 *
 * <p><b>Exactly once, by the spec key.</b> A task first asks MLflow (and its outbox) for runs tagged with the point's
 * key: when one is FINISHED (an earlier attempt logged it, then its executor was lost before the result reached the
 * driver), the task runs nothing and logs nothing. A retry (attempt &gt; 0) marks runs of the point still RUNNING as
 * KILLED: they belong to an attempt whose executor died mid-point. Right before a point run is ended FINISHED the task
 * asks again, and a run another attempt finished meanwhile makes this one end KILLED (tag
 * {@value SparkTags#DUPLICATE_OF}). Speculative execution is refused by the driver, so two live attempts of one point
 * only meet when Spark gave up on an executor that was still working.
 *
 * <p><b>Failures.</b> A {@link PrunelabException} is a bad point (it would fail again): its run is marked FAILED and
 * the driver reports it, as the in-process sweep does; no retry. Any other exception marks the run FAILED and is
 * rethrown, so Spark retries the task (up to {@code spark.task.maxFailures}). An {@link Error} leaves the run RUNNING,
 * as a killed executor would; the retry marks it KILLED.
 */
final class PointRunner {
    private static final Object PREPARE = new Object();
    private static boolean setupDone;

    private PointRunner() {}

    /** Runs {@code task} on this executor (called inside a Spark task). */
    static PointOutcome run(TaskEnv env, PointTask task) {
        TaskContext ctx = TaskContext.get();
        int attempt = ctx == null ? 0 : ctx.attemptNumber();
        String executor = executorName();
        RunSpec point = readSpec(task);
        prepare(env);
        try (Tracker tracker = openTracker(env)) {
            List<TaggedRun> same = sameKey(tracker, env, task.key());
            Optional<TaggedRun> done = same.stream().filter(TaggedRun::finished).findFirst();
            if (done.isPresent()) {
                return new PointOutcome(task.index(), PointOutcome.Status.ALREADY_FINISHED, null,
                        "finished by run " + done.get().runId(), done.get().runId(), attempt, executor);
            }
            if (attempt > 0) {
                for (TaggedRun t : same) {
                    if ("RUNNING".equals(t.status()) && !t.inOutbox() && t.runId() != null) tracker.markKilled(t.runId());
                }
            }
            return runTracked(env, task, point, tracker, attempt, executor);
        }
    }

    private static PointOutcome runTracked(TaskEnv env, PointTask task, RunSpec point, Tracker tracker, int attempt,
                                           String executor) {
        TrackedRun parent = tracker.attach(env.parent());
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put(MlflowNames.SWEEP_TAG, env.sweep());
        tags.put(SparkTags.ENGINE, "spark");
        tags.put(SparkTags.ATTEMPT, Integer.toString(attempt));
        tags.put(SparkTags.EXECUTOR, executor);
        TrackedRun run = RunTracking.start(tracker, env.experiment(), parent, point, task.label(), "sweep", tags);
        Path dir = null;
        RunExecutor executorForPoint = null;
        boolean reusable = false;
        try {
            dir = Files.createTempDirectory("prunelab-point-");
            checkModelHere(point, executor);
            executorForPoint = ExecutorPool.borrow(env.factory(), point.model());
            RunResult r = executorForPoint.run(point, dir, Progress.NONE);
            reusable = true;
            String resultJson = SweepRunner.JSON.writeValueAsString(r);
            Files.writeString(dir.resolve("point_result.json"), resultJson);
            Optional<TaggedRun> other = sameKey(tracker, env, task.key()).stream()
                    .filter(t -> t.finished() && !(t.runId() != null && run.runId().map(t.runId()::equals).orElse(false)))
                    .findFirst();
            if (other.isPresent()) {
                run.setTag(SparkTags.DUPLICATE_OF, String.valueOf(other.get().runId()));
                run.end(RunStatus.KILLED);
                return new PointOutcome(task.index(), PointOutcome.Status.ALREADY_FINISHED, null,
                        "finished by run " + other.get().runId(), other.get().runId(), attempt, executor);
            }
            Path artifacts = dir;
            String noPython = artifactProblem(env);
            if (noPython != null) {
                run.setTag(SparkTags.ARTIFACTS_SKIPPED, noPython);
                artifacts = null;
            }
            RunTracking.finish(run, r, artifacts);
            return new PointOutcome(task.index(), PointOutcome.Status.FINISHED, resultJson, null,
                    run.runId().orElse(null), attempt, executor);
        } catch (PrunelabException e) {
            if (!run.ended()) RunTracking.fail(run, e);
            return new PointOutcome(task.index(), PointOutcome.Status.FAILED, null, e.getMessage(),
                    run.runId().orElse(null), attempt, executor);
        } catch (IOException e) {
            UncheckedIOException u = new UncheckedIOException("cannot write the files of sweep point " + task.label()
                    + " on executor " + executor, e);
            if (!run.ended()) RunTracking.fail(run, u);
            throw u;
        } catch (RuntimeException e) {
            if (!run.ended()) RunTracking.fail(run, e);   // Spark retries the task; the retry starts a new run
            throw e;
        } finally {
            if (executorForPoint != null) {
                // An executor that failed mid-point may have given up its model half-way: it is not reused.
                if (reusable) ExecutorPool.release(env.factory(), executorForPoint, point.model());
                else executorForPoint.close();
            }
            if (dir != null) SweepRunner.deleteTree(dir);
        }
    }

    /** Runs of {@code key} in the sweep's experiment, on the server and in this executor's outbox. */
    private static List<TaggedRun> sameKey(Tracker tracker, TaskEnv env, String key) {
        return tracker.runsTagged(env.experiment(), MlflowNames.SPEC_KEY_TAG).stream()
                .filter(t -> key.equals(t.value())).toList();
    }

    private static RunSpec readSpec(PointTask task) {
        try {
            RunSpec spec = SweepRunner.JSON.readValue(task.specJson(), RunSpec.class);
            if (!spec.key().equals(task.key())) {
                throw new IllegalStateException("sweep point " + task.label() + " changed its run key on the way to the"
                        + " executor (" + task.key() + " -> " + spec.key() + "): driver and executors run different"
                        + " prunelab builds; ship the same jar to both");
            }
            return spec;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot read sweep point " + task.label() + " on the executor: "
                    + e.getOriginalMessage() + "; driver and executors run different prunelab builds", e);
        }
    }

    /** Once per JVM: the thread count, and the executor's own setup when asked for. */
    private static void prepare(TaskEnv env) {
        synchronized (PREPARE) {
            if (Parallel.threads() != env.threads()) Parallel.setThreads(env.threads());
            if (env.executorSetup() && !setupDone) {
                Setup.system().ensure(List.of(), line -> System.err.println("prunelab executor setup: " + line));
                setupDone = true;
            }
        }
    }

    /** A missing model here is said plainly: the executor's cache is not the driver's. */
    private static void checkModelHere(RunSpec point, String executor) {
        try {
            ModelLoader.resolve(point.model(), PrunelabHome.fromEnvironment());
        } catch (PrunelabException e) {
            throw new PrunelabException.Setup("on executor " + executor + " (PRUNELAB_HOME "
                    + PrunelabHome.fromEnvironment().root() + "): " + e.getMessage() + ". Executors read models and corpora"
                    + " from their own PRUNELAB_HOME: put it on storage every node mounts"
                    + " (--conf spark.executorEnv.PRUNELAB_HOME=/shared/prunelab) or let each executor fetch them"
                    + " (--conf prunelab.executor.setup=true)", e);
        }
    }

    private static Tracker openTracker(TaskEnv env) {
        Map<String, String> tags = new LinkedHashMap<>(RunContext.tags(null));
        tags.putAll(env.contextTags());    // the driver's commit and version
        tags.putAll(hostTags());           // this executor's machine
        Path outbox = env.outboxDir() != null ? Path.of(env.outboxDir())
                : PrunelabHome.fromEnvironment().root().resolve("mlflow-outbox");
        if (env.trackingUri() == null) return Tracker.offline(outbox, tags, env.offlineReason());
        return Tracker.connect(URI.create(env.trackingUri()), outbox, python(env), tags, false);
    }

    private static Map<String, String> hostTags() {
        Map<String, String> own = RunContext.tags(null);
        Map<String, String> host = new LinkedHashMap<>();
        for (String k : List.of(MlflowNames.CPU_MODEL_TAG, MlflowNames.CPU_COUNT_TAG, MlflowNames.OS_TAG, MlflowNames.JDK_VERSION_TAG)) {
            if (own.containsKey(k)) host.put(k, own.get(k));
        }
        return host;
    }

    /** The Python for artifact uploads here: the executor's MLFLOW_PYTHON_EXECUTABLE, else the driver's path. */
    private static Path python(TaskEnv env) {
        String own = System.getenv("MLFLOW_PYTHON_EXECUTABLE");
        if (own != null && !own.isBlank()) return Path.of(own);
        return Path.of(env.driverPython() == null ? "python3" : env.driverPython());
    }

    /** Why artifacts cannot be uploaded from this executor, or null when they can. */
    private static String artifactProblem(TaskEnv env) {
        if (env.trackingUri() == null) return null;   // offline: the outbox keeps copies, the sync uploads them
        Path python = python(env);
        if (Files.isExecutable(python)) return null;
        return "no Python at " + python + " on executor " + executorName() + "; set spark.executorEnv.MLFLOW_PYTHON_EXECUTABLE"
                + " to a Python with mlflow installed there";
    }

    private static String executorName() {
        SparkEnv env = SparkEnv.get();
        String id = env == null ? "?" : env.executorId();
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "?";
        }
        return id + "@" + host;
    }
}
