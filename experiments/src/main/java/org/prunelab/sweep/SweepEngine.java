package org.prunelab.sweep;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.track.Tracker;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Where a sweep's points run, other than in this process ({@link SweepRunner}, the default): an engine runs the same
 * {@link SweepSpec} with the same run keys, logs every point as a nested run under one parent run per invocation,
 * skips points already FINISHED in MLflow, and stores each point's result where {@link SweepRunner#readResult} finds
 * it, so {@code tradeoff}'s tables cover its points as they cover in-process ones.
 *
 * <p>Engines are found with {@link ServiceLoader} ({@code META-INF/services/org.prunelab.sweep.SweepEngine}), so a
 * module with heavy dependencies (Spark: module {@code spark/}) plugs in without {@code experiments} depending on it.
 */
public interface SweepEngine {

    /** The name {@code --engine} selects it by ({@code spark}). */
    String name();

    /**
     * Runs every point of {@code job.spec()} that has no finished run yet.
     *
     * @param progress told {@code (points done, points to run, label)}
     * @throws PrunelabException for a configuration the engine refuses (named), or when its cluster gives up
     */
    SweepOutcome run(Job job, Progress progress);

    /**
     * Refuses bad settings before anything is set up or loaded (the command line calls it first).
     *
     * @param options         as {@link Job#options()}
     * @param threadsPerPoint as {@link Job#threadsPerPoint()}
     * @throws PrunelabException.InvalidArgument naming the setting and what to give instead
     */
    default void checkOptions(Map<String, String> options, Integer threadsPerPoint) {}

    /** One line saying where and how points ran, for result files ({@code spark local[2,4], 1 thread per task}). */
    String describe(Job job);

    /**
     * What an engine is given.
     *
     * @param spec            the sweep, every point already planned by the caller
     * @param tracker         tracking for the parent run (and the points, where they run in this process)
     * @param stateDir        where point results go ({@code mlruns/sweeps}; see {@link SweepRunner#resultsDir})
     * @param projectRoot     the checkout ({@code mlruns/} lives there)
     * @param threadsPerPoint threads each point computes with, or null for the engine's default
     * @param options         engine settings from the command line ({@code --master}, {@code --conf key=value}),
     *                        by key: {@code spark.*} keys are Spark's, {@code prunelab.*} keys the engine's own
     */
    record Job(SweepSpec spec, Tracker tracker, Path stateDir, Path projectRoot, Integer threadsPerPoint,
               Map<String, String> options) {
        public Job {
            options = Map.copyOf(options);
        }
    }

    /**
     * The engine named {@code name}, from the classpath.
     *
     * @throws PrunelabException.InvalidArgument when no engine of that name is on the classpath (saying which are)
     */
    static SweepEngine byName(String name) {
        List<SweepEngine> found = ServiceLoader.load(SweepEngine.class).stream().map(ServiceLoader.Provider::get).toList();
        for (SweepEngine e : found) {
            if (e.name().equals(name)) return e;
        }
        String have = found.isEmpty() ? "none" : String.join(", ", found.stream().map(SweepEngine::name).toList());
        String hint = name.equals("spark")
                ? "; the Spark engine lives in the spark/ module: run through ./prunelab (which puts it on the classpath"
                + " for --engine spark) or spark-submit spark/target/prunelab-spark.jar"
                : "";
        throw new PrunelabException.InvalidArgument("no sweep engine '" + name + "' on the classpath (engines found: "
                + have + "; in-process is built in)" + hint);
    }
}
