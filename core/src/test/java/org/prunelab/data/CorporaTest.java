package org.prunelab.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.TestModels;
import org.prunelab.cache.PrunelabHome;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Loaders on synthetic inputs, and on the real corpora when setup has fetched them (skipped otherwise). */
class CorporaTest {
    @TempDir Path tmp;

    @Test
    void brownTagsAreStrippedAndQuotesAndSpacingRestored() {
        String tagged = "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, and/cc (/( e.g./rb ,/, Garstung/np )/) ./.\n"
                + "Mr./np Allen/np Jr./np ./. It/pps cost/vbd $600/nns ;/. '/' fine/jj '/' ,/, he/pps said/vbd ?/.\n\n\n\tNext/ap paragraph/nn ./.\n";

        assertThat(BrownCorpus.detag(tagged)).isEqualTo(
                "The jury said \"no evidence\", and (e.g., Garstung). Mr. Allen Jr. It cost $600; 'fine', he said?\nNext paragraph.");
    }

    @Test
    void brownRealCorpusHas500FilesSplitOneInTen() {
        Path dir = TestModels.corpus("corpora/brown");
        Corpus brown = BrownCorpus.load(dir, "brown");

        assertThat(brown.documents()).hasSize(500);
        assertThat(brown.size(Split.EVALUATION)).isEqualTo(50);
        assertThat(brown.documents().getFirst().id()).isEqualTo("ca01");
        assertThat(brown.documents().getFirst().text()).startsWith("The Fulton County Grand Jury said Friday an investigation"
                + " of Atlanta's recent primary election produced \"no evidence\" that any irregularities took place.");
        assertThat(brown.documents()).allSatisfy(d -> assertThat(d.text()).doesNotContain("/at ", "/nn ", "``"));
    }

    @Test
    void udhrHtmlSectionsBlocksAndEntities() {
        String html = """
                <!doctype html>
                <html data-code="xx" lang="xx-Latn" dir="ltr">
                  <head><title>Language name</title></head>
                  <body>
                    <h1>Declaration</h1>
                    <header>
                      <h2>Preamble</h2>
                      <p>Whereas   A &#x26; B,</p>
                    </header>
                    <article data-number="1">
                      <h2>Article 1</h2>
                      <ol><li><p>One &lt; two.</p></li><li>
                        <p>Three.</p></li></ol>
                    </article>
                  </body>
                </html>
                """;
        UdhrHtml.Declaration d = UdhrHtml.parse(html);

        assertThat(d.lang()).isEqualTo("xx-Latn");
        assertThat(d.sections()).extracting(UdhrHtml.Section::id).containsExactly("preamble", "article-1");
        assertThat(d.sections().get(0).blocks()).containsExactly("Declaration", "Preamble", "Whereas A & B,");
        assertThat(d.sections().get(1).blocks()).containsExactly("Article 1", "One < two.", "Three.");
    }

    /**
     * The split of every UDHR translation by article (changed from "evaluation only"): articles 1, 4, ..., 28 are one
     * calibration document, the preamble and the other 20 articles the evaluation part; the whole text keeps its order.
     */
    @Test
    void udhrRealEnglishSplitsTenCalibrationArticlesFromTwentyEvaluationArticles() throws Exception {
        Path dir = TestModels.corpus("corpora/udhr");
        Corpus eng = UdhrCorpus.load(dir, "eng", "udhr:eng");

        assertThat(eng.language()).isEqualTo("en");
        List<String> sections = UdhrHtml.parse(Files.readString(dir.resolve("eng.html"))).sections().stream()
                .map(UdhrHtml.Section::id).toList();
        assertThat(sections).hasSize(31);
        assertThat(sections.stream().filter(UdhrCorpus::isCalibrationArticle))
                .containsExactly("article-1", "article-4", "article-7", "article-10", "article-13", "article-16",
                        "article-19", "article-22", "article-25", "article-28");
        assertThat(eng.size(Split.CALIBRATION)).isEqualTo(1);
        Document calibration = eng.part(Split.CALIBRATION).getFirst();
        assertThat(calibration.id()).isEqualTo(UdhrCorpus.CALIBRATION_DOCUMENT);
        assertThat(calibration.text()).startsWith("Article 1\nAll human beings are born free and equal in dignity")
                .contains("\n\nArticle 4\nNo one shall be held in slavery").contains("\n\nArticle 28\n")
                .doesNotContain("Article 2\n").doesNotContain("Article 29\n");
        List<Document> evaluation = eng.part(Split.EVALUATION);
        assertThat(evaluation).hasSize(21);
        assertThat(evaluation.stream().map(Document::id)).startsWith("preamble", "article-2", "article-3", "article-5")
                .noneMatch(UdhrCorpus::isCalibrationArticle).hasSize(21);
        // No calibration article's text is in the evaluation part.
        String evalText = String.join(Windows.JOIN, evaluation.stream().map(Document::text).toList());
        for (String article : calibration.text().split(Windows.JOIN)) assertThat(evalText).doesNotContain(article);
        // eval --split all: the whole declaration in its order, calibration articles included.
        assertThat(eng.wholeText()).contains("Article 1\nAll human beings").contains("Article 2\n")
                .matches("(?s).*Article 1\n.*Article 2\n.*Article 3\n.*Article 4\n.*");
        assertThat(UdhrCorpus.isCalibrationArticle("preamble")).isFalse();
        assertThat(UdhrCorpus.isCalibrationArticle("article-30")).isFalse();
        assertThat(UdhrCorpus.isCalibrationArticle("article-x")).isFalse();
    }

