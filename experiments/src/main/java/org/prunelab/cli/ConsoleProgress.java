package org.prunelab.cli;

import org.prunelab.Progress;

import java.io.PrintStream;

/**
 * A progress bar on stderr: {@code [#####-----] 12/30 windows  0:12 elapsed, ETA 0:20}. On a terminal
 * it redraws one line in place; in a log (CI, pipes) it prints a line at most every 10% so logs stay short.
 */
final class ConsoleProgress implements Progress {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private final String task;
    private final boolean interactive;
    private final long start = System.nanoTime();
    private long lastDecile = -1;
    private boolean drawn;

    ConsoleProgress(String task) {
        this(System.err, task, stderrIsTerminal());
    }

    /** The launcher tells whether stderr is a terminal ({@code [ -t 2 ]}); Java itself can only ask about stdin/stdout. */
    private static boolean stderrIsTerminal() {
        String tty = System.getProperty("prunelab.stderr.tty");
        return tty != null ? Boolean.parseBoolean(tty) : System.console() != null;
    }

    ConsoleProgress(PrintStream err, String task, boolean interactive) {
        this.err = err;
        this.task = task;
        this.interactive = interactive;
    }

    @Override
    public void update(long done, long total, String label) {
        double fraction = total > 0 ? Math.min(1.0, (double) done / total) : 0;
        double elapsed = (System.nanoTime() - start) / 1e9;
        String eta = done > 0 && done < total ? ", ETA " + clock(elapsed / done * (total - done)) : "";
        int filled = (int) Math.round(fraction * WIDTH);
        String line = task + " [" + "#".repeat(filled) + "-".repeat(WIDTH - filled) + "] " + done + "/" + total + " "
                + label + "  " + clock(elapsed) + " elapsed" + eta;
        if (interactive) {
            err.print("\r" + line + "\u001b[K");
            drawn = true;
        } else {
            long decile = total > 0 ? done * 10 / total : 0;
            if (decile != lastDecile) {
                lastDecile = decile;
                err.println(line);
            }
        }
        err.flush();
    }

    @Override
    public void finish() {
        if (interactive && drawn) err.println();
        err.flush();
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }
}
