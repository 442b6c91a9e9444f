package org.prunelab.track;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.PrunelabException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The local, append-only record of tracking calls that could not reach the MLflow server, so that no
 * record is lost. {@link OutboxSync} sends it to the server later.
 *
 * <p>Layout under the outbox folder (normally {@code mlruns/outbox/}):
 * <ul>
 *   <li>{@code <time>-<uuid>.jsonl}: one file per writer (each {@code Outbox} instance), one
 *       {@link OutboxRecord} per line as JSON. Each line is written whole and fsynced before
 *       {@link #append} returns. The writer holds an exclusive file lock for as long as it is open, so a
 *       sync never reads a file that is still growing.</li>
 *   <li>{@code <file>.cursor}: how many records of that file are already on the server; replaced
 *       atomically, fsynced.</li>
 *   <li>{@code staged/<uuid>/<name>}: the outbox's own copies of artifact files.</li>
 * </ul>
 * A crash can leave the last line of a file half-written; readers drop such a torn line (its call never
 * returned, so nobody was told it was recorded). Any other unreadable line is an error.
 *
 * <p>Not thread-safe; {@link Tracker} serialises calls.
 */
public final class Outbox implements AutoCloseable {
    static final String SUFFIX = ".jsonl";
    static final String CURSOR_SUFFIX = ".cursor";
    static final String STAGED_DIR = "staged";

    static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Path dir;
    private FileChannel channel;
    private FileLock lock;
    private Path file;
    private int forceCount;

    private Outbox(Path dir) {
        this.dir = dir;
    }

    /**
     * Opens the outbox in {@code dir}, creating the folder if needed. Nothing is written until the
     * first {@link #append}.
     *
     * @throws PrunelabException.Setup if the folder cannot be created
     */
    public static Outbox open(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new PrunelabException.Setup("cannot create the MLflow outbox folder " + dir + ": " + e.getMessage()
                    + "; check that its parent is writable", e);
        }
        return new Outbox(dir.toAbsolutePath());
    }

    /** The outbox folder. */
    public Path dir() {
        return dir;
    }

    /** This writer's file, once something was appended. */
    Path file() {
        return file;
    }

    /** How many times this writer forced its data to disk (one per append); for tests. */
    int forceCount() {
        return forceCount;
    }

    /**
     * Appends one record as a JSON line and forces it to disk before returning.
     *
     * @throws UncheckedIOException if the disk write fails (then the record is not recorded anywhere)
     */
    public void append(OutboxRecord record) {
        byte[] line = (toJson(record) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            ensureOpen();
            ByteBuffer buffer = ByteBuffer.wrap(line);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
            forceCount++;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to the MLflow outbox " + file, e);
        }
    }

    /**
     * Copies {@code source} (a file, or a folder recursively) into the outbox (fsynced) so the artifact
     * survives until replay.
     *
     * @return the copy's path relative to the outbox folder, for {@link OutboxRecord.LogArtifact}
     */
    public String stageArtifact(Path source) {
        try {
            Path target = dir.resolve(STAGED_DIR).resolve(UUID.randomUUID().toString())
                    .resolve(source.getFileName().toString());
            Files.createDirectories(target.getParent());
            if (Files.isDirectory(source)) {
                try (Stream<Path> walk = Files.walk(source)) {
                    for (Path p : walk.toList()) {
                        Path t = target.resolve(source.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(t);
                        } else {
                            copyForced(p, t);
                        }
                    }
                }
            } else {
                copyForced(source, target);
            }
            fsyncDirectory(target.getParent());
            return dir.relativize(target).toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy artifact " + source + " into the MLflow outbox " + dir, e);
        }
    }

    private static void copyForced(Path source, Path target) throws IOException {
        Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
        try (FileChannel copy = FileChannel.open(target, StandardOpenOption.WRITE)) {
            copy.force(true);
        }
    }

    /** Closes this writer's file and releases its lock; the file stays for {@link OutboxSync}. */
    @Override
    public void close() {
        if (channel == null) {
            return;
        }
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close the MLflow outbox " + file, e);
        } finally {
            channel = null;
        }
    }

    private void ensureOpen() throws IOException {
        if (channel != null) {
            return;
        }
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"));
        file = dir.resolve(stamp + "-" + UUID.randomUUID() + SUFFIX);
        channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        lock = channel.lock();
        fsyncDirectory(dir);
    }

    // --- reading, shared with OutboxSync -------------------------------------------------------------

    /** The outbox files in {@code dir}, oldest first (names start with their creation time). */
    static List<Path> files(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the MLflow outbox " + dir, e);
        }
    }

    /**
     * Reads every complete record of an outbox file. A last line without its newline is a torn write
     * from a crash and is dropped.
     *
     * @throws PrunelabException if a complete line is not a valid record
     */
    static List<OutboxRecord> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new PrunelabException("the MLflow outbox file " + file + " is not UTF-8 text (" + e + "); it was"
                    + " damaged or is not an outbox file: move it aside to sync the others, and repair or delete it", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the MLflow outbox file " + file, e);
        }
        List<OutboxRecord> records = new ArrayList<>();
        int start = 0;
        int lineNumber = 0;
        for (int end = text.indexOf('\n'); end >= 0; start = end + 1, end = text.indexOf('\n', start)) {
            lineNumber++;
            String line = text.substring(start, end);
            if (line.isBlank()) {
                continue;
            }
            try {
                OutboxRecord record = JSON.readValue(line, OutboxRecord.class);
                if (record == null) { // the line is JSON null: no record, and replay must not meet a null (found by fuzzing)
                    throw new PrunelabException("the MLflow outbox file " + file + " has a line that is not a record on"
                            + " line " + lineNumber + " (" + line.strip() + "); move the file aside to sync the others,"
                            + " and repair or delete it");
                }
                records.add(record);
            } catch (JsonProcessingException e) {
                throw new PrunelabException("the MLflow outbox file " + file + " has an unreadable record on line "
                        + lineNumber + " (" + e.getOriginalMessage() + "); move the file aside to sync the others,"
                        + " and repair or delete it", e);
            }
        }
        return records;
    }

    /** How many records of {@code file} are already on the server (0 when no cursor was written). */
    static int readCursor(Path file) {
        Path cursor = cursorOf(file);
        try {
            return Files.exists(cursor) ? Integer.parseInt(Files.readString(cursor).strip()) : 0;
        } catch (IOException | NumberFormatException e) {
            throw new PrunelabException("cannot read the MLflow outbox cursor " + cursor + ": " + e.getMessage()
                    + "; delete it only if no record of " + file.getFileName() + " has reached the server yet", e);
        }
    }

    /** Durably records that the first {@code count} records of {@code file} are on the server. */
    static void writeCursor(Path file, int count) {
        Path cursor = cursorOf(file);
        Path temp = cursor.resolveSibling(cursor.getFileName() + ".tmp");
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            out.write(ByteBuffer.wrap(Integer.toString(count).getBytes(StandardCharsets.US_ASCII)));
            out.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the MLflow outbox cursor " + temp, e);
        }
        try {
            Files.move(temp, cursor, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            fsyncDirectory(cursor.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot replace the MLflow outbox cursor " + cursor, e);
        }
    }

    static Path cursorOf(Path file) {
        return file.resolveSibling(file.getFileName() + CURSOR_SUFFIX);
    }

    static String toJson(OutboxRecord record) {
        try {
            return JSON.writerFor(OutboxRecord.class).writeValueAsString(record);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise outbox record " + record, e);
        }
    }

    /** Makes a new or renamed directory entry durable (a file's own fsync does not cover its name). */
    static void fsyncDirectory(Path directory) {
        try (FileChannel d = FileChannel.open(directory, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some file systems cannot sync a directory; the file's own data is already forced, which is
            // the part a replay depends on, so this stays best-effort.
        }
    }
}
