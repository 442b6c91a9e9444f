package org.prunelab.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A setup in a process of its own, for {@link CacheFaultsTest}: {@code SetupChild HOME WHEEL LOG MODE}. The fake registry
 * client appends a line to LOG for every download, then in MODE {@code slow} waits 1.5 s and delivers WHEEL; in MODE
 * {@code stall} writes half of WHEEL, creates LOG.stalled and waits to be killed. Prints each artifact's outcome.
 */
final class SetupChild {
    private SetupChild() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]);
        Path wheel = Path.of(args[1]);
        Path log = Path.of(args[2]);
        String mode = args[3];
        CommandRunner client = (command, workDir) -> {
            Files.writeString(log, ProcessHandle.current().pid() + " " + String.join(" ", command) + "\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            Path target = workDir.resolve(wheel.getFileName());
            if (mode.equals("stall")) {
                byte[] all = Files.readAllBytes(wheel);
                Files.write(target, java.util.Arrays.copyOf(all, all.length / 2));
                Files.createFile(Path.of(log + ".stalled"));
                Thread.sleep(Long.MAX_VALUE);
            }
            Thread.sleep(1500);
            Files.copy(wheel, target);
            return new CommandRunner.Result(0, "Saved " + wheel.getFileName());
        };
        Setup setup = new Setup(new PrunelabHome(home), new Fetcher(client, Fetcher.Clients.defaults()));
        for (Setup.Outcome o : setup.ensureArtifacts(List.of(CacheFaultsTest.toyArtifact(wheel)), Setup.Verification.QUICK, s -> {})) {
            System.out.println(o.artifact() + " " + o.action());
        }
    }

    /** The command line that runs this class in a fresh JVM with the test's class path. */
    static List<String> command(String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), SetupChild.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
