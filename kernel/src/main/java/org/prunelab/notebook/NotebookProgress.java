package org.prunelab.notebook;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.prunelab.Progress;

import java.util.UUID;
import java.util.concurrent.CancellationException;

/**
 * Progress of a long facade call, drawn in the running cell's output as one bar that updates in place
 * (Jupyter {@code display_data}, then {@code update_display_data} with the same display id). Outside a
 * notebook kernel it draws nothing.
 *
 * <p>It is also where notebook work notices an interrupt: every update checks the thread's interrupt flag
 * (set by the kernel when the user stops the cell) and throws {@link CancellationException}, so pruning
 * stops at the next block and evaluation at the next window.
 */
final class NotebookProgress implements Progress {
    /** Redraw at most this often, in nanoseconds: a bar per window would flood the notebook's messages. */
    private static final long REDRAW_NANOS = 250_000_000L;
    private static final int WIDTH = 30;

    private final String task;
    private final BaseKernel kernel;
    private final String displayId = UUID.randomUUID().toString();
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean shown;
    private long done;
    private long total;
    private String label = "";

    NotebookProgress(String task) {
        this.task = task;
        this.kernel = runningKernel();
    }

    private static BaseKernel runningKernel() {
        try {
            BaseKernel k = BaseKernel.notebookKernel();
            return k.getIO().display.isAttached() ? k : null;
        } catch (NullPointerException notInKernel) {
            return null;
        }
    }

    @Override
    public void update(long done, long total, String label) {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancellationException(task + " interrupted at " + done + "/" + total + " " + label);
        }
        this.done = done;
        this.total = total;
        this.label = label;
        long now = System.nanoTime();
        if (kernel != null && (!shown || now - lastDraw >= REDRAW_NANOS || done == total)) {
            draw(now);
        }
    }

    @Override
    public void finish() {
        if (kernel != null && shown) draw(System.nanoTime());
    }

    private void draw(long now) {
        lastDraw = now;
        double fraction = total > 0 ? Math.min(1, (double) done / total) : 0;
        double elapsed = (now - start) / 1e9;
        String eta = done > 0 && done < total ? ", ETA " + clock(elapsed / done * (total - done)) : "";
        String status = done + "/" + total + " " + label + "  " + clock(elapsed) + " elapsed" + eta;
        int filled = (int) Math.round(fraction * WIDTH);
        DisplayData data = new DisplayData(task + " [" + "#".repeat(filled) + "-".repeat(WIDTH - filled) + "] " + status);
        data.putHTML("<div style=\"font-family:monospace\">" + escape(task) + " <progress value=\"" + done + "\" max=\""
                + Math.max(total, 1) + "\" style=\"width:16em\"></progress> " + escape(status) + "</div>");
        data.setDisplayId(displayId);
        if (shown) {
            kernel.getIO().display.updateDisplay(data);
        } else {
            kernel.display(data);
            shown = true;
        }
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format("%d:%02d", s / 60, s % 60);
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
