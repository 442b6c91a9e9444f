package org.prunelab.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The client side of {@code bench_prefill.py --serve}, against stand-in "python" scripts that speak the same
 * line protocol (the real server needs torch, which tests do not install).
 */
class TorchPrefillServerTest {
    @TempDir Path dir;

    private Path fakePython(String body) throws IOException {
        Path script = dir.resolve("python");
        Files.writeString(script, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    @Test
    void readsTheReadyLineThenOneTimeperRequest() throws IOException {
        Path py = fakePython("""
                echo 'loading...'
                echo '{"ready": true, "torch": "9.9", "attn_implementation": "sdpa"}'
                n=0
                while read req; do n=$((n+1)); echo "{\\"seconds\\": $n.5}"; done
                """);
        try (var server = new TorchPrefillServer(py, dir, dir.resolve("model.gguf"), 2, 64)) {
            assertThat(server.info().get("torch").asText()).isEqualTo("9.9");
            assertThat(server.pass()).isEqualTo(1.5);
            assertThat(server.pass()).isEqualTo(2.5);
        }
    }

    @Test
    void aChildThatExitsBeforeReadyIsAClearError() throws IOException {
        Path py = fakePython("echo 'ModuleNotFoundError: torch' >&2\nexit 1\n");
        assertThatThrownBy(() -> new TorchPrefillServer(py, dir, dir.resolve("model.gguf"), 2, 64))
                .isInstanceOf(PrunelabException.class).hasMessageContaining("exited during start")
                .hasMessageContaining("bench_prefill.py --serve");
    }

    @Test
    void anAnswerWithoutSecondsIsAClearError() throws IOException {
        Path py = fakePython("""
                echo '{"ready": true, "torch": "9.9"}'
                while read req; do echo '{"error": "out of memory"}'; done
                """);
        try (var server = new TorchPrefillServer(py, dir, dir.resolve("model.gguf"), 2, 64)) {
            assertThatThrownBy(server::pass).isInstanceOf(PrunelabException.class).hasMessageContaining("out of memory");
        }
    }

    @Test
    void aChildThatNeverGetsReadyIsStoppedAfterTheTimeout() throws IOException {
        Path py = fakePython("echo 'loading...'\nsleep 1000 &\necho $! > " + dir.resolve("child.pid") + "\nwait\n");
        assertThatThrownBy(() -> new TorchPrefillServer(py, dir, dir.resolve("model.gguf"), 2, 64, 2))
                .isInstanceOf(PrunelabException.class).hasMessageContaining("no answer within 2 s during start");
        // The script's own child is stopped too: it would otherwise hold our stderr open for 1000 s.
        long child = Long.parseLong(Files.readString(dir.resolve("child.pid")).trim());
        var handle = ProcessHandle.of(child);
        if (handle.isPresent()) handle.get().onExit().orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join();
        assertThat(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }
}
