package org.prunelab.spark;

import org.apache.spark.TaskContext;
import org.prunelab.Progress;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunExecutor;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;

import java.nio.file.Path;
import java.util.Map;

/**
 * Real {@link Pipeline}s that break the first attempt of chosen points mid-point, once pruning has begun (the point's
 * MLflow run is open by then): with a {@link RuntimeException} (the task fails; the run is marked FAILED), or with an
 * {@link Error} that the engine does not catch, so the run stays RUNNING as it does when an executor is lost.
 */
final class FaultyExecutors implements ExecutorFactory {
    private static final long serialVersionUID = 1L;

    enum Fault { EXCEPTION, LOST_EXECUTOR }

    /** What the engine's catch does not see: stands in for a killed executor process. */
    static final class SimulatedExecutorLoss extends Error {
        SimulatedExecutorLoss(String message) {
            super(message);
        }
    }

    private final Map<String, Fault> faults;

    /** @param faults by point run key, what breaks its first attempt */
    FaultyExecutors(Map<String, Fault> faults) {
        this.faults = Map.copyOf(faults);
    }

    @Override
    public RunExecutor create() {
        Pipeline real = new Pipeline(PrunelabHome.fromEnvironment());
        return new RunExecutor() {
            @Override
            public RunResult run(RunSpec spec, Path workDir, Progress progress) {
                Fault fault = faults.get(spec.key());
                boolean first = TaskContext.get() != null && TaskContext.get().attemptNumber() == 0;
                Progress breaking = (done, total, label) -> {
                    if (fault != null && first && label.startsWith("prune")) {
                        String message = "injected fault in " + spec.name() + " while " + label;
                        if (fault == Fault.EXCEPTION) throw new IllegalStateException(message);
                        throw new SimulatedExecutorLoss(message);
                    }
                    progress.update(done, total, label);
                };
                return real.run(spec, workDir, breaking);
            }

            @Override
            public String describe() {
                return real.describe();
            }

            @Override
            public void close() {
                real.close();
            }
        };
    }

    @Override
    public String id() {
        return "faulty:" + faults + ":" + PrunelabHome.fromEnvironment().root();
    }
}
