package org.prunelab.cache;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs a registry client ({@code pip}, {@code npm}, {@code mvn}) as a subprocess. This is the only
 * place setup touches the network, so tests replace it with a fake that writes a package file.
 */
@FunctionalInterface
public interface CommandRunner {

    /**
     * Runs {@code command} in {@code workDir} and waits for it.
     *
     * @return exit code and the combined stdout/stderr text
     * @throws IOException if the program cannot be started (typically: not installed or not on PATH)
     */
    Result run(List<String> command, Path workDir) throws IOException, InterruptedException;

    /** Exit status and combined output of one command. */
    record Result(int exitCode, String output) {
        /** The last {@code lines} lines of the output, for error messages. */
        public String tail(int lines) {
            String[] all = output.strip().split("\\R");
            int from = Math.max(0, all.length - lines);
            return String.join("\n", java.util.Arrays.asList(all).subList(from, all.length));
        }
    }

    /** The real runner: {@link ProcessBuilder}, stdout and stderr merged so one reader cannot deadlock. */
    static CommandRunner system() {
        return (command, workDir) -> {
            Process process = new ProcessBuilder(command).directory(workDir.toFile())
                    .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
                    .start();
            String output;
            try (InputStream in = process.getInputStream()) {
                output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            return new Result(process.waitFor(), output);
        };
    }

    private static java.io.File nullDevice() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }
}
