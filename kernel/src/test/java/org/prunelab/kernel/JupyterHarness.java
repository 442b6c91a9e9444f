package org.prunelab.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.cli.Main;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs notebooks and Jupyter clients against the prunelab kernel, installed with
 * {@code prunelab kernel install --prefix} into a temporary directory that {@code JUPYTER_PATH} points at.
 * Uses the project's Jupyter venv ({@code tools/jupyter/setup.sh}, which {@code ./prunelab test} runs).
 */
final class JupyterHarness {
    static final ObjectMapper JSON = new ObjectMapper();

    final Path root;
    final Path python;
    final Path jupyterPath;
    final Path work;

    JupyterHarness(Path work) throws IOException {
        this.root = Path.of(System.getProperty("prunelab.root", "..")).toAbsolutePath().normalize();
        this.python = root.resolve(".venv-jupyter/bin/python");
        assertThat(python).as("the Jupyter venv; create it with tools/jupyter/setup.sh (./prunelab test does)").isExecutable();
        this.work = work;
        Path prefix = work.resolve("jupyter-prefix");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String previousRoot = System.getProperty("prunelab.root");
        System.setProperty("prunelab.root", root.toString());
        try {
            int rc = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), "kernel", "install", "--prefix", prefix.toString());
            assertThat(rc).as("kernel install: " + err).isZero();
        } finally {
            if (previousRoot == null) System.clearProperty("prunelab.root"); else System.setProperty("prunelab.root", previousRoot);
        }
        this.jupyterPath = prefix.resolve("share/jupyter");
        assertThat(jupyterPath.resolve("kernels/prunelab/kernel.json")).isRegularFile();
    }

    /** Executes notebooks/NAME.ipynb with parameters; returns the executed notebook. Fails with the log on error. */
    JsonNode runNotebook(String name, String paramsJson) throws IOException, InterruptedException {
        return runNotebook(name, paramsJson, Map.of());
    }

    /** As {@link #runNotebook(String, String)}, with extra environment variables for Jupyter and the kernel. */
    JsonNode runNotebook(String name, String paramsJson, Map<String, String> env) throws IOException, InterruptedException {
        Path out = work.resolve(name + ".out.ipynb");
        String log = python(env, "tools/jupyter/run_notebook.py", root.resolve("notebooks/" + name + ".ipynb").toString(),
                out.toString(), "--params", paramsJson, "--timeout", "900");
        assertThat(out).as("executed notebook, log:\n" + log).isRegularFile();
        return JSON.readTree(out.toFile());
    }

    /** Runs a script of tools/jupyter with the venv's python; returns stdout+stderr; fails on a non-zero exit. */
    String python(String script, String... args) throws IOException, InterruptedException {
        return python(Map.of(), script, args);
    }

    private String python(Map<String, String> env, String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(python.toString(), root.resolve(script).toString()));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile(work, "python", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("JUPYTER_PATH", jupyterPath.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        boolean done = p.waitFor(20, TimeUnit.MINUTES);
        if (!done) p.destroyForcibly();
        String text = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(done && p.exitValue() == 0).as(String.join(" ", cmd) + " failed:\n" + tail(text)).isTrue();
        return text;
    }

    /** All outputs of all code cells. */
    static List<JsonNode> outputs(JsonNode notebook) {
        List<JsonNode> all = new ArrayList<>();
        for (JsonNode cell : notebook.get("cells")) {
            if (cell.path("cell_type").asText().equals("code")) cell.path("outputs").forEach(all::add);
        }
        return all;
    }

    /** The MIME types of every display/execute result in the notebook. */
    static List<String> mimeTypes(JsonNode notebook) {
        List<String> types = new ArrayList<>();
        for (JsonNode o : outputs(notebook)) o.path("data").fieldNames().forEachRemaining(types::add);
        return types;
    }

    /** Outputs of type error, rendered for an assertion message. */
    static List<String> errors(JsonNode notebook) {
        return outputs(notebook).stream().filter(o -> o.path("output_type").asText().equals("error"))
                .map(o -> o.path("ename").asText() + ": " + o.path("evalue").asText()).toList();
    }

    /** Concatenated stdout text of the notebook. */
    static String stdout(JsonNode notebook) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode o : outputs(notebook)) {
            if (o.path("output_type").asText().equals("stream") && o.path("name").asText().equals("stdout")) {
                sb.append(text(o.path("text")));
            }
        }
        return sb.toString();
    }

    /** The text of a multiline notebook string, which nbformat stores either as one string or as a list of lines. */
    static String text(JsonNode multiline) {
        if (!multiline.isArray()) return multiline.asText();
        StringBuilder sb = new StringBuilder();
        multiline.forEach(line -> sb.append(line.asText()));
        return sb.toString();
    }

    /** The text/plain of every display/execute result, concatenated. */
    static String plainText(JsonNode notebook) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode o : outputs(notebook)) sb.append(text(o.path("data").path("text/plain"))).append('\n');
        return sb.toString();
    }

    private static String tail(String s) {
        return s.length() <= 6000 ? s : "..." + s.substring(s.length() - 6000);
    }
}
