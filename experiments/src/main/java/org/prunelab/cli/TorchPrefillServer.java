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
import java.util.concurrent.TimeUnit;

/**
 * transformers + torch kept loaded in a child process ({@code tools/reference/bench_prefill.py --serve}), asked
 * for one timed prefill pass at a time, so {@code bench forward --vs-torch} can alternate its passes with
 * prunelab's. The child's stderr goes to ours (its progress bars); stdout carries one JSON line per answer.
 */
final class TorchPrefillServer implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final Writer in;
    private final JsonNode ready;

    /**
     * Starts the child and waits until it has loaded the model and warmed up.
     *
     * @throws PrunelabException if it exits or answers something other than its ready line
     */
    TorchPrefillServer(Path python, Path root, Path model, int threads, int seqlen) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(python.toString(), root.resolve("tools/reference/bench_prefill.py").toString(),
                "--model", model.toString(), "--threads", String.valueOf(threads), "--seqlen", String.valueOf(seqlen), "--serve"));
        process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        JsonNode first = next("start");
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
            JsonNode answer = next("prefill");
            if (!answer.has("seconds")) throw new PrunelabException("the torch reference benchmark answered " + answer);
            return answer.get("seconds").asDouble();
        } catch (IOException e) {
            throw new PrunelabException("the torch reference benchmark stopped answering: " + e.getMessage(), e);
        }
    }

    private JsonNode next(String what) throws IOException {
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("{")) return JsonOutput.MAPPER.readTree(line);
        }
        throw new PrunelabException("the torch reference benchmark exited during " + what
                + "; run tools/reference/bench_prefill.py --serve by hand to see why");
    }

    @Override
    public void close() {
        try {
            in.close();
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (IOException | InterruptedException e) {
            process.destroyForcibly();
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
        }
    }
}
