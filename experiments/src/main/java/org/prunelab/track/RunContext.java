package org.prunelab.track;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The tags that say where and with what a run was made: git commit (and whether the tree was dirty),
 * prunelab version, CPU model and count, OS, JDK version. Computed once per {@link Tracker}.
 */
public final class RunContext {
    private RunContext() {}

    /** The context tags for runs made from the checkout at {@code projectRoot} (null: none known). */
    public static Map<String, String> tags(Path projectRoot) {
        Map<String, String> tags = new LinkedHashMap<>();
        if (projectRoot != null) {
            git(projectRoot, "rev-parse", "HEAD").ifPresent(commit -> tags.put(MlflowNames.GIT_COMMIT_TAG, commit));
            git(projectRoot, "status", "--porcelain", "--untracked-files=no")
                    .ifPresent(status -> tags.put(MlflowNames.GIT_DIRTY_TAG, Boolean.toString(!status.isEmpty())));
        }
        tags.put(MlflowNames.VERSION_TAG, prunelabVersion());
        tags.put(MlflowNames.CPU_MODEL_TAG, cpuModel());
        tags.put(MlflowNames.CPU_COUNT_TAG, Integer.toString(Runtime.getRuntime().availableProcessors()));
        tags.put(MlflowNames.OS_TAG, System.getProperty("os.name") + " " + System.getProperty("os.version")
                + " " + System.getProperty("os.arch"));
        tags.put(MlflowNames.JDK_VERSION_TAG, Runtime.version().toString());
        return tags;
    }

    /** The version Maven stamped into {@code version.properties} at build time. */
    static String prunelabVersion() {
        try (InputStream in = RunContext.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The CPU's model name from /proc/cpuinfo (Linux), else the JVM's architecture name. */
    static String cpuModel() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (Files.isReadable(cpuinfo)) {
            try {
                for (String line : Files.readAllLines(cpuinfo, StandardCharsets.UTF_8)) {
                    if (line.startsWith("model name")) {
                        return line.substring(line.indexOf(':') + 1).strip();
                    }
                }
            } catch (IOException e) {
                // fall through to the architecture name
            }
        }
        return System.getProperty("os.arch");
    }

    private static Optional<String> git(Path root, String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("git", "-C", root.toString()));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(false)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                return Optional.empty();
            }
            return Optional.of(out);
        } catch (IOException e) {
            return Optional.empty();   // no git: the tag is simply absent
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
