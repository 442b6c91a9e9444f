package org.prunelab.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.sweep.SweepEngine;
import org.prunelab.sweep.SweepOutcome;
import org.prunelab.sweep.SweepRunner;
import org.prunelab.sweep.SweepSpec;
import org.prunelab.track.MlflowNames;
import org.prunelab.track.RunContext;
import org.prunelab.track.RunStatus;
import org.prunelab.track.TrackedRun;
import org.prunelab.track.Tracker;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --engine spark}: a sweep's points as the tasks of one Spark job, one point per task.
 *
 * <p>The driver (this class, in the {@code prunelab tradeoff} JVM) skips points already FINISHED in MLflow or the
 * outbox, exactly as {@link SweepRunner} does, starts the sweep's parent run, and submits one task per remaining point.
 * Each executor runs its points through the one run path ({@link org.prunelab.run.Pipeline}, kept per task slot
 * across points: {@link ExecutorPool}) and logs each as a run nested under the parent, to the same MLflow server, or to
 * its outbox when the server is unreachable ({@link PointRunner}). Results come back to the driver as each task ends
 * and are stored where {@code tradeoff}'s tables read them, so a job that aborts keeps what finished.
 *
 * <p>Spark retries a failed task (up to {@code spark.task.maxFailures}, default 4; a {@code local[N]} master becomes
 * {@code local[N,4]}, since local mode otherwise tries a task once); the spec key keeps a retried point from being
 * logged twice. Speculative execution is refused: it would run points twice on purpose.
 *
 * <p>Settings ({@link SweepEngine.Job#options()}): every {@code spark.*} key is passed to Spark ({@code spark.master}
 * from {@code --master}; otherwise what spark-submit set, else {@code local[*]}); the engine's own keys are
 * {@value #EXECUTOR_SETUP}, {@value #OUTBOX} and {@value #JAR}.
 */
public final class SparkSweepEngine implements SweepEngine {
    /** {@code true}: each executor fetches the models and corpora into its own {@code PRUNELAB_HOME} first. */
    public static final String EXECUTOR_SETUP = "prunelab.executor.setup";
    /** A folder for the executors' outboxes (default: {@code mlruns/outbox} in local mode, else each executor's {@code PRUNELAB_HOME/mlflow-outbox}). */
    public static final String OUTBOX = "prunelab.outbox";
    /** The spark-submit jar to ship to a cluster's executors when spark-submit did not (default: {@code spark/target/prunelab-spark.jar}). */
    public static final String JAR = "prunelab.jar";
    private static final Set<String> OWN_KEYS = Set.of(EXECUTOR_SETUP, OUTBOX, JAR);

    /** The JVM flags prunelab needs on every executor: the Vector API, native access (FFM, OpenBLAS), headless AWT. */
    static final String EXECUTOR_FLAGS = "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
            + " --sun-misc-unsafe-memory-access=allow -Djava.awt.headless=true";

    private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\d+|\\*)])?");
    private static final int DEFAULT_MAX_FAILURES = 4;

    private final ExecutorFactory factory;

    /** The engine {@code --engine spark} finds: points run on {@link org.prunelab.run.Pipeline}. */
    public SparkSweepEngine() {
        this(ExecutorFactory.PIPELINE);
    }

    /** An engine whose executors run points with what {@code factory} makes (tests inject faults this way). */
    public SparkSweepEngine(ExecutorFactory factory) {
        this.factory = factory;
    }

    @Override
    public String name() {
        return "spark";
    }

    @Override
    public String describe(Job job) {
        SparkConf conf = conf(job);
        return "spark " + conf.get("spark.master") + " (Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION()
                + ", JDK " + Runtime.version().feature() + "), " + threads(job, conf) + " thread(s) per task";
    }

    @Override
    public SweepOutcome run(Job job, Progress progress) {
        SweepSpec spec = job.spec();
        Tracker tracker = job.tracker();
        SparkConf conf = conf(job);
        Path resultsDir = SweepRunner.resultsDir(job.stateDir(), spec);
        String outbox = outboxDir(job, conf);
        syncSharedOutbox(job, outbox);
        Set<String> finished = SweepRunner.finishedKeys(tracker, spec, resultsDir);
        List<RunSpec> todo = spec.points().stream().filter(p -> !finished.contains(p.key())).toList();
        int skipped = spec.points().size() - todo.size();
        String master = conf.get("spark.master");

        if (todo.isEmpty()) {
            TrackedRun parent = SweepRunner.startParent(tracker, spec, 0, skipped, Map.of(SparkTags.ENGINE, "spark",
                    SparkTags.MASTER, master));
            SweepRunner.endParent(parent, 0, 0);
            progress.finish();
            return SweepRunner.outcome(spec, resultsDir, 0, skipped, List.of(), parent);
        }
        warnIfLoopback(tracker, master);
        List<PointTask> tasks = tasks(spec, todo);
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        TrackedRun parent = null;
        Path work = SweepRunner.tempDir(resultsDir);
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            Map<String, String> tags = new LinkedHashMap<>();
            tags.put(SparkTags.ENGINE, "spark");
            tags.put(SparkTags.MASTER, master);
            tags.put(SparkTags.APP_ID, jsc.sc().applicationId());
            parent = SweepRunner.startParent(tracker, spec, todo.size(), skipped, tags);
            parent.logArtifact(SweepRunner.writeFile(work.resolve("sweep_spec.yaml"), spec.text()));
            TaskEnv env = env(job, conf, tracker, parent, outbox);
            SweepProgress listener = new SweepProgress(tasks, progress);
            jsc.sc().addSparkListener(listener);
            JavaRDD<PointTask> rdd = jsc.parallelize(tasks, tasks.size());
            jsc.setJobDescription("prunelab sweep " + spec.name() + ": " + tasks.size() + " points");
            jsc.sc().runJob(rdd.rdd(), new RunPoint(env), new Collect(o -> {
                collected(spec, tasks, todo, resultsDir, failures, o);
                listener.pointDone(o);
            }), ClassTag$.MODULE$.apply(PointOutcome.class));
            SweepRunner.endParent(parent, todo.size(), failures.size());
        } catch (Exception e) {   // Scala declares no checked exceptions: a SparkException arrives undeclared
            if (parent != null && !parent.ended()) parent.end(RunStatus.FAILED);
            if (e instanceof SparkException) {
                throw new PrunelabException("the Spark job gave up: " + firstLine(e.getMessage()) + ". Points that"
                        + " finished are in MLflow and are skipped when the sweep runs again", e);
            }
            if (e instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e);
        } finally {
            progress.finish();
            SweepRunner.deleteTree(work);
            if (master.startsWith("local")) ExecutorPool.closeAll();   // the executor was this JVM
        }
        return SweepRunner.outcome(spec, resultsDir, todo.size(), skipped, List.copyOf(failures), parent);
    }

    /** One task per point, in spec order. */
    private static List<PointTask> tasks(SweepSpec spec, List<RunSpec> todo) {
        List<PointTask> tasks = new ArrayList<>();
        for (int i = 0; i < todo.size(); i++) {
            RunSpec p = todo.get(i);
            try {
                tasks.add(new PointTask(i, p.key(), SweepRunner.JSON.writeValueAsString(p), SweepRunner.label(spec, p)));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a run spec always serialises", e);
            }
        }
        return tasks;
    }

    /** A task's outcome on the driver (DAGScheduler thread): store the result, note a failure. */
    private static void collected(SweepSpec spec, List<PointTask> tasks, List<RunSpec> todo, Path resultsDir,
                                  List<String> failures, PointOutcome o) {
        PointTask task = tasks.get(o.index());
        switch (o.status()) {
            case FINISHED -> {
                try {
                    RunResult r = SweepRunner.JSON.readValue(o.resultJson(), RunResult.class);
                    if (!r.spec().key().equals(todo.get(o.index()).key())) {
                        throw new IllegalStateException("the result of " + task.label() + " came back with another run key");
                    }
                    SweepRunner.storeResult(resultsDir, r);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot store the result of sweep point " + task.label(), e);
                }
            }
            case FAILED -> failures.add(task.label() + ": " + o.message());
            case ALREADY_FINISHED -> { }   // logged by an earlier attempt; its result stays in MLflow (point_result.json)
        }
    }

    @Override
    public void checkOptions(Map<String, String> options, Integer threadsPerPoint) {
        for (Map.Entry<String, String> o : options.entrySet()) {
            String key = o.getKey();
            if (!key.startsWith("spark.") && !OWN_KEYS.contains(key)) {
                throw new PrunelabException.InvalidArgument("unknown --conf " + key + ": give a Spark setting (spark.*) or"
                        + " one of " + String.join(", ", OWN_KEYS.stream().sorted().toList()));
            }
        }
        if (Boolean.parseBoolean(options.getOrDefault("spark.speculation", System.getProperty("spark.speculation", "false")).strip())) {
            throw new PrunelabException.InvalidArgument("spark.speculation=true would run sweep points twice on purpose"
                    + " (each copy pruning and evaluating the whole point); leave it off for prunelab sweeps");
        }
        if (threadsPerPoint != null && threadsPerPoint < 1) {
            throw new PrunelabException.InvalidArgument("--threads must be at least 1, got " + threadsPerPoint);
        }
        String setup = options.get(EXECUTOR_SETUP);
        if (setup != null && !setup.equals("true") && !setup.equals("false")) {
            throw new PrunelabException.InvalidArgument("--conf " + EXECUTOR_SETUP + " must be true or false, got " + setup);
        }
    }

    /** Spark's settings: the job's {@code spark.*} options over what spark-submit set, with the engine's defaults. */
    SparkConf conf(Job job) {
        checkOptions(job.options(), job.threadsPerPoint());
        SparkConf conf = new SparkConf(true);
        job.options().forEach((key, value) -> {
            if (key.startsWith("spark.")) conf.set(key, value);
        });
        int maxFailures = conf.getInt("spark.task.maxFailures", DEFAULT_MAX_FAILURES);
        conf.setMaster(withRetries(conf.get("spark.master", "local[*]"), maxFailures));
        conf.setIfMissing("spark.app.name", "prunelab " + job.spec().name());
        conf.set("spark.speculation", "false");
        if (job.threadsPerPoint() != null) conf.set("spark.task.cpus", Integer.toString(job.threadsPerPoint()));
        String flags = conf.get("spark.executor.extraJavaOptions", "");
        if (!flags.contains("jdk.incubator.vector")) {
            conf.set("spark.executor.extraJavaOptions", (flags + " " + EXECUTOR_FLAGS).strip());
        }
        if (!conf.get("spark.master").startsWith("local") && conf.get("spark.jars", "").isBlank()) {
            Path jar = job.options().containsKey(JAR) ? Path.of(job.options().get(JAR))
                    : job.projectRoot().resolve("spark/target/prunelab-spark.jar");
            if (!Files.isRegularFile(jar)) {
                throw new PrunelabException.Setup("executors on " + conf.get("spark.master") + " need prunelab's classes, and"
                        + " there is no jar at " + jar + ": build it (mvn -B -q -Pspark-jar -pl spark -am package -DskipTests),"
                        + " pass another with --conf " + JAR + "=PATH, or start the driver with spark-submit");
            }
            conf.set("spark.jars", jar.toAbsolutePath().toString());
        }
        return conf;
    }

    /**
     * {@code local} / {@code local[N]} / {@code local[*]} as {@code local[N,F]}: local mode tries a task once unless its
     * master names a failure count, and sweep points should be retried as on a cluster.
     */
    static String withRetries(String master, int maxFailures) {
        Matcher m = LOCAL.matcher(master.strip());
        if (!m.matches()) return master.strip();
        String n = m.group(1) == null ? "1" : m.group(1);
        return "local[" + n + "," + maxFailures + "]";
    }

    private static int threads(Job job, SparkConf conf) {
        return job.threadsPerPoint() != null ? job.threadsPerPoint() : conf.getInt("spark.task.cpus", 1);
    }

    private TaskEnv env(Job job, SparkConf conf, Tracker tracker, TrackedRun parent, String outbox) {
        boolean online = tracker.isOnline() && parent.runId().isPresent();
        String uri = online ? tracker.trackingUri().map(URI::toString).orElse(null) : null;
        String reason = online ? null : tracker.offlineReason().orElse("the driver's tracking is offline");
        Map<String, String> driverTags = new LinkedHashMap<>();
        RunContext.tags(job.projectRoot()).forEach((k, v) -> {
            if (k.startsWith("mlflow.source") || k.equals(MlflowNames.GIT_DIRTY_TAG) || k.equals(MlflowNames.VERSION_TAG)) {
                driverTags.put(k, v);
            }
        });
        return new TaskEnv(job.spec().name(), parent.ref(), uri, reason, outbox,
                Tracker.pythonFor(job.projectRoot()).toAbsolutePath().toString(), driverTags, threads(job, conf),
                Boolean.parseBoolean(job.options().getOrDefault(EXECUTOR_SETUP, "false")), factory);
    }

    private static String outboxDir(Job job, SparkConf conf) {
        if (job.options().containsKey(OUTBOX)) return Path.of(job.options().get(OUTBOX)).toAbsolutePath().toString();
        if (conf.get("spark.master").startsWith("local")) {
            return job.projectRoot().resolve("mlruns/outbox").toAbsolutePath().toString();
        }
        return null;
    }

    /** Records executors left in a shared outbox folder reach the server first, so finished points there are skipped. */
    private static void syncSharedOutbox(Job job, String outbox) {
        if (!job.options().containsKey(OUTBOX) || outbox == null || !Files.isDirectory(Path.of(outbox))) return;
        URI uri = job.tracker().trackingUri().orElse(null);
        if (uri == null || !job.tracker().isOnline()) return;
        try (Tracker t = Tracker.connect(uri, Path.of(outbox), Tracker.pythonFor(job.projectRoot()), RunContext.tags(job.projectRoot()))) {
            t.lastSync().ifPresent(r -> {
                if (!r.problems().isEmpty()) System.err.println("tradeoff: executors' outbox " + outbox + ": " + r.problems());
            });
        }
    }

    private static void warnIfLoopback(Tracker tracker, String master) {
        tracker.trackingUri().flatMap(u -> loopbackWarning(u, master)).ifPresent(System.err::println);
    }

    /**
     * The warning that executors cannot reach MLflow at {@code tracking}: only when it is on loopback and the executors
     * may run on other machines. Not in local mode, nor for a standalone master on loopback ({@code spark://127.0.0.1:7077}):
     * a worker registers with the master's address, so that cluster's workers, and its executors, are on this machine.
     */
    static Optional<String> loopbackWarning(URI tracking, String master) {
        if (!isLoopback(tracking.getHost()) || !executorsMayBeRemote(master)) return Optional.empty();
        return Optional.of("tradeoff: warning: MLflow is at " + tracking + ", which executors on other machines cannot"
                + " reach: their runs go to their outboxes (./prunelab mlflow sync --outbox DIR sends one). Set"
                + " MLFLOW_TRACKING_URI to an address the executors reach.");
    }

    /** False for local mode and for a standalone master whose every address is loopback; true otherwise. */
    static boolean executorsMayBeRemote(String master) {
        String m = master.strip();
        if (m.startsWith("local")) return false;
        if (!m.startsWith("spark://")) return true;   // yarn, k8s://, mesos://: executors go where the cluster puts them
        for (String hostPort : m.substring("spark://".length()).split(",")) {
            String host = hostPort.startsWith("[") ? hostPort.substring(0, hostPort.indexOf(']') + 1)
                    : hostPort.replaceFirst(":\\d+$", "");
            if (!isLoopback(host)) return true;
        }
        return false;
    }

    private static boolean isLoopback(String host) {
        String h = host == null ? "" : host.strip();
        return h.equals("localhost") || h.startsWith("127.") || h.equals("[::1]") || h.equals("::1");
    }

    private static String firstLine(String s) {
        if (s == null) return "no message";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** The task body: one point per partition. */
    private static final class RunPoint extends AbstractFunction2<TaskContext, scala.collection.Iterator<PointTask>, PointOutcome>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final TaskEnv env;

        RunPoint(TaskEnv env) {
            this.env = env;
        }

        @Override
        public PointOutcome apply(TaskContext context, scala.collection.Iterator<PointTask> points) {
            PointTask task = points.next();
            if (points.hasNext()) throw new IllegalStateException("a sweep partition holds one point");
            return PointRunner.run(env, task);
        }
    }

    /** Receives each task's outcome on the driver as the task ends. */
    private static final class Collect extends AbstractFunction2<Object, PointOutcome, BoxedUnit> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final transient Consumer<PointOutcome> sink;

        Collect(Consumer<PointOutcome> sink) {
            this.sink = sink;
        }

        @Override
        public BoxedUnit apply(Object partition, PointOutcome outcome) {
            sink.accept(outcome);
            return BoxedUnit.UNIT;
        }
    }
}
