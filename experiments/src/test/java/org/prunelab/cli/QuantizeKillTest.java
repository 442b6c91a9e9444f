package org.prunelab.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.io.GgufFile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGKILL during {@code quantize} (issue 16): the process is killed while it writes the GGUF export, which leaves no
 * output folder (only its hidden {@code .NAME.partial-PID-*} sibling, since SIGKILL runs no clean-up); the next
 * {@code quantize} to the same folder removes that leftover and writes a complete, readable file.
 */
class QuantizeKillTest {
    @TempDir
    Path tmp;

    private List<String> quantize(Path out) {
        return new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dprunelab.root=" + tmp, "-cp", System.getProperty("java.class.path"), "org.prunelab.cli.Main",
                "quantize", "--model", "smollm2-135m", "--type", "q8_0", "--out", out.toString(), "--no-track"));
    }

    private static Optional<Path> partial(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out.getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith("." + out.getFileName() + ".partial-")).findFirst();
        }
    }

    /** Bytes written so far under {@code dir} (0 if it vanished meanwhile). */
    private static long bytesIn(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        } catch (IOException | java.io.UncheckedIOException gone) {
            return 0;
        }
    }

    @Test
    @Timeout(900)
    void killedWhileWritingTheGgufLeavesNoOutputAndTheNextRunCompletesIt() throws Exception {
        CliErrorsTest.assumeModelFetched();
        Path out = tmp.resolve("q8");
        Process p = new ProcessBuilder(quantize(out)).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("killed.log").toFile()).start();
        // Kill as soon as the export has written into its partial folder (the GGUF file is growing there).
        Optional<Path> partial = Optional.empty();
        for (int i = 0; i < 120000 && p.isAlive(); i++) {
            partial = partial(out);
            if (partial.isPresent() && bytesIn(partial.get()) > 0) break;
            Thread.sleep(5);
        }
        assertThat(partial).as(Files.readString(tmp.resolve("killed.log"))).isPresent();
        p.destroyForcibly();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("killed, not finished").isEqualTo(137);
        assertThat(out).as("no output folder after a kill mid-export").doesNotExist();
        assertThat(partial(out)).as("SIGKILL skips clean-up: the hidden partial folder stays").isPresent();

        Process again = new ProcessBuilder(quantize(out)).redirectErrorStream(true).start();
        String log = new String(again.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(again.waitFor(600, TimeUnit.SECONDS)).isTrue();
        assertThat(again.exitValue()).as(log).isZero();
        assertThat(partial(out)).as("the killed run's leftover is removed by the next save to the same folder").isEmpty();
        try (GgufFile f = GgufFile.open(out.resolve("model.gguf"))) {
            assertThat(f.tensors()).isNotEmpty();
        }
    }
}
