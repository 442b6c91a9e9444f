package org.prunelab.cache;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The cache root where {@code setup} puts models and corpora: {@code $PRUNELAB_HOME}, or
 * {@code ~/.cache/prunelab} when that variable is unset or blank. Everything below it is addressed by
 * a relative path such as {@code corpora/brown} or {@code models/smollm2-135m/...gguf}; the manifest
 * ({@code manifest.json}) records each file's SHA-256 and source.
 *
 * @param root absolute cache directory (it need not exist yet)
 */
public record PrunelabHome(Path root) {
    /** Name of the environment variable that overrides the default cache location. */
    public static final String ENV = "PRUNELAB_HOME";

    public PrunelabHome {
        Objects.requireNonNull(root, "root");
        root = root.toAbsolutePath().normalize();
    }

    /** The cache root from {@code $PRUNELAB_HOME}, else {@code ~/.cache/prunelab}. */
    public static PrunelabHome fromEnvironment() {
        String env = System.getenv(ENV);
        return env != null && !env.isBlank()
                ? new PrunelabHome(Path.of(env))
                : new PrunelabHome(Path.of(System.getProperty("user.home"), ".cache", "prunelab"));
    }

    /** A path below the root, e.g. {@code resolve("corpora/brown")}. */
    public Path resolve(String relative) {
        return root.resolve(relative);
    }

    /** {@code manifest.json}: which artifacts were fetched, from where, and each file's SHA-256. */
    public Path manifestFile() {
        return root.resolve("manifest.json");
    }

    /** Scratch space for downloads and extraction; on the same file system as the root so moves are atomic. */
    Path stagingDir() {
        return root.resolve(".staging");
    }
}
