package org.prunelab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.prunelab.PrunelabException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * transformers + torch kept loaded in a child process ({@code tools/reference/bench_prefill.py --serve}), asked
 * for one timed prefill pass at a time, so {@code bench forward --vs-torch} can alternate its passes with
 * prunelab's. The child's stderr goes to ours (its progress bars); stdout carries one JSON line per answer.
 */
final class TorchPrefillServer implements AutoCloseable {
    /** Loading transformers, converting the GGUF and two warm-up passes take ~10 s here; allow for a slow machine. */
    static final long START_TIMEOUT_SECONDS = 600;
    /** One prefill pass; the slowest seen on a busy 2-core machine took ~30 s at 512 tokens. */
    static final long PASS_TIMEOUT_SECONDS = 600;
    private static final String EOF = "\u0000eof";

    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Writer in;
    private final JsonNode ready;

    /**
     * Starts the child and waits until it has loaded the model and warmed up.
     *
     * @throws PrunelabException if it exits or answers something other than its ready line
     */
    TorchPrefillServer(Path python, Path root, Path model, int threads, int seqlen) throws IOException {
        this(python, root, model, threads, seqlen, START_TIMEOUT_SECONDS);
    }

    /** As above, waiting at most {@code startTimeoutSeconds} for the ready line (tests use a short one). */
    TorchPrefillServer(Path python, Path root, Path model, int threads, int seqlen, long startTimeoutSeconds) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(python.toString(), root.resolve("tools/reference/bench_prefill.py").toString(),
                "--model", model.toString(), "--threads", String.valueOf(threads), "--seqlen", String.valueOf(seqlen), "--serve"));
        process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Thread reader = new Thread(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) lines.add(line);
            } catch (IOException ignored) {
                // the child went away; EOF below tells the waiting side
            } finally {
                lines.add(EOF);
            }
        }, "torch-prefill-reader");
        reader.setDaemon(true);
        reader.start();
        in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        JsonNode first;
        try {
            first = next("start", startTimeoutSeconds);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        if (!first.path("ready").asBoolean(false)) {
            close();
            throw new PrunelabException("the torch reference benchmark did not start: " + first);
        }
        ready = first;
    }

    /** The child's ready line: torch version, threads, attention implementation. */
    JsonNode info() { return ready; }

    /** Runs one timed prefill pass in the child; returns its seconds. */
    double pass() {
        try {
            in.write("prefill\n");
            in.flush();
            JsonNode answer = next("prefill", PASS_TIMEOUT_SECONDS);
            if (!answer.has("seconds")) throw new PrunelabException("the torch reference benchmark answered " + answer);
            return answer.get("seconds").asDouble();
        } catch (IOException e) {
            throw new PrunelabException("the torch reference benchmark stopped answering: " + e.getMessage(), e);
        }
    }

    private JsonNode next(String what, long timeoutSeconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        try {
            while (true) {
                String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null) {
                    kill();
                    throw new PrunelabException("the torch reference benchmark gave no answer within " + timeoutSeconds
                            + " s during " + what + "; stopped it. Run tools/reference/bench_prefill.py --serve by hand to see why");
                }
                if (line.equals(EOF)) {
                    throw new PrunelabException("the torch reference benchmark exited during " + what
                            + "; run tools/reference/bench_prefill.py --serve by hand to see why");
                }
                if (line.startsWith("{")) return JsonOutput.MAPPER.readTree(line);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
            throw new PrunelabException("interrupted while waiting for the torch reference benchmark", e);
        } catch (IOException e) {
            throw new PrunelabException("the torch reference benchmark printed a line that is not JSON: " + e.getMessage(), e);
        }
    }

    /** Stops the child and anything it started (a python wrapper's own children would otherwise live on). */
    private void kill() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    @Override
    public void close() {
        try {
            in.close();
            if (!process.waitFor(30, TimeUnit.SECONDS)) kill();
        } catch (IOException | InterruptedException e) {
            kill();
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
        }
    }
}
