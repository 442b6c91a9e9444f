package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardCopyOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code prunelab kernel}: the Jupyter kernel for notebooks. */
@Command(name = "kernel", mixinStandardHelpOptions = true, description = "The prunelab Jupyter kernel.",
        subcommands = {KernelCommand.Install.class})
final class KernelCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * {@code prunelab kernel install}: writes the kernelspec {@value #NAME} ({@code kernel.json}) whose argv
     * starts this JDK 25's {@code java} on the kernel module's classes and libraries, so Jupyter (Lab,
     * nbclient, nbconvert) can start it. Follows Jupyter's kernelspec layout:
     * {@code <data dir>/kernels/<name>/kernel.json}.
     */
    @Command(name = "install", mixinStandardHelpOptions = true,
            description = {"Install the \"prunelab (Java 25)\" kernelspec for Jupyter.",
                    "Default (--user): into the first entry of $JUPYTER_PATH if set, else the user's Jupyter data dir",
                    "($JUPYTER_DATA_DIR, or ~/.local/share/jupyter; ~/Library/Jupyter on macOS).",
                    "--prefix DIR: into DIR/share/jupyter/kernels (e.g. a venv's sys.prefix).",
                    "--name NAME: the kernelspec's name (default prunelab); give each checkout its own to keep them apart."})
    static final class Install implements Callable<Integer> {
        static final String NAME = "prunelab";
        static final String DISPLAY_NAME = "prunelab (Java 25)";

        @Spec CommandSpec spec;
        @Mixin CommonOptions common;

        @Option(names = "--user", description = "Install for this user (the default).")
        boolean user;

        @Option(names = "--prefix", description = "Install under DIR/share/jupyter/kernels instead.")
        Path prefix;

        @Option(names = "--name", defaultValue = NAME,
                description = "Kernelspec name, letters, digits, '.', '_' or '-' (default: ${DEFAULT-VALUE}); its display name says it too.")
        String name;

        @Override
        public Integer call() throws IOException {
            if (user && prefix != null) {
                throw new PrunelabException.InvalidArgument("--user and --prefix choose different places: give one of them");
            }
            if (!name.matches("[A-Za-z0-9._-]+")) {
                throw new PrunelabException.InvalidArgument("--name '" + name + "' is not a kernelspec name: use letters, digits, '.', '_' or '-'");
            }
            Path root = Path.of(System.getProperty("prunelab.root", ".")).toAbsolutePath().normalize();
            Path kernels = prefix != null ? prefix.toAbsolutePath().resolve("share/jupyter/kernels") : userKernelsDir();
            Path dir = kernels.resolve(name);
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            String displayName = name.equals(NAME) ? DISPLAY_NAME : DISPLAY_NAME.replace(")", ", " + name + ")");
            String replaced = previousRoot(dir.resolve("kernel.json"));
            Files.createDirectories(dir);
            // Written beside and moved into place: Jupyter never reads a half-written kernel.json.
            Path tmp = Files.createTempFile(dir, "kernel", ".json.tmp");
            Files.writeString(tmp, JsonOutput.MAPPER.writeValueAsString(spec(root, java).put("display_name", displayName)),
                    StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve("kernel.json"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            var out = spec.commandLine().getOut();
            String note = replaced == null || replaced.equals(root.toString()) ? null
                    : "it replaced the kernelspec \"" + name + "\" of the checkout " + replaced
                    + "; install with another --name to keep both";
            if (common.json) {
                ObjectNode o = JsonOutput.object().put("name", name).put("display_name", displayName)
                        .put("dir", dir.toString()).put("java", java.toString()).put("checkout", root.toString());
                if (note != null) o.put("replaced_checkout", replaced);
                JsonOutput.print(out, o);
            } else {
                out.printf("installed kernel \"%s\" (name %s) in %s%nfor the checkout %s (java: %s)%n", displayName, name, dir,
                        root, java);
                if (note != null) out.println("note: " + note);
                out.printf("open notebooks with: jupyter lab %s%n", root.resolve("notebooks"));
                out.flush();
            }
            return 0;
        }

        /** The checkout an existing kernel.json starts (its -Dprunelab.root), or null when there is none. */
        static String previousRoot(Path kernelJson) {
            if (!Files.isRegularFile(kernelJson)) return null;
            try {
                for (var a : JsonOutput.MAPPER.readTree(kernelJson.toFile()).path("argv")) {
                    if (a.asText().startsWith("-Dprunelab.root=")) return a.asText().substring("-Dprunelab.root=".length());
                }
            } catch (IOException e) {
                return null;   // an unreadable spec is replaced as any other
            }
            return null;
        }

        /** kernel.json: argv names the JDK 25 java, the kernel's class path and JVM flags; interrupts by message. */
        static ObjectNode spec(Path root, Path java) {
            Path classes = root.resolve("kernel/target/classes");
            Path lib = root.resolve("kernel/target/lib");
            if (!Files.isDirectory(classes) || !Files.isDirectory(lib)) {
                throw new PrunelabException.Setup("the kernel is not built (" + classes + " or " + lib
                        + " is missing): run './prunelab kernel install', which builds it first, or 'mvn -DskipTests package'");
            }
            String cp = String.join(File.pathSeparator, List.of(classes.toString(),
                    root.resolve("experiments/target/classes").toString(), root.resolve("core/target/classes").toString(),
                    lib.resolve("*").toString()));
            ObjectNode spec = JsonOutput.object();
            ArrayNode argv = spec.putArray("argv");
            for (String a : List.of(java.toString(), "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                    "--sun-misc-unsafe-memory-access=allow",
                    "-Djava.awt.headless=true", "-XX:+UseParallelGC", "-Dprunelab.root=" + root, "-Dfile.encoding=UTF-8",
                    "-cp", cp, "org.prunelab.kernel.KernelMain", "{connection_file}")) {
                argv.add(a);
            }
            spec.put("display_name", DISPLAY_NAME).put("language", "java").put("interrupt_mode", "message");
            ObjectNode env = spec.putObject("env");
            for (String var : List.of("PRUNELAB_HOME", "MLFLOW_TRACKING_URI")) {
                String v = System.getenv(var);
                if (v != null) env.put(var, v);
            }
            spec.putObject("metadata");
            return spec;
        }

        /** Jupyter's per-user kernels directory, honouring JUPYTER_PATH first as the brief for this command asks. */
        static Path userKernelsDir() {
            Map<String, String> env = System.getenv();
            String jupyterPath = env.get("JUPYTER_PATH");
            if (jupyterPath != null && !jupyterPath.isBlank()) {
                return Path.of(jupyterPath.split(File.pathSeparator)[0]).toAbsolutePath().resolve("kernels");
            }
            String dataDir = env.get("JUPYTER_DATA_DIR");
            if (dataDir != null && !dataDir.isBlank()) return Path.of(dataDir).toAbsolutePath().resolve("kernels");
            Path home = Path.of(System.getProperty("user.home"));
            if (System.getProperty("os.name", "").toLowerCase().contains("mac")) {
                return home.resolve("Library/Jupyter/kernels");
            }
            String xdg = env.get("XDG_DATA_HOME");
            Path data = xdg != null && !xdg.isBlank() ? Path.of(xdg) : home.resolve(".local/share");
            return data.resolve("jupyter/kernels");
        }
    }
}
