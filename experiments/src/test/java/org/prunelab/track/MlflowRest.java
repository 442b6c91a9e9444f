package org.prunelab.track;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads what an MLflow server stored, through its REST API (2.0) with the JDK's own HTTP client, so the
 * tests check the server's view independently of the client library the tracker uses.
 */
public final class MlflowRest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI base;

    public MlflowRest(URI base) {
        this.base = base;
    }

    /** One run as the server has it. */
    public record Run(String id, String name, String status, Map<String, String> params, Map<String, String> tags,
               Map<String, Double> latestMetrics) {}

    public String experimentId(String name) {
        return get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + enc(name))
                .path("experiment").path("experiment_id").asText();
    }

    /** The experiment's tags (MLflow's own, such as mlflow.experimentKind, included). */
    public Map<String, String> experimentTags(String name) {
        return keyValues(get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + enc(name)).path("experiment").path("tags"));
    }

    /** Every active run of the experiment, by run name. */
    public Map<String, Run> runs(String experimentName) {
        String body = "{\"experiment_ids\":[\"" + experimentId(experimentName) + "\"],\"max_results\":1000}";
        Map<String, Run> runs = new HashMap<>();
        for (JsonNode r : post("/api/2.0/mlflow/runs/search", body).path("runs")) {
            Run run = new Run(r.path("info").path("run_id").asText(), r.path("info").path("run_name").asText(),
                    r.path("info").path("status").asText(), keyValues(r.path("data").path("params")),
                    keyValues(r.path("data").path("tags")), metrics(r.path("data").path("metrics")));
            if (runs.put(run.name(), run) != null) {
                throw new AssertionError("two runs named " + run.name() + " in " + experimentName);
            }
        }
        return runs;
    }

    /** Every active run of the experiment, names may repeat (resumed sweeps have several parents). */
    public List<Run> runList(String experimentName) {
        String body = "{\"experiment_ids\":[\"" + experimentId(experimentName) + "\"],\"max_results\":1000}";
        List<Run> runs = new ArrayList<>();
        for (JsonNode r : post("/api/2.0/mlflow/runs/search", body).path("runs")) {
            runs.add(new Run(r.path("info").path("run_id").asText(), r.path("info").path("run_name").asText(),
                    r.path("info").path("status").asText(), keyValues(r.path("data").path("params")),
                    keyValues(r.path("data").path("tags")), metrics(r.path("data").path("metrics"))));
        }
        return runs;
    }

    /** How many runs the experiment has (active ones). */
    public int runCount(String experimentName) {
        String body = "{\"experiment_ids\":[\"" + experimentId(experimentName) + "\"],\"max_results\":1000}";
        return post("/api/2.0/mlflow/runs/search", body).path("runs").size();
    }

    /** Every stored value of a metric, in order. */
    public List<Double> metricHistory(String runId, String key) {
        List<Double> values = new ArrayList<>();
        for (JsonNode m : get("/api/2.0/mlflow/metrics/get-history?run_id=" + runId + "&metric_key=" + enc(key))
                .path("metrics")) {
            values.add(m.path("value").asDouble());
        }
        return values;
    }

    /** Artifact paths (files only) directly under {@code path} ("" for the top level), with sizes. */
    public Map<String, Long> artifacts(String runId, String path) {
        Map<String, Long> files = new HashMap<>();
        for (JsonNode f : get("/api/2.0/mlflow/artifacts/list?run_id=" + runId + "&path=" + enc(path)).path("files")) {
            if (!f.path("is_dir").asBoolean()) {
                files.put(f.path("path").asText(), f.path("file_size").asLong());
            }
        }
        return files;
    }

    private static Map<String, String> keyValues(JsonNode array) {
        Map<String, String> map = new HashMap<>();
        array.forEach(kv -> map.put(kv.path("key").asText(), kv.path("value").asText()));
        return map;
    }

    private static Map<String, Double> metrics(JsonNode array) {
        Map<String, Double> map = new HashMap<>();
        array.forEach(kv -> map.put(kv.path("key").asText(), kv.path("value").asDouble()));
        return map;
    }

    private JsonNode get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    private JsonNode post(String path, String body) {
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private JsonNode send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new AssertionError("MLflow answered " + response.statusCode() + ": " + response.body());
            }
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("MLflow REST call failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