    @Test
    void udhrUnknownCodeListsCloseMatches() {
        Path dir = TestModels.corpus("corpora/udhr");
        assertThatThrownBy(() -> UdhrCorpus.load(dir, "deu", "udhr:deu")).isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("deu_1901").hasMessageContaining("deu_1996");
        assertThatThrownBy(() -> UdhrCorpus.load(dir, "swa", "udhr:swa")).hasMessageContaining("swh");
    }

    @Test
    void closeMatchesPreferSharedPrefixThenEditDistance() {
        assertThat(UdhrCorpus.closeMatches("hau", java.util.List.of("eng", "hau_NE", "hau_NG", "haw", "swh")))
                .startsWith("hau_NE", "hau_NG").contains("haw");
    }

    @Test
    void nlpcorpusRealHasOneDocumentPerFile() {
        Corpus c = NlpCorpus.load(TestModels.corpus("corpora/nlpcorpus"), "nlpcorpus");
        assertThat(c.documents()).hasSize(100);
        assertThat(c.documents().get(2).id()).isEqualTo("doc-2.json");
        assertThat(c.size(Split.EVALUATION)).isEqualTo(10);
        assertThat(c.documents().getFirst().text()).startsWith("Creakiness and atmosphere this film has");
    }

    @Test
    void wikitextRowsFollowTheHuggingFaceLoaderAndTheReferenceJoins() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("wikitext-2-raw"));
        Files.writeString(dir.resolve("wiki.test.raw"), " \n = Title = \n \n A line .\r\nlast");
        Files.writeString(dir.resolve("wiki.train.raw"), " = T = \n\n Body .\n");

        Corpus c = WikiText2.load(dir, "wikitext2:" + dir);

        String joined = String.join(Windows.JOIN, c.part(Split.EVALUATION).stream().map(Document::text).toList());
        // rows: "", " = Title = \n", "", " A line .\n", "last"
        assertThat(joined).isEqualTo("\n\n = Title = \n\n\n\n\n A line .\n\n\nlast");
        assertThat(c.part(Split.CALIBRATION)).singleElement().extracting(Document::text).isEqualTo(" = T = \n   Body .\n");
    }

    @Test
    void wikitextMissingFilesSayWhatIsExpected() {
        assertThatThrownBy(() -> WikiText2.load(tmp, "wikitext2:" + tmp)).isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("wiki.test.raw");
    }

    @Test
    void plainTextSplitsParagraphsOneInTenWithoutOverlap() throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 25; i++) text.append("Paragraph ").append(i).append(" text.\n\n");
        Path file = Files.writeString(tmp.resolve("mine.txt"), text);

        Corpus c = Datasets.resolve(file.toString(), new PrunelabHome(tmp));

        assertThat(c.part(Split.EVALUATION)).singleElement().extracting(Document::text)
                .isEqualTo("Paragraph 0 text.\n\nParagraph 10 text.\n\nParagraph 20 text.");
        String calibration = c.part(Split.CALIBRATION).getFirst().text();
        assertThat(calibration).startsWith("Paragraph 1 text.").doesNotContain("Paragraph 10 ", "Paragraph 0 ");
    }

    @Test
    void splitsNeverShareADocumentAndEveryTenthUnitIsEvaluation() {
        Corpus brown = BrownCorpus.load(TestModels.corpus("corpora/brown"), "brown");
        Set<String> eval = brown.part(Split.EVALUATION).stream().map(Document::id).collect(Collectors.toSet());
        Set<String> calib = brown.part(Split.CALIBRATION).stream().map(Document::id).collect(Collectors.toSet());

        assertThat(eval).doesNotContainAnyElementsOf(calib).contains("ca01", "ca11", "cb07");
        assertThat(eval.size() + calib.size()).isEqualTo(500);
    }
}
