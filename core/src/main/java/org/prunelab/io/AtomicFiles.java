package org.prunelab.io;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.charset.StandardCharsets;

/**
 * Writes that never leave a half-written file under the target name: content goes to a temporary file in
 * the target's directory (same file system, so the rename is atomic) and is moved into place when complete.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** A new empty temporary file next to {@code target}. */
    static Path tempBeside(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        return Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
    }

    /**
     * Renames {@code tmp} to {@code target}, replacing it; atomic where the file system allows. Temporary files are
     * created owner-only (rw-------), so the result is first opened up to rw-r--r--, like an ordinary new file.
     */
    static void moveIntoPlace(Path tmp, Path target) throws IOException {
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException notPosix) {
            // non-POSIX file systems keep their default permissions
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Best-effort removal of a temporary file after a failure. */
    static void deleteQuietly(Path tmp) {
        try {
            if (tmp != null) Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // the original failure is what the caller reports
        }
    }

    /** Writes {@code text} as UTF-8 to {@code target} atomically. @throws PrunelabException if writing fails */
    public static void writeString(Path target, String text) {
        Path tmp = null;
        try {
            tmp = tempBeside(target);
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            moveIntoPlace(tmp, target);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw writeFailed(target, e);
        }
    }

    static PrunelabException writeFailed(Path target, IOException e) {
        return new PrunelabException("cannot write " + target + ": " + e + ". Check that the directory is writable"
                + " and the disk has room.", e);
    }
}
