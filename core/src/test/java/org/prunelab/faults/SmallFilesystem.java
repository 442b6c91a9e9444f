package org.prunelab.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real file-system faults for tests: a loop-mounted ext4 of a few hundred KB (a full disk: writes past it fail with
 * ENOSPC, as on a real disk) and a read-only mount (writes fail with EROFS, whoever the user is). Both need root and
 * the mount tools; {@link #unavailable()} says why they cannot be had, for {@code Assumptions.assumeTrue(..., reason)}.
 * {@code tools/faults/run-disk-faults.sh} runs the tests that need them on their own and shows they were not skipped.
 */
public final class SmallFilesystem implements AutoCloseable {
    private final Path mountPoint;
    private final Path image;

    private SmallFilesystem(Path mountPoint, Path image) {
        this.mountPoint = mountPoint;
        this.image = image;
    }

    /** Something that mounts a file system (for a test's mount-or-skip helper). */
    @FunctionalInterface
    public interface Mount {
        SmallFilesystem get() throws IOException;
    }

    /** Where the file system is mounted. */
    public Path root() { return mountPoint; }

    /** Why these faults cannot be made on this machine, or null if they can. */
    public static String unavailable() {
        if (!"root".equals(System.getProperty("user.name"))) return "needs root to mount a file system (running as " + System.getProperty("user.name") + ")";
        for (String tool : List.of("/usr/sbin/mkfs.ext4", "/usr/bin/mount", "/usr/bin/umount")) {
            if (!Files.isExecutable(Path.of(tool)) && !Files.isExecutable(Path.of(tool.replace("/usr", "")))) return "no " + tool;
        }
        return null;
    }

    /**
     * A fresh ext4 of {@code kib} KiB (no journal, no reserved blocks) mounted at {@code dir/mnt}, its image at
     * {@code dir/fs.img}. @throws IOException if it cannot be made or mounted (e.g. no loop devices)
     */
    public static SmallFilesystem ext4(Path dir, int kib) throws IOException {
        Path image = dir.resolve("fs.img");
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(kib * 1024L);
        }
        run("mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "0", "-N", "64", image.toString());
        run("mount", "-o", "loop", image.toString(), mnt.toString());
        return new SmallFilesystem(mnt, image);
    }

    /** An empty read-only file system (tmpfs) mounted at {@code dir/ro}. @throws IOException if it cannot be mounted */
    public static SmallFilesystem readOnly(Path dir) throws IOException {
        Path mnt = Files.createDirectories(dir.resolve("ro"));
        run("mount", "-t", "tmpfs", "-o", "ro,size=64k", "prunelab-test-ro", mnt.toString());
        return new SmallFilesystem(mnt, null);
    }

    /** Fills the file system until about {@code leaveBytes} remain free. */
    public void fillLeaving(long leaveBytes) throws IOException {
        long free = Files.getFileStore(mountPoint).getUsableSpace();
        if (free <= leaveBytes) return;
        Files.write(mountPoint.resolve("filler"), new byte[(int) (free - leaveBytes)]);
    }

    @Override
    public void close() throws IOException {
        try {
            run("umount", mountPoint.toString());
        } catch (IOException busy) {
            run("umount", "-l", mountPoint.toString());
        }
        if (image != null) Files.deleteIfExists(image);
    }

    private static void run(String... command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
