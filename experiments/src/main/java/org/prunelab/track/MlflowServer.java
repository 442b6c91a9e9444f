package org.prunelab.track;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.PrunelabException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A local MLflow tracking server for one project, the default place runs are tracked: {@code mlflow server}
 * from the project's venv ({@code tools/mlflow/setup.sh}), on loopback, with a SQLite backend store
 * ({@code <dataDir>/mlflow.db}) and proxied artifacts ({@code <dataDir>/artifacts}).
 *
 * <p>The server runs in the background and outlives the JVM that started it, in its own session so a
 * Ctrl-C at the terminal does not stop it. {@code <dataDir>/mlflow-server.json} records its pid and URL;
 * any later {@link #start()} reuses it while it answers. Its output goes to
 * {@code <dataDir>/mlflow-server.log}.
 */
public final class MlflowServer {
    /** How the server is doing, as recorded in the pid file and checked against the process. */
    public record Status(boolean running, long pid, URI url) {}

    /** What the pid file holds. */
    record Recorded(long pid, int port, String url, String startedAt) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Path dataDir;
    private final Path mlflowExecutable;
    private Duration startTimeout = Duration.ofMinutes(3);

    /**
     * @param dataDir          where the database, artifacts, pid file and log live (normally {@code mlruns/})
     * @param mlflowExecutable the {@code mlflow} script of the venv
     */
    public MlflowServer(Path dataDir, Path mlflowExecutable) {
        this.dataDir = dataDir.toAbsolutePath();
        this.mlflowExecutable = mlflowExecutable.toAbsolutePath();
    }

    /** The server for a checkout: data under {@code <root>/mlruns}, mlflow from {@code <root>/.venv-mlflow}. */
    public static MlflowServer forProject(Path projectRoot) {
        return new MlflowServer(projectRoot.resolve("mlruns"), projectRoot.resolve(".venv-mlflow/bin/mlflow"));
    }

    /** How long {@link #start()} waits for a new server to answer (default 3 minutes: migrations are slow). */
    public MlflowServer startTimeout(Duration timeout) {
        this.startTimeout = timeout;
        return this;
    }

    public Path pidFile() {
        return dataDir.resolve("mlflow-server.json");
    }

    public Path logFile() {
        return dataDir.resolve("mlflow-server.log");
    }

    /** The URL of the MLflow UI and REST API, e.g. {@code http://127.0.0.1:41234}, while the server runs. */
    public Optional<URI> url() {
        Status s = status();
        return s.running() ? Optional.of(s.url()) : Optional.empty();
    }

    /** Whether the recorded server process is alive and answering. */
    public Status status() {
        Optional<Recorded> recorded = readPidFile();
        if (recorded.isEmpty()) {
            return new Status(false, -1, null);
        }
        Recorded r = recorded.get();
        URI url = URI.create(r.url());
        boolean running = isMlflowProcess(r.pid()) && answers(url);
        return new Status(running, r.pid(), url);
    }

    /**
     * Starts the server, or reuses the one recorded in the pid file if it still answers, and returns its URL.
     * Waits until {@code GET /health} answers. Safe to call from several processes at once (a file lock
     * serialises them).
     *
     * @throws PrunelabException.Setup if the venv is missing or the server does not come up; the message
     *                                 names the log file
     */
    public URI start() {
        if (!Files.isExecutable(mlflowExecutable)) {
            throw new PrunelabException.Setup("no MLflow at " + mlflowExecutable
                    + "; run tools/mlflow/setup.sh to install it, or set MLFLOW_TRACKING_URI to a running server");
        }
        try {
            Files.createDirectories(dataDir.resolve("artifacts"));
        } catch (IOException e) {
            throw new PrunelabException.Setup("cannot create " + dataDir + ": " + e.getMessage(), e);
        }
        try (FileChannel lockFile = FileChannel.open(dataDir.resolve("mlflow-server.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock = lockFile.lock();
            try {
                return reuseRecorded().orElseGet(this::launch);
            } finally {
                lock.release();
            }
        } catch (IOException e) {
            throw new PrunelabException.Setup("cannot lock " + dataDir + "/mlflow-server.lock: " + e.getMessage(), e);
        }
    }

    /**
     * Stops the recorded server and the processes it spawned (uvicorn workers, job runner), first
     * politely (SIGTERM), then forcibly after 15 s; removes the pid file.
     *
     * @return true if a server process was running
     */
    public boolean stop() {
        Optional<Recorded> recorded = readPidFile();
        boolean wasRunning = recorded.isPresent() && isMlflowProcess(recorded.get().pid());
        if (wasRunning) {
            ProcessHandle.of(recorded.get().pid()).ifPresent(MlflowServer::terminateTree);
        }
        try {
            Files.deleteIfExists(pidFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + pidFile(), e);
        }
        return wasRunning;
    }

    private Optional<URI> reuseRecorded() {
        Optional<Recorded> recorded = readPidFile();
        if (recorded.isEmpty()) {
            return Optional.empty();
        }
        Recorded r = recorded.get();
        if (!isMlflowProcess(r.pid())) {
            return Optional.empty();   // stale: the process is gone or the pid was reused
        }
        URI url = URI.create(r.url());
        if (waitUntilAnswering(url, r.pid(), startTimeout)) {
            return Optional.of(url);
        }
        ProcessHandle.of(r.pid()).ifPresent(MlflowServer::terminateTree);   // alive but hung
        return Optional.empty();
    }

    private URI launch() {
        int port = preferredPort();
        URI url = URI.create("http://127.0.0.1:" + port);
        List<String> command = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            // Own session: the server must survive the CLI that started it and a Ctrl-C meant for the CLI.
            command.addAll(List.of("/usr/bin/setsid", "-w"));
        }
        command.addAll(List.of(mlflowExecutable.toString(), "server",
                "--backend-store-uri", "sqlite:///" + dataDir.resolve("mlflow.db"),
                "--artifacts-destination", dataDir.resolve("artifacts").toString(),
                "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--workers", "1"));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                .redirectErrorStream(true);
        builder.environment().put("MLFLOW_DISABLE_TELEMETRY", "true");
        // The job runner serves GenAI features prunelab does not use; off saves two processes.
        builder.environment().put("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false");
        Process process;
        try {
            Files.writeString(logFile(), "--- prunelab: starting " + String.join(" ", command) + " at "
                    + Instant.now() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            process = builder.start();
        } catch (IOException e) {
            throw new PrunelabException.Setup("cannot start " + mlflowExecutable + ": " + e.getMessage()
                    + "; run tools/mlflow/setup.sh", e);
        }
        writePidFile(new Recorded(process.pid(), port, url.toString(), Instant.now().toString()));
        try {
            Files.writeString(dataDir.resolve("mlflow-server.port"), Integer.toString(port));
        } catch (IOException ignored) {
            // only a preference for the next start
        }
        if (!waitUntilAnswering(url, process.pid(), startTimeout)) {
            boolean died = !process.isAlive();
            terminateTree(process.toHandle());
            try {
                Files.deleteIfExists(pidFile());
            } catch (IOException ignored) {
                // the message below matters more
            }
            throw new PrunelabException.Setup("the MLflow server " + (died ? "exited" : "did not answer within "
                    + startTimeout.toSeconds() + " s") + "; see " + logFile() + ":\n" + logTail(20)
                    + "\nRe-run tools/mlflow/setup.sh, or set MLFLOW_TRACKING_URI to a running server.");
        }
        return url;
    }

    private static boolean waitUntilAnswering(URI url, long pid, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (answers(url)) {
                return true;
            }
            if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                return false;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    /** True when an MLflow server at {@code base} answers {@code GET /health} with 200 within 2 s. */
    static boolean answers(URI base) {
        try {
            HttpRequest request = HttpRequest.newBuilder(base.resolve("/health")).timeout(Duration.ofSeconds(2))
                    .GET().build();
            return HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static boolean isMlflowProcess(long pid) {
        return ProcessHandle.of(pid)
                .filter(ProcessHandle::isAlive)
                .flatMap(h -> h.info().commandLine())
                .map(cmd -> cmd.contains("mlflow"))
                .orElse(false);
    }

    /** Sends SIGTERM to a process and all its descendants, then SIGKILL to whatever is left after 15 s. */
    private static void terminateTree(ProcessHandle root) {
        List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
        all.add(root);
        all.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        for (ProcessHandle h : all) {
            while (h.isAlive() && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        all.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    /**
     * The port this project's server used last, if it is free (so run links printed before a restart keep working),
     * else any free port.
     */
    private int preferredPort() {
        try {
            int last = Integer.parseInt(Files.readString(dataDir.resolve("mlflow-server.port")).strip());
            try (ServerSocket probe = new ServerSocket(last, 0, java.net.InetAddress.getLoopbackAddress())) {
                return last;
            }
        } catch (IOException | IllegalArgumentException e) {
            return freePort();
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new PrunelabException.Setup("no free loopback port for the MLflow server: " + e.getMessage(), e);
        }
    }

    private Optional<Recorded> readPidFile() {
        if (!Files.exists(pidFile())) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(pidFile().toFile(), Recorded.class));
        } catch (IOException e) {
            return Optional.empty();   // torn or foreign file: treat as no server
        }
    }

    private void writePidFile(Recorded recorded) {
        Path temp = pidFile().resolveSibling(pidFile().getFileName() + ".tmp");
        try {
            Files.writeString(temp, JSON.writeValueAsString(recorded), StandardCharsets.UTF_8);
            Files.move(temp, pidFile(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + pidFile(), e);
        }
    }

    private String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }
}
