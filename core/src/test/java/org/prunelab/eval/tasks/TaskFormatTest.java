package org.prunelab.eval.tasks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.TestModels;
import org.prunelab.cache.PrunelabHome;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The task file readers, lm-eval's prompts for each format, the built-in tasks' rules, and the errors for bad input. */
class TaskFormatTest {
    private static final Path FORMATS = McReferenceTest.FIX.resolve("formats");

    @Test
    void everyFormatFixtureReadsAsTwentyItems() {
        for (String f : List.of("hellaswag", "arc", "piqa", "boolq", "winogrande", "rte", "openbookqa")) {
            List<McItem> items = TaskFormat.byName(f).orElseThrow().read(FORMATS.resolve(f + ".jsonl"));
            assertThat(items).as(f).hasSize(20);
        }
    }

    @Test
    void hellaswagQueryIsLmEvalsPreprocessedActivityAndContext(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("h.jsonl"), """
                {"ind": 7, "activity_label": "Baking", "ctx_a": "[header] How to bake [title] Heat the oven.", "ctx_b": "then PUT", "endings": ["the [step] tray in.", " a cake "], "label": "1"}
                """);
        McItem item = TaskFormat.HELLASWAG.read(file).getFirst();
        assertThat(item.id()).isEqualTo("7");
        assertThat(item.gold()).isEqualTo(1);
        McItem.Choice c = item.choices().getFirst();
        // " [title]" -> ". ", brackets dropped, double spaces collapsed; ctx_b capitalized as Python's str.capitalize
        assertThat(c.context()).isEqualTo("Baking:  How to bake. Heat the oven. Then put".replace("  ", " "));
        assertThat(c.continuation()).isEqualTo(" the tray in.");
        assertThat(item.choices().get(1).text()).isEqualTo("a cake");
        assertThat(TaskFormat.capitalize("éCOLE")).isEqualTo("École");
    }

    @Test
    void winograndeScoresTheSameContinuationAfterEachFilledContext(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("w.jsonl"),
                "{\"sentence\": \"The cup fell off the table because _ was tilted.\", \"option1\": \"the cup\", \"option2\": \"the table\", \"answer\": \"2\"}\n");
        McItem item = TaskFormat.WINOGRANDE.read(file).getFirst();
        assertThat(item.gold()).isEqualTo(1);
        assertThat(item.choices()).extracting(McItem.Choice::context)
                .containsExactly("The cup fell off the table because the cup", "The cup fell off the table because the table");
        assertThat(item.choices()).extracting(McItem.Choice::continuation).containsOnly(" was tilted.");
    }

    @Test
    void promptsOfTheOtherFormatsAreLmEvals() {
        McItem arc = TaskFormat.ARC.read(FORMATS.resolve("arc.jsonl")).getFirst();
        assertThat(arc.choices().getFirst().context()).startsWith("Question: ").endsWith("\nAnswer:");
        McItem boolq = TaskFormat.BOOLQ.read(FORMATS.resolve("boolq.jsonl")).getFirst();
        assertThat(boolq.choices()).extracting(McItem.Choice::continuation).containsExactly(" no", " yes");
        assertThat(boolq.choices().getFirst().context()).contains("\nQuestion: ").endsWith("?\nAnswer:");
        McItem rte = TaskFormat.RTE.read(FORMATS.resolve("rte.jsonl")).getLast(); // a SuperGLUE premise/hypothesis record
        assertThat(rte.choices()).extracting(McItem.Choice::text).containsExactly("True", "False");
        assertThat(rte.choices().getFirst().context()).endsWith(" True or False?\nAnswer:");
    }

    @Test
    void aFileInAnotherFormatNamesTheFileLineAndField() {
        Path arc = FORMATS.resolve("arc.jsonl");
        assertThatThrownBy(() -> TaskFormat.HELLASWAG.read(arc))
                .isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("arc.jsonl line 1")
                .hasMessageContaining("field 'ctx_a' is missing")
                .hasMessageContaining("ctx_a (string), ctx_b (string)");
    }

    @Test
    void aBadValueOrANonJsonLineIsNamed(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("p.jsonl"), """
                {"goal": "g", "sol1": "a", "sol2": "b", "label": 0}

                {"goal": "g", "sol1": "a", "sol2": "b", "label": 2}
                """);
        assertThatThrownBy(() -> TaskFormat.PIQA.read(file)).isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("p.jsonl line 3").hasMessageContaining("field 'label' is 2, outside [0, 2)");
        Path broken = Files.writeString(dir.resolve("b.jsonl"), "{\"goal\": \"g\",\n");
        assertThatThrownBy(() -> TaskFormat.PIQA.read(broken)).isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("b.jsonl line 1: not a JSON object");
        // Not UTF-8: the line and byte are named (the JDK alone says "Input length = 1").
        Path latin1 = Files.write(dir.resolve("l.jsonl"), "{\"goal\": \"g\"}\n{\"goal\": \"caf\u00e9\"}\n"
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> TaskFormat.PIQA.read(latin1)).isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("l.jsonl is not UTF-8 text: line 2, byte offset 27 holds 0xE9");
        assertThatThrownBy(() -> TaskFormat.PIQA.read(dir)).isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("is a folder; give the file itself");
    }

    @Test
    void aJsonArrayFileIsReadWithLineNumbers(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("a.json"), """
                [
                  {"goal": "g", "sol1": "a", "sol2": "b", "label": 1},
                  {"goal": "g", "sol1": "a", "label": 1}
                ]
                """);
        assertThatThrownBy(() -> TaskFormat.PIQA.read(file)).hasMessageContaining("a.json line 3: field 'sol2' is missing");
    }

    @Test
    void unknownTaskListsTheValidOnes() {
        assertThatThrownBy(() -> Tasks.load("squad:/tmp/x.jsonl", new PrunelabHome(Path.of("/nonexistent")), 0))
                .isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("unknown task 'squad:/tmp/x.jsonl'")
                .hasMessageContaining("udhr-next:<code>").hasMessageContaining("brown-next").hasMessageContaining("hellaswag");
    }

    @Test
    void udhrCodeWithoutATranslationListsCloseMatches() {
        TestModels.corpus("corpora/udhr");
        assertThatThrownBy(() -> Tasks.load("udhr-next:swz", new PrunelabHome(TestModels.home()), 0))
                .isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("no UDHR translation 'swz'").hasMessageContaining("close matches").hasMessageContaining("swh");
    }

    @Test
    void udhrEvaluationPartLeavesOutEveryThirdArticleFromOne() {
        assertThat(BuiltinTasks.udhrEvaluationSection("preamble")).isTrue();
        assertThat(BuiltinTasks.udhrEvaluationSection("article-1")).isFalse();
        assertThat(BuiltinTasks.udhrEvaluationSection("article-28")).isFalse();
        assertThat(BuiltinTasks.udhrEvaluationSection("article-2")).isTrue();
        assertThat(BuiltinTasks.udhrEvaluationSection("article-30")).isTrue();
    }

    @Test
    void udhrNextHasTheSameItemsDistractorsAndGoldPositionsInEveryLanguage() {
        TestModels.corpus("corpora/udhr");
        PrunelabHome home = new PrunelabHome(TestModels.home());
        BuiltinTasks.Built eng = BuiltinTasks.udhrNext(home, "eng");
        assertThat(eng.items()).hasSize(40);
        assertThat(eng.note()).contains("40 of 40 items").contains(" 0 dropped");
        var engItems = new java.util.HashMap<String, McItem>();
        eng.items().forEach(i -> engItems.put(i.id(), i));
        for (String code : List.of("swh", "fra", "cmn_hans", "amh", "hin", "yor")) {
            BuiltinTasks.Built other = BuiltinTasks.udhrNext(home, code);
            assertThat(other.items()).as(code).hasSizeGreaterThanOrEqualTo(30);
            assertThat(other.items()).allSatisfy(i -> {
                assertThat(i.choices()).hasSize(4);
                assertThat(BuiltinTasks.udhrEvaluationSection(i.id().substring(0, i.id().indexOf('/')))).isTrue();
                McItem e = engItems.get(i.id());
                assertThat(e).as(code + " " + i.id()).isNotNull();
                assertThat(i.gold()).isEqualTo(e.gold());
                // the gold choice is the article's own next third: its context's article, never a distractor's
                assertThat(i.choices().get(i.gold()).context()).isEqualTo(i.choices().getFirst().context());
            });
        }
    }

    @Test
    void udhrThirdsCutAtPunctuationAndKeepEveryCharacter() {
        String[] t = BuiltinTasks.thirds(List.of("Article 9", "No one shall be subjected to arbitrary arrest, detention or exile. Everyone has rights; all of them."));
        assertThat(t).isNotNull();
        assertThat(t[0]).isEqualTo("Article 9");
        assertThat(t[1]).endsWith(",").doesNotStartWith(" ");
        assertThat((t[1] + " " + t[2] + " " + t[3]).replace(" ", ""))
                .isEqualTo("No one shall be subjected to arbitrary arrest, detention or exile. Everyone has rights; all of them.".replace(" ", ""));
        assertThat(t[4]).isEqualTo(" ");
        String[] zh = BuiltinTasks.thirds(List.of("第九条", "任何人不得加以任意逮捕、拘禁或放逐。人人有权利，皆平等。"));
        assertThat(zh).isNotNull();
        assertThat(zh[4]).isEmpty();
        assertThat(zh[1] + zh[2] + zh[3]).isEqualTo("任何人不得加以任意逮捕、拘禁或放逐。人人有权利，皆平等。");
        assertThat(BuiltinTasks.thirds(List.of("Article 1"))).isNull();
    }

    @Test
    void brownNextIsDeterministicAndDrawsDistractorsFromOtherDocuments() {
        TestModels.corpus("corpora/brown");
        PrunelabHome home = new PrunelabHome(TestModels.home());
        List<McItem> a = BuiltinTasks.brownNext(home).items();
        assertThat(a).hasSizeGreaterThan(200).isEqualTo(BuiltinTasks.brownNext(home).items());
        assertThat(a).allSatisfy(i -> assertThat(i.choices()).hasSize(4));
    }
}
