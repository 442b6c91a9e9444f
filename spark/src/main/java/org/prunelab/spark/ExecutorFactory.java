package org.prunelab.spark;

import org.prunelab.cache.PrunelabHome;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunExecutor;

import java.io.Serializable;

/**
 * Makes the {@link RunExecutor}s a Spark executor runs its points with. Shipped to executors inside each task, so it
 * must be serialisable and small; what it makes stays on the executor ({@link ExecutorPool}). The engine's default is
 * {@link #PIPELINE}: the one run path, {@link Pipeline}, over the executor's own {@code PRUNELAB_HOME}.
 */
public interface ExecutorFactory extends Serializable {

    /** A new executor for points on this JVM (called on the Spark executor). */
    RunExecutor create();

    /**
     * Which executors are interchangeable: executors made by factories with the same id are pooled together on a JVM.
     * Evaluated on the Spark executor.
     */
    String id();

    /** {@link Pipeline} over {@link PrunelabHome#fromEnvironment()} of the executor's JVM. */
    ExecutorFactory PIPELINE = new PipelineFactory();

    /** The default factory; a named class (not a lambda) so its serialised form is stable across builds. */
    final class PipelineFactory implements ExecutorFactory {
        private static final long serialVersionUID = 1L;

        @Override
        public RunExecutor create() {
            return new Pipeline(PrunelabHome.fromEnvironment());
        }

        @Override
        public String id() {
            return "pipeline:" + PrunelabHome.fromEnvironment().root();
        }

        private Object readResolve() {
            return PIPELINE;
        }
    }
}
