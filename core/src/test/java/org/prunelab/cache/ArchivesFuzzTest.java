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
