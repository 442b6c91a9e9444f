package org.prunelab.data;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Windowing rules on synthetic text, with a one-token-per-character encoder so counts can be checked by hand. */
class WindowsTest {
    /** Token id = the character's code point. */
    private static final Encoder CHARS = text -> text.chars().toArray();

    private static Corpus corpus(Split split, String... texts) {
        List<Corpus.Unit> units = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) units.add(new Corpus.Unit("d" + i, texts[i], split));
        return new Corpus("toy", "en", Corpus.number(units), "test");
    }

    @Test
    void evaluationJoinsWithBlankLineCutsNonOverlappingWindowsAndDropsRemainder() {
        // "abcd" + "\n\n" + "efg" = 9 tokens; seqlen 4 -> windows [0,4) and [4,8), the 9th token dropped.
        List<Window> windows = Windows.evaluation(corpus(Split.EVALUATION, "abcd", "efg"), CHARS, 4);

        assertThat(windows).hasSize(2);
        assertThat(windows).extracting(Window::tokenOffset).containsExactly(0, 4);
        assertThat(windows.get(0).tokens()).containsExactly('a', 'b', 'c', 'd');
        assertThat(windows.get(1).tokens()).containsExactly('\n', '\n', 'e', 'f');
        assertThat(windows).allSatisfy(w -> {
            assertThat(w.document()).isEqualTo(Window.JOINED);
            assertThat(w.split()).isEqualTo(Split.EVALUATION);
        });
        assertThat(windows.get(1)).hasToString("toy/evaluation/joined@4+4");
    }

    @Test
    void evaluationUsesOnlyTheEvaluationPart() {
        List<Corpus.Unit> units = List.of(new Corpus.Unit("e", "xy", Split.EVALUATION),
                new Corpus.Unit("c", "zzzzzzzz", Split.CALIBRATION), new Corpus.Unit("e2", "uv", Split.EVALUATION));
        Corpus c = new Corpus("toy", "en", Corpus.number(units), "test");

        List<Window> windows = Windows.evaluation(c, CHARS, 3); // "xy\n\nuv" = 6 tokens -> 2 windows

        assertThat(windows).hasSize(2);
        assertThat(windows.get(1).tokens()).containsExactly('\n', 'u', 'v');
    }

    @Test
    void evaluationTooShortSaysHowManyTokensThereAre() {
        assertThatThrownBy(() -> Windows.evaluation(corpus(Split.EVALUATION, "abcd", "efg"), CHARS, 10))
                .isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("has 9 tokens").hasMessageContaining("seqlen 10");
    }

    @Test
    void calibrationIsSeededReproducibleAndDifferentSeedsDiffer() {
        Corpus c = corpus(Split.CALIBRATION, "a".repeat(50), "b".repeat(300), "c".repeat(500), "d".repeat(40));

        List<Window> first = Windows.calibration(c, CHARS, 16, 32, 0);
        List<Window> again = Windows.calibration(c, CHARS, 16, 32, 0);
        List<Window> other = Windows.calibration(c, CHARS, 16, 32, 1);

        assertThat(keys(first)).isEqualTo(keys(again));
        assertThat(keys(first)).isNotEqualTo(keys(other));
    }

    @Test
    void calibrationWindowsComeFromDocumentsLongerThanSeqlenAndStayInside() {
        // Document 1 has exactly seqlen tokens: the reference requires strictly more, so it is never used.
        Corpus c = corpus(Split.CALIBRATION, "a".repeat(10), "b".repeat(64), "c".repeat(65), "d".repeat(200));

        List<Window> windows = Windows.calibration(c, CHARS, 200, 64, 42);

        assertThat(windows).hasSize(200);
        Set<Integer> used = new HashSet<>();
        for (Window w : windows) {
            used.add(w.document());
            String text = c.documents().get(w.document()).text();
            assertThat(w.tokens()).hasSize(64);
            // start in [0, length - seqlen - 1], as the reference's randint(0, len - seqlen - 1)
            assertThat(w.tokenOffset()).isBetween(0, text.length() - 64 - 1);
            assertThat(new String(w.tokens(), 0, 64)).isEqualTo(text.substring(w.tokenOffset(), w.tokenOffset() + 64));
            assertThat(w.split()).isEqualTo(Split.CALIBRATION);
        }
        assertThat(used).containsExactlyInAnyOrder(2, 3);
        // a 65-token document admits only start 0
        assertThat(windows).filteredOn(w -> w.document() == 2).extracting(Window::tokenOffset).containsOnly(0);
    }

    @Test
    void calibrationWithNoLongDocumentSaysWhatIsAvailable() {
        Corpus c = corpus(Split.CALIBRATION, "a".repeat(10), "b".repeat(30));

        assertThatThrownBy(() -> Windows.calibration(c, CHARS, 4, 30, 0))
                .isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("longer than seqlen 30")
                .hasMessageContaining("40 tokens in all, the longest 30");
    }

    @Test
    void calibrationRefusesAnEvaluationOnlyCorpus() {
        Corpus c = new Corpus("udhr:eng", "en", Corpus.number(List.of(new Corpus.Unit("a", "text", Split.EVALUATION))),
                UdhrCorpus.SPLIT_RULE);

        assertThatThrownBy(() -> Windows.calibration(c, CHARS, 1, 2, 0))
                .isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("udhr:eng has no calibration part")
                .hasMessageContaining("UDHR articles n % 3 == 1 (1, 4, ..., 28) -> calibration");
    }

    @Test
    void badCountsAreArgumentErrors() {
        Corpus c = corpus(Split.CALIBRATION, "abc");
        assertThatThrownBy(() -> Windows.calibration(c, CHARS, 0, 2, 0)).isInstanceOf(PrunelabException.InvalidArgument.class);
        assertThatThrownBy(() -> Windows.evaluation(c, CHARS, 0)).isInstanceOf(PrunelabException.InvalidArgument.class);
    }

    private static List<String> keys(List<Window> windows) {
        return windows.stream().map(Window::toString).toList();
    }
}
