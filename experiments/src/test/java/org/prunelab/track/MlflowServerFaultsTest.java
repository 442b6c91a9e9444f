package org.prunelab.track;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tracking server that fails (issue 16): a fake MLflow on loopback whose health check answers but whose REST API
 * returns HTTP 500 for everything, or accepts requests and never answers. The run must finish with every record in
 * the outbox (nothing lost), within the call time limit (no hang), without the client repeating requests, and a
 * later sync sends each record exactly once.
 */
class MlflowServerFaultsTest {
    @TempDir
    Path dir;

    private HttpServer server;
    private final CountDownLatch release = new CountDownLatch(1);
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());

    private URI start(boolean hang) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-mlflow");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/health", x -> {
            byte[] ok = "OK".getBytes(StandardCharsets.US_ASCII);
            x.sendResponseHeaders(200, ok.length);
            x.getResponseBody().write(ok);
            x.close();
        });
        server.createContext("/", x -> {
            requests.add(x.getRequestMethod() + " " + x.getRequestURI().getPath());
            if (hang) {
                try {
                    release.await(600, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] body = "{\"error_code\": \"INTERNAL_ERROR\", \"message\": \"injected fault\"}".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(500, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        release.countDown();
        System.clearProperty(MlflowBackend.CALL_LIMIT_PROPERTY);
        if (server != null) server.stop(0);
    }

    /** One run with params, metrics and a child, as prune and sweeps log them. */
    private static void logRun(Tracker tracker) {
        try (TrackedRun run = tracker.startRun("faults", "wanda-unstructured-0.50")) {
            run.logParam(MlflowNames.Param.METHOD, "wanda").logParam(MlflowNames.Param.SPARSITY, 0.5);
            run.logMetric(MlflowNames.Metric.PERPLEXITY, 23.5);
            try (TrackedRun child = run.startChild("wanda-unstructured-0.50 / udhr:swh")) {
                child.logMetric(MlflowNames.Metric.PERPLEXITY, 41.0);
            }
        }
    }

    /** Everything the outbox holds, by kind. */
    private List<String> outboxKinds(Path outbox) {
        List<String> kinds = new ArrayList<>();
        for (Path f : Outbox.files(outbox)) {
            for (OutboxRecord r : Outbox.read(f)) kinds.add(r.getClass().getSimpleName());
        }
        return kinds;
    }

    private void replayedExactlyOnce(Path outbox) {
        FakeBackend later = new FakeBackend();
        SyncReport first = new OutboxSync(outbox, later).run(null);
        assertThat(first.problems()).isEmpty();
        assertThat(later.runs).hasSize(2);
        assertThat(later.runs.values()).allSatisfy(r -> {
            assertThat(r.metrics).hasSize(1);
            assertThat(r.status).isEqualTo(RunStatus.FINISHED);
        });
        SyncReport second = new OutboxSync(outbox, later).run(null);
        assertThat(second.recordsSent()).isZero();
        assertThat(later.runs).hasSize(2);
        assertThat(Outbox.files(outbox)).isEmpty();
    }

    @Test
    @Timeout(300)
    void serverAnsweringHttp500LosesNothingAndRepeatsNothing() throws IOException {
        URI uri = start(false);
        Path outbox = dir.resolve("outbox");
        try (Tracker tracker = Tracker.connect(uri, outbox, dir.resolve("no-python"), Map.of())) {
            assertThat(tracker.isOnline()).isTrue();
            logRun(tracker);
            assertThat(tracker.isOnline()).isFalse();
            assertThat(tracker.offlineReason()).get().asString().contains("500");
        }
        // The first call (a look-up, which the client itself retries: it is a GET) met the 500s and the tracker went to
        // the outbox: nothing that writes was sent to the failing server, so nothing can arrive there twice.
        assertThat(requests).isNotEmpty().allMatch(r -> r.equals("GET /api/2.0/mlflow/experiments/get-by-name"));
        assertThat(outboxKinds(outbox)).containsExactly("StartRun", "LogParams", "LogParams", "LogMetrics", "StartRun",
                "LogMetrics", "EndRun", "EndRun");
        replayedExactlyOnce(outbox);
    }

    @Test
    @Timeout(300)
    void serverThatNeverAnswersTimesOutAndLosesNothing() throws IOException {
        System.setProperty(MlflowBackend.CALL_LIMIT_PROPERTY, "2");
        URI uri = start(true);
        Path outbox = dir.resolve("outbox");
        long t0 = System.nanoTime();
        try (Tracker tracker = Tracker.connect(uri, outbox, dir.resolve("no-python"), Map.of())) {
            logRun(tracker);
            assertThat(tracker.isOnline()).isFalse();
            assertThat(tracker.offlineReason()).get().asString().contains("did not answer within 2 s");
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertThat(seconds).as("one call waits out its 2 s limit, then the tracker is offline").isLessThan(60);
        assertThat(requests).containsExactly("GET /api/2.0/mlflow/experiments/get-by-name");
        assertThat(outboxKinds(outbox)).containsExactly("StartRun", "LogParams", "LogParams", "LogMetrics", "StartRun",
                "LogMetrics", "EndRun", "EndRun");
        replayedExactlyOnce(outbox);
    }
}
