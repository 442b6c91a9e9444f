package org.prunelab.cache;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code manifest.json} in the cache root: for each fetched artifact, its source, the verified package
 * hash, and every extracted file with its SHA-256, size and modification time. Size and time let a
 * normal start skip rehashing unchanged files (see {@link Setup}). Written to a temporary file and
 * moved into place, so a crash leaves the previous manifest intact.
 *
 * @param version   format version, currently 1
 * @param artifacts artifact name to what was fetched, sorted by name
 */
public record Manifest(int version, Map<String, Entry> artifacts) {
    static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public Manifest {
        artifacts = new TreeMap<>(artifacts);
    }

    /** One fetched artifact. {@code fetchedAt} is an ISO-8601 instant. */
    public record Entry(String source, String packageSha256, String fetchedAt, List<FileRecord> files) {
        public Entry {
            files = List.copyOf(files);
        }
    }

    /**
     * One extracted file.
     *
     * @param path        relative to the cache root, with '/' separators
     * @param sha256      lower-case hex
     * @param size        bytes
     * @param mtimeMillis last-modified time when it was last hashed, milliseconds since the epoch
     */
    public record FileRecord(String path, String sha256, long size, long mtimeMillis) {}

    static Manifest empty() {
        return new Manifest(VERSION, Map.of());
    }

    /** Reads the manifest, or returns an empty one if the file does not exist. */
    static Manifest read(Path file) {
        if (!Files.exists(file)) return empty();
        try {
            Manifest m = JSON.readValue(file.toFile(), Manifest.class);
            return m.artifacts() == null ? empty() : m;
        } catch (IOException e) {
            // A damaged manifest only costs a refetch; it must not block setup.
            return empty();
        }
    }

    void write(Path file) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "manifest", ".json.tmp");
            JSON.writeValue(tmp.toFile(), this);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new PrunelabException.Setup("cannot write the cache manifest " + file + ": " + e.getMessage()
                    + " — check that the cache folder ($PRUNELAB_HOME) is writable", e);
        }
    }

    Manifest with(String name, Entry entry) {
        Map<String, Entry> copy = new TreeMap<>(artifacts);
        copy.put(name, entry);
        return new Manifest(VERSION, copy);
    }
}
