package org.prunelab.cache;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Reads the two archive formats registries hand out: zip (PyPI wheels, Maven jars) and gzip-compressed
 * tar (npm tarballs, PyPI sdists). The tar reader understands POSIX ustar headers (name + prefix), GNU
 * long names ({@code L}) and pax {@code path} records, which covers npm and setuptools output; it yields
 * regular files only.
 */
final class Archives {
    private Archives() {}

    /** Called once per regular file in the archive; {@code content} is valid only during the call. */
    @FunctionalInterface
    interface EntryVisitor {
        void visit(String path, InputStream content) throws IOException;
    }

    /** Visits every regular file of {@code archive}, choosing the format by its file name. */
    static void forEachFile(Path archive, EntryVisitor visitor) throws IOException {
        String name = archive.getFileName().toString();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(archive))) {
            if (name.endsWith(".whl") || name.endsWith(".jar") || name.endsWith(".zip")) {
                readZip(raw, visitor);
            } else if (name.endsWith(".tgz") || name.endsWith(".tar.gz")) {
                readTar(new GZIPInputStream(raw, 1 << 16), visitor);
            } else {
                throw new IOException("unknown archive type: " + name + " (expected .whl, .jar, .zip, .tgz or .tar.gz)");
            }
        }
    }

    private static void readZip(InputStream raw, EntryVisitor visitor) throws IOException {
        ZipInputStream zip = new ZipInputStream(raw);
        for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
            if (!e.isDirectory()) visitor.visit(e.getName(), zip);
        }
    }

    private static final int BLOCK = 512;

    private static void readTar(InputStream in, EntryVisitor visitor) throws IOException {
        byte[] header = new byte[BLOCK];
        String longName = null;
        while (true) {
            if (!readBlock(in, header)) return;
            if (isZeroBlock(header)) return; // end-of-archive marker
            String name = longName != null ? longName : ustarName(header);
            longName = null;
            long size = parseOctal(header, 124, 12);
            char type = (char) header[156];
            long padded = (size + BLOCK - 1) / BLOCK * BLOCK;
            switch (type) {
                case '0', '\0' -> {
                    BoundedStream content = new BoundedStream(in, size);
                    visitor.visit(name, content);
                    content.skipRest();
                    skipFully(in, padded - size);
                }
                case 'L' -> longName = trimNul(new String(readFully(in, size), StandardCharsets.UTF_8)).strip();
                case 'x' -> longName = paxPath(new String(readFully(in, size), StandardCharsets.UTF_8));
                default -> skipFully(in, padded); // directories, links, global pax headers: nothing to keep
            }
            if (type == 'L' || type == 'x') skipFully(in, padded - size);
        }
    }

    private static String ustarName(byte[] header) {
        String name = field(header, 0, 100);
        boolean ustar = field(header, 257, 6).startsWith("ustar");
        String prefix = ustar ? field(header, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    /** The {@code path} record of a pax extended header ("{length} path={value}\n" lines), or null. */
    private static String paxPath(String records) {
        for (String line : records.split("\n")) {
            int space = line.indexOf(' ');
            if (space > 0 && line.startsWith("path=", space + 1)) return line.substring(space + 1 + "path=".length());
        }
        return null;
    }

    private static String field(byte[] header, int offset, int length) {
        return trimNul(new String(header, offset, length, StandardCharsets.UTF_8));
    }

    private static String trimNul(String s) {
        int nul = s.indexOf('\0');
        return nul >= 0 ? s.substring(0, nul) : s;
    }

    private static long parseOctal(byte[] header, int offset, int length) throws IOException {
        String s = field(header, offset, length).strip();
        if (s.isEmpty()) return 0;
        try {
            return Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new IOException("corrupt tar header: size field '" + s + "'");
        }
    }

    private static boolean isZeroBlock(byte[] block) {
        for (byte b : block) if (b != 0) return false;
        return true;
    }

    private static boolean readBlock(InputStream in, byte[] block) throws IOException {
        int n = in.readNBytes(block, 0, BLOCK);
        if (n == 0) return false;
        if (n < BLOCK) throw new EOFException("truncated tar archive");
        return true;
    }

    /**
     * Largest GNU long-name or pax header read into memory. Real ones hold one path (PATH_MAX is 4096 bytes); a header
     * that claims more is corrupt, and refusing it keeps a few bytes of archive from allocating gigabytes.
     */
    static final long MAX_HEADER_RECORD = 1 << 20;

    private static byte[] readFully(InputStream in, long size) throws IOException {
        if (size < 0 || size > MAX_HEADER_RECORD) {
            throw new IOException("corrupt tar archive: a long-name or pax header of " + size + " bytes (at most "
                    + MAX_HEADER_RECORD + " are accepted)");
        }
        byte[] bytes = in.readNBytes((int) size);
        if (bytes.length < size) throw new EOFException("truncated tar archive");
        return bytes;
    }

    private static void skipFully(InputStream in, long n) throws IOException {
        in.skipNBytes(n);
    }

    /** A view of the next {@code remaining} bytes of a tar stream; closing it does not close the archive. */
    private static final class BoundedStream extends InputStream {
        private final InputStream in;
        private long remaining;

        BoundedStream(InputStream in, long size) {
            this.in = in;
            this.remaining = size;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) return -1;
            int b = in.read();
            if (b < 0) throw new EOFException("truncated tar archive");
            remaining--;
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            if (remaining <= 0) return -1;
            int n = in.read(buffer, offset, (int) Math.min(length, remaining));
            if (n < 0) throw new EOFException("truncated tar archive");
            remaining -= n;
            return n;
        }

        void skipRest() throws IOException {
            in.skipNBytes(remaining);
            remaining = 0;
        }

        @Override
        public void close() {}
    }
}
