package org.prunelab.sweep;

import org.prunelab.Progress;
import org.prunelab.run.EvalResult;
import org.prunelab.run.RunExecutor;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link RunExecutor} for tracking tests: no model; each point's "measurements" are derived from its
 * spec so they can be checked after a round trip through MLflow. It can die (throw an {@link Error}, as a
 * killed process stops) before a given call, and run a hook after a given call (e.g. stop the server).
 */
final class ScriptedExecutor implements RunExecutor {
    /** Thrown to stand in for the process being killed mid-sweep. */
    static final class Killed extends Error {
        Killed() { super("simulated kill"); }
    }

    final List<String> ran = new ArrayList<>();
    private final int dieAtCall;
    private final int hookAfterCall;
    private final Runnable hook;

    /** @param dieAtCall 0-based call that dies (-1: never); @param hookAfterCall call after which hook runs (-1: never) */
    ScriptedExecutor(int dieAtCall, int hookAfterCall, Runnable hook) {
        this.dieAtCall = dieAtCall;
        this.hookAfterCall = hookAfterCall;
        this.hook = hook;
    }

    /** The perplexity this executor reports for a point: distinct per point, so mix-ups show. */
    static double perplexity(RunSpec spec) {
        return 20 + 100 * spec.sparsity() + spec.method().length();
    }

    @Override
    public RunResult run(RunSpec spec, Path workDir, Progress progress) {
        if (ran.size() == dieAtCall) throw new Killed();
        ran.add(spec.key());
        try {
            Files.writeString(workDir.resolve("prune_report.json"), "{\"method\":\"" + spec.method() + "\"}\n");
            Files.writeString(workDir.resolve("run_spec.yaml"), spec.toYaml());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<EvalResult> evals = spec.evaluation().stream()
                .map(e -> new EvalResult(e.dataset(), "eng", e.seqlen(), e.windows(), e.split(), "scripted", 10L * e.seqlen(),
                        perplexity(spec), 20.0, Math.log(perplexity(spec)), 0.1)).toList();
        RunResult r = new RunResult(spec, spec.sparsity(), spec.sparsity(), 1000, Math.round(1000 * (1 - spec.sparsity())), 4000,
                1.5, 1 << 20, 0.25, 100, 1.0, 10, 1.0, "dense", evals, List.of());
        if (ran.size() - 1 == hookAfterCall) hook.run();
        return r;
    }

    @Override
    public String describe() {
        return "scripted";
    }

    @Override
    public void close() {}

}
