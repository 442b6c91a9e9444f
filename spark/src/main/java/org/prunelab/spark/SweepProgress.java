package org.prunelab.spark;

import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.prunelab.Progress;

import java.util.List;

/**
 * The driver's view of a running sweep: points done out of points to run, and what just happened (a point started on
 * an executor, finished, failed and is retried). Fed by Spark's listener bus and by the results as they arrive.
 */
final class SweepProgress extends SparkListener {
    private final List<PointTask> tasks;
    private final Progress progress;
    private int done;

    SweepProgress(List<PointTask> tasks, Progress progress) {
        this.tasks = tasks;
        this.progress = progress;
        progress.update(0, tasks.size(), "points: starting Spark tasks");
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart start) {
        int i = start.taskInfo().index();
        if (i < 0 || i >= tasks.size()) return;
        int attempt = start.taskInfo().attemptNumber();
        report("started " + tasks.get(i).label() + (attempt > 0 ? " (attempt " + (attempt + 1) + ")" : "")
                + " on executor " + start.taskInfo().executorId());
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        int i = end.taskInfo().index();
        if (i < 0 || i >= tasks.size() || end.reason() == Success$.MODULE$) return;
        report(tasks.get(i).label() + " failed on executor " + end.taskInfo().executorId() + " ("
                + end.reason().toString().lines().findFirst().orElse("") + "); Spark retries it");
    }

    /** A point's outcome reached the driver. */
    void pointDone(PointOutcome o) {
        String what = switch (o.status()) {
            case FINISHED -> "finished ";
            case FAILED -> "failed (not retried: a bad point) ";
            case ALREADY_FINISHED -> "was already finished by another attempt: ";
        };
        synchronized (this) {
            done++;
        }
        report(what + tasks.get(o.index()).label() + " on executor " + o.executor());
    }

    private synchronized void report(String label) {
        progress.update(done, tasks.size(), label);
    }
}
