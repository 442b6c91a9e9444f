package org.prunelab.sweep;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.run.RunExecutor;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.track.MlflowNames;
import org.prunelab.track.RunTracking;
import org.prunelab.track.MlflowNames.Metric;
import org.prunelab.track.MlflowNames.Param;
import org.prunelab.track.RunStatus;
import org.prunelab.track.TaggedRun;
import org.prunelab.track.TrackedRun;
import org.prunelab.track.Tracker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Runs a sweep as one MLflow parent run with a nested run per point, and each point's evaluation sets as runs
 * nested under the point (params {@code eval_dataset}, {@code language}; metrics {@code perplexity},
 * {@code perplexity_dense}, {@code ppl_ratio}).
 *
 * <p><b>Resuming.</b> Every point run carries the tag {@value MlflowNames#SPEC_KEY_TAG} = {@link RunSpec#key()}.
 * Before running, the runner asks the {@link Tracker} for finished runs with that tag (on the server and in
 * the outbox) and skips their points; so a killed sweep, run again, does only the missing points. Point runs
 * a dead process left RUNNING are marked KILLED and their points run again. While tracking is offline the
 * server cannot be asked, so points with a stored result (below) count as finished too. Run one sweep per
 * experiment at a time.
 *
 * <p><b>Results.</b> Each point's {@link RunResult} is stored as {@code <stateDir>/<experiment>/<key>.json}
 * (written before the run is marked finished), so tables cover points run by earlier invocations. A point
 * that throws a {@link RuntimeException} is marked FAILED and the sweep goes on; an {@link Error} (or the
 * process dying) leaves the runs RUNNING, as a kill would.
 */
public final class SweepRunner {
    /** How point results are written and read ({@code <key>.json}, {@code point_result.json}). */
    public static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Tracker tracker;
    private final RunExecutor executor;
    private final Path stateDir;

    /**
     * @param stateDir where point results and temporary files go (normally {@code mlruns/sweeps})
     */
    public SweepRunner(Tracker tracker, RunExecutor executor, Path stateDir) {
        this.tracker = tracker;
        this.executor = executor;
        this.stateDir = stateDir;
    }

    /**
     * Runs every point of {@code spec} that has no finished run yet.
     *
     * @param progress told {@code (points done, points to run, label)} with the running point's stage in the label
     */
    public SweepOutcome run(SweepSpec spec, Progress progress) {
        Path resultsDir = resultsDir(stateDir, spec);
        Set<String> finished = finishedKeys(tracker, spec, resultsDir);
        List<RunSpec> todo = spec.points().stream().filter(p -> !finished.contains(p.key())).toList();
        int skipped = spec.points().size() - todo.size();

        TrackedRun parent = startParent(tracker, spec, todo.size(), skipped, Map.of());
        List<String> failures = new ArrayList<>();
        Path work = tempDir(resultsDir);
        try {
            parent.logArtifact(writeFile(work.resolve("sweep_spec.yaml"), spec.text()));
            for (int i = 0; i < todo.size(); i++) {
                RunSpec point = todo.get(i);
                int done = i;
                String prefix = "point " + (i + 1) + "/" + todo.size() + " " + label(spec, point);
                progress.update(done, todo.size(), prefix);
                runPoint(parent, spec, point, work, resultsDir, failures,
                        (d, t, label) -> progress.update(done, todo.size(), prefix + ": " + label));
            }
            progress.update(todo.size(), todo.size(), "points");
            endParent(parent, todo.size(), failures.size());
        } catch (RuntimeException e) {
            parent.end(RunStatus.FAILED);
            throw e;
        } finally {
            progress.finish();
            deleteTree(work);
        }
        return outcome(spec, resultsDir, todo.size(), skipped, failures, parent);
    }

    /** Where a sweep's point results are kept: {@code <stateDir>/<experiment>}. */
    public static Path resultsDir(Path stateDir, SweepSpec spec) {
        return stateDir.resolve(spec.experiment());
    }

    /**
     * Starts the sweep's parent run with the params every engine logs ({@code sweep}, {@code profile}, {@code points},
     * {@code points_to_run}, {@code points_skipped}) and the sweep tag, plus {@code tags}.
     */
    public static TrackedRun startParent(Tracker tracker, SweepSpec spec, int toRun, int skipped, Map<String, String> tags) {
        TrackedRun parent = tracker.startRun(spec.experiment(), spec.name());
        Map<String, String> t = new LinkedHashMap<>(tags);
        t.put(MlflowNames.SWEEP_TAG, spec.name());
        parent.setTags(t);
        Map<Param, Object> params = new LinkedHashMap<>();
        params.put(Param.SWEEP, spec.name());
        params.put(Param.PROFILE, spec.profile() == null ? "none" : spec.profile());
        params.put(Param.POINTS, spec.points().size());
        params.put(Param.POINTS_TO_RUN, toRun);
        params.put(Param.POINTS_SKIPPED, skipped);
        parent.logParams(params);
        return parent;
    }

    /** Logs the parent's counts and ends it: FINISHED when no point failed, else FAILED. */
    public static void endParent(TrackedRun parent, int toRun, int failed) {
        parent.logMetrics(Map.of(Metric.POINTS_FAILED, failed, Metric.POINTS_RUN, toRun - failed));
        parent.end(failed == 0 ? RunStatus.FINISHED : RunStatus.FAILED);
    }

    /** The outcome of an invocation: the stored results of every point of {@code spec} (run now or earlier). */
    public static SweepOutcome outcome(SweepSpec spec, Path resultsDir, int ran, int skipped, List<String> failures,
                                       TrackedRun parent) {
        List<RunResult> results = new ArrayList<>();
        for (RunSpec p : spec.points()) readResult(resultsDir, p).ifPresent(results::add);
        return new SweepOutcome(spec, results, ran, skipped, failures, parent.runId());
    }

    /** The point's name, with its model in front when the sweep spans several models ({@code gemma3-270m wanda-2:4}). */
    public static String label(SweepSpec spec, RunSpec point) {
        boolean several = spec.points().stream().map(RunSpec::model).distinct().count() > 1;
        return several ? point.model() + " " + point.name() : point.name();
    }

    private void runPoint(TrackedRun parent, SweepSpec spec, RunSpec point, Path work, Path resultsDir,
                          List<String> failures, Progress progress) {
        TrackedRun run = RunTracking.start(tracker, spec.experiment(), parent, point, label(spec, point), "sweep",
                Map.of(MlflowNames.SWEEP_TAG, spec.name()));
        try {
            Path dir = Files.createDirectories(work.resolve(point.key()));
            RunResult r = executor.run(point, dir, progress);
            Files.copy(storeResult(resultsDir, r), dir.resolve("point_result.json"));
            RunTracking.finish(run, r, dir);   // prune_report.json, run_spec.yaml, point_result.json, ids in one upload
        } catch (IOException e) {
            run.end(RunStatus.FAILED);
            throw new UncheckedIOException("cannot write the files of sweep point " + point.name(), e);
        } catch (RuntimeException e) {
            RunTracking.fail(run, e);
            if (!(e instanceof PrunelabException)) throw e;   // a bug, not a bad point: stop the sweep
            failures.add(label(spec, point) + ": " + e.getMessage());
        }
    }

    /**
     * The keys of points finished earlier: finished runs on the server or in the outbox (and stored results when
     * offline). Point runs of {@code spec} and parent runs of this sweep that a dead process left RUNNING are marked
     * KILLED on the way (one sweep per experiment at a time).
     */
    public static Set<String> finishedKeys(Tracker tracker, SweepSpec spec, Path resultsDir) {
        Set<String> keys = new HashSet<>();
        Set<String> ours = new HashSet<>();
        spec.points().forEach(p -> ours.add(p.key()));
        List<TaggedRun> tagged = tracker.runsTagged(spec.experiment(), MlflowNames.SPEC_KEY_TAG);
        for (TaggedRun t : tagged) {
            if (t.finished()) keys.add(t.value());
        }
        // Runs a dead process left RUNNING: our points, and the parent runs of earlier invocations of this sweep
        // (one sweep per experiment at a time, so a RUNNING run of this sweep now is a dead one).
        Set<String> dead = new java.util.LinkedHashSet<>();
        for (TaggedRun t : tagged) {
            if ("RUNNING".equals(t.status()) && !t.inOutbox() && ours.contains(t.value())) dead.add(t.runId());
        }
        for (TaggedRun t : tracker.runsTagged(spec.experiment(), MlflowNames.SWEEP_TAG)) {
            if ("RUNNING".equals(t.status()) && !t.inOutbox() && spec.name().equals(t.value())) dead.add(t.runId());
        }
        dead.forEach(tracker::markKilled);
        if (!tracker.isOnline()) {
            for (RunSpec p : spec.points()) {
                if (Files.isRegularFile(resultFile(resultsDir, p))) keys.add(p.key());
            }
        }
        return keys;
    }

    static Path resultFile(Path resultsDir, RunSpec point) {
        return resultsDir.resolve(point.key() + ".json");
    }

    /** Stores a point's result as {@code <resultsDir>/<key>.json} (atomically) and returns the file. */
    public static Path storeResult(Path resultsDir, RunResult r) throws IOException {
        Files.createDirectories(resultsDir);
        Path target = resultFile(resultsDir, r.spec());
        Path tmp = Files.createTempFile(resultsDir, ".point", ".tmp");
        Files.writeString(tmp, JSON.writeValueAsString(r));
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    /** The stored result of a point, if one exists and still matches its spec. */
    public static java.util.Optional<RunResult> readResult(Path resultsDir, RunSpec point) {
        Path file = resultFile(resultsDir, point);
        if (!Files.isRegularFile(file)) return java.util.Optional.empty();
        try {
            RunResult r = JSON.readValue(file.toFile(), RunResult.class);
            return r.spec().key().equals(point.key()) ? java.util.Optional.of(r) : java.util.Optional.empty();
        } catch (IOException e) {
            return java.util.Optional.empty();   // torn or foreign file: the point's run is what counts
        }
    }

    /** A fresh temporary folder under {@code resultsDir} for a run's files. */
    public static Path tempDir(Path resultsDir) {
        try {
            Files.createDirectories(resultsDir);
            return Files.createTempDirectory(resultsDir, ".work");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a work folder under " + resultsDir, e);
        }
    }

    /** Writes {@code text} to {@code file} (folders created) and returns it. */
    public static Path writeFile(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            return Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Deletes a folder and everything in it; a leftover is harmless and not reported. */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            // a leftover temporary folder is harmless
        }
    }
}
