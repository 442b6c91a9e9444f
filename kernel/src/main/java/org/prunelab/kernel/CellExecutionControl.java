package org.prunelab.kernel;

import jdk.jshell.execution.DirectExecutionControl;
import jdk.jshell.spi.SPIResolutionException;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs JShell snippets in the kernel's own JVM, each on a worker thread so that an interrupt request can
 * stop it ({@link Thread#interrupt()}) while the kernel keeps answering Jupyter.
 *
 * <p>Why {@link DirectExecutionControl} and not {@code LocalExecutionControl}: on JDK 25 a subclass of the
 * latter fails every snippet with {@code EvalException: REPL.$Cancel$} (STACK.md). In-process execution
 * also lets snippets share prunelab's classes, and the kernel's renderers, with the kernel itself.
 *
 * <p>JShell only sees a snippet's value as a string; {@link #invoke(Method)} keeps the real object in a
 * one-slot store and hands JShell a key, which {@link CellEvaluator} exchanges for the object. The user's
 * own exception is kept the same way, so the kernel can show its real type and message.
 */
final class CellExecutionControl extends DirectExecutionControl {
    /** Class name JShell reports for a snippet that was interrupted (spaces: cannot collide with a class). */
    static final String INTERRUPTED = "Cell Interrupted";

    private static final AtomicInteger THREADS = new AtomicInteger();

    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "prunelab-cell-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        return t;
    });
    private volatile Future<Object> running;
    private final AtomicInteger keys = new AtomicInteger();
    private String resultKey;
    private Object result;
    private Throwable lastError;

    @Override
    protected String invoke(Method doitMethod) throws Exception {
        Future<Object> task = executor.submit(() -> doitMethod.invoke(null));
        running = task;
        try {
            Object value = task.get();
            synchronized (this) {
                resultKey = "prunelab-result-" + keys.incrementAndGet();
                result = value;
                return resultKey;
            }
        } catch (CancellationException e) {
            throw new UserException("the cell was interrupted", INTERRUPTED, new StackTraceElement[0]);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof InvocationTargetException ite ? ite.getCause() : e.getCause();
            if (cause instanceof SPIResolutionException sre) {
                throw new ResolutionException(sre.id(), sre.getStackTrace());
            }
            synchronized (this) {
                lastError = cause;
            }
            throw new UserException(String.valueOf(cause.getMessage()), cause.getClass().getName(), cause.getStackTrace());
        } finally {
            running = null;
        }
    }

    /** The object behind a key JShell reported as a snippet's value, or null if the key is not the latest. */
    synchronized Object takeResult(String key) {
        if (key == null || !key.equals(resultKey)) return null;
        Object value = result;
        resultKey = null;
        result = null;
        return value;
    }

    /** The exception the last failing snippet threw, once; null if there is none. */
    synchronized Throwable takeError() {
        Throwable e = lastError;
        lastError = null;
        return e;
    }

    /**
     * Interrupts the running snippet: its thread gets {@link Thread#interrupt()} and the cell ends at once
     * with an "interrupted" error. Work that checks {@link Thread#isInterrupted()} (prunelab's notebook
     * progress does, per window and per block) stops soon after.
     */
    void interrupt() {
        Future<Object> task = running;
        if (task != null) task.cancel(true);
    }

    @Override
    public void stop() {
        interrupt();
    }

    @Override
    public void close() {
        executor.shutdownNow();
        super.close();
    }
}
