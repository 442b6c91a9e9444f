package org.prunelab;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where tests find the real files that {@code ./prunelab setup} fetched. The cache root is
 * {@code $PRUNELAB_HOME} (default {@code ~/.cache/prunelab}); a system property overrides the model path
 * for development. Real-model tests call {@link #smollm2Gguf()} or {@link #gemma3Gguf()}: in CI setup has run, so the file exists;
 * elsewhere the test is skipped with a message saying how to get the file.
 */
public final class TestModels {
    private TestModels() {}

    /** The cache root: $PRUNELAB_HOME or ~/.cache/prunelab. */
    public static Path home() {
        String env = System.getenv("PRUNELAB_HOME");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "prunelab");
    }

    /** The SmolLM2-135M-Instruct Q4_1 GGUF; skips the calling test if setup has not fetched it. */
    public static Path smollm2Gguf() {
        String prop = System.getProperty("prunelab.smollm2.gguf");
        Path p = prop != null ? Path.of(prop) : home().resolve("models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
        assumeTrue(Files.isRegularFile(p), "real model not found at " + p + " — run ./prunelab setup first");
        return p;
    }

    /** The Gemma 3 270M Q4_K_M GGUF; skips the calling test if setup has not fetched it. */
    public static Path gemma3Gguf() {
        String prop = System.getProperty("prunelab.gemma3.gguf");
        Path p = prop != null ? Path.of(prop) : home().resolve("models/gemma3-270m/gemma-3-270m-q4_k_m.gguf");
        assumeTrue(Files.isRegularFile(p), "real model not found at " + p + " — run ./prunelab setup gemma3-270m first");
        return p;
    }

    /** A fetched corpus folder under the cache (e.g. "corpora/brown"); skips the test if absent. */
    public static Path corpus(String relative) {
        Path p = home().resolve(relative);
        assumeTrue(Files.exists(p), "corpus not found at " + p + " — run ./prunelab setup first");
        return p;
    }
}
