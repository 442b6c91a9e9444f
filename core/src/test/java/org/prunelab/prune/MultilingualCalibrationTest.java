package org.prunelab.prune;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.TestModels;
import org.prunelab.arch.ModelLoader;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Encoder;
import org.prunelab.data.Split;
import org.prunelab.data.Tokenizer;
import org.prunelab.data.Window;
import org.prunelab.model.LoadedModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Calibration sets drawn from several datasets (one per language), UDHR's small calibration part, and M-Wanda on the
 * real SmolLM2 calibrated on three UDHR languages.
 */
class MultilingualCalibrationTest {
    private static final Encoder CHARS = text -> text.chars().toArray();

    private static Corpus corpus(String name, String language, int docs, int seed) {
        List<org.prunelab.data.Document> units = new ArrayList<>();
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < docs; i++) {
            StringBuilder s = new StringBuilder();
            for (int k = 0; k < 200; k++) s.append((char) ('a' + r.nextInt(26)));
            units.add(new org.prunelab.data.Document(i, name + "-" + i, s.toString(), Split.CALIBRATION));
        }
        return new Corpus(name, language, units, "all calibration");
    }

    @Test
    void sharesSpreadWindowsEvenlyWithTheRemainderToTheFirstDatasets() {
        assertThat(CalibrationData.shares(10, 3)).containsExactly(4, 3, 3);
        assertThat(CalibrationData.shares(11, 3)).containsExactly(4, 4, 3);
        assertThat(CalibrationData.shares(12, 3)).containsExactly(4, 4, 4);
        assertThat(CalibrationData.shares(7, 1)).containsExactly(7);
        assertThatThrownBy(() -> CalibrationData.shares(2, 3)).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("nsamples 2 cannot spread over 3 calibration datasets");
        assertThat(CalibrationData.seedOf(5, 0)).isEqualTo(5);
        assertThat(CalibrationData.seedOf(5, 1)).isNotEqualTo(5).isNotEqualTo(CalibrationData.seedOf(5, 2));
    }

    @Test
    void oneDatasetDrawsExactlyTheWindowsItAlwaysDrew() {
        Corpus brownLike = corpus("a", "en", 5, 1);
        List<Window> single = CalibrationData.sample(brownLike, CHARS, 6, 32, 3);
        List<Window> listed = CalibrationData.sample(List.of(brownLike), CHARS, 6, 32, 3);
        assertThat(listed).hasSize(6);
        for (int i = 0; i < 6; i++) {
            assertThat(listed.get(i).toString()).isEqualTo(single.get(i).toString());
            assertThat(listed.get(i).tokens()).containsExactly(single.get(i).tokens());
        }
    }

    @Test
    void severalDatasetsGiveEachItsShareAndRecordEachWindowsLanguage() {
        List<Corpus> corpora = List.of(corpus("x:en", "en", 4, 1), corpus("x:sw", "sw", 4, 2), corpus("mine.txt", "und", 4, 3));
        List<Window> w = CalibrationData.sample(corpora, CHARS, 8, 32, 0);

        assertThat(w).hasSize(8);
        Map<String, Long> perDataset = w.stream().collect(Collectors.groupingBy(Window::dataset, Collectors.counting()));
        assertThat(perDataset).containsEntry("x:en", 3L).containsEntry("x:sw", 3L).containsEntry("mine.txt", 2L);
        assertThat(w.stream().map(Window::dataset).toList()).startsWith("x:en", "x:en", "x:en", "x:sw");
        assertThat(CalibrationData.languages(w, corpora)).containsExactly("en", "en", "en", "sw", "sw", "sw",
                "mine.txt", "mine.txt"); // an unknown language is named by its dataset
        assertThat(CalibrationData.sample(corpora, CHARS, 8, 32, 0).stream().map(Window::toString).toList())
                .as("seeded").isEqualTo(w.stream().map(Window::toString).toList());
    }

    /** UDHR's calibration part (articles 1, 4, ..., 28) is ~1-1.5k SmolLM2 tokens: the usual sizes are refused. */
    @Test
    void udhrCalibrationTooSmallIsRefusedNamingItsTokens() {
        PrunelabHome home = new PrunelabHome(TestModels.home());
        TestModels.corpus("corpora/udhr");
        Corpus swh = Datasets.resolve("udhr:swh", home);
        try (Tokenizer t = ModelLoader.loadTokenizer(TestModels.smollm2Gguf().toString(), home)) {
            int tokens = t.encodeWithDefaults(swh.part(Split.CALIBRATION).getFirst().text()).length;
            assertThat(tokens).isBetween(800, 3000);
            assertThatThrownBy(() -> CalibrationData.checkSize(swh, t::encodeWithDefaults, 128, 512))
                    .isInstanceOf(PrunelabException.Dataset.class)
                    .hasMessageContaining("the calibration part of udhr:swh has " + tokens + " tokens in documents longer than"
                            + " seqlen 512 (" + tokens + " tokens in all, 1 documents), fewer than nsamples x seqlen = 128 x 512")
                    .hasMessageContaining("(e.g. nsamples " + tokens / 128 + " seqlen 128 fits)")
                    .hasMessageContaining("articles 1, 4, ..., 28 only");
            assertThatThrownBy(() -> CalibrationData.checkSize(swh, t::encodeWithDefaults, 64, 128))
                    .hasMessageContaining("has " + tokens + " tokens in documents longer than seqlen 128");
            CalibrationData.checkSize(swh, t::encodeWithDefaults, 8, 128); // what the README suggests fits
        }
    }

    /** M-Wanda on SmolLM2-135M, calibrated on 3 UDHR languages x 4 windows x 128 tokens: the requested sparsity. */
    @Test
    void mwandaOnSmolLm2WithThreeUdhrLanguagesReachesTheRequestedSparsity() {
        PrunelabHome home = new PrunelabHome(TestModels.home());
        TestModels.corpus("corpora/udhr");
        List<Corpus> corpora = List.of(Datasets.resolve("udhr:eng", home), Datasets.resolve("udhr:swh", home),
                Datasets.resolve("udhr:yor", home));
        try (LoadedModel m = ModelLoader.load(TestModels.smollm2Gguf().toString(), home)) {
            List<Window> windows = CalibrationData.sample(corpora, m.tokenizer()::encodeWithDefaults, 12, 128, 0);
            List<String> languages = CalibrationData.languages(windows, corpora);
            assertThat(languages.stream().distinct().toList()).containsExactly("en", "sw", "yo");
            Pruner p = Methods.byName("mwanda").create(Methods.byName("mwanda").args(Map.of("sparsity", 0.5)))
                    .withCalibrationLanguages(languages);
            PruneOutcome r = p.prune(m.model(), windows.stream().map(Window::tokens).toList(), PruneOptions.keepInput(null));

            double[] blocks = r.blockSparsities();
            assertThat(blocks).hasSize(30);
            assertThat(java.util.Arrays.stream(blocks).average().orElseThrow()).isCloseTo(0.5, within(1e-9));
            assertThat(java.util.Arrays.stream(blocks).max().orElseThrow()
                    - java.util.Arrays.stream(blocks).min().orElseThrow()).isCloseTo(0.16, within(1e-9));
            long pruned = r.linears().stream().mapToLong(PrunedLinear::pruned).sum();
            long total = r.linears().stream().mapToLong(l -> (long) l.outFeatures() * l.inFeatures()).sum();
            assertThat((double) pruned / total).isCloseTo(0.5, within(0.01));
        }
    }
}
