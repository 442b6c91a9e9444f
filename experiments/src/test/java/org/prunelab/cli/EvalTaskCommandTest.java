package org.prunelab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code prunelab eval --task} through the real CLI: accuracy with bootstrap intervals in the JSON, a few items each so
 * the tests stay fast, and the errors for bad task arguments.
 */
class EvalTaskCommandTest {
    /** The committed 20-record HellaSwag-format file (core's test resources; a format fixture, not benchmark data). */
    static final Path HELLASWAG = Path.of("../core/src/test/resources/fixtures/mc/formats/hellaswag.jsonl").toAbsolutePath().normalize();

    @Test
    void udhrNextSwahiliPrintsAccAndAccNormWithIntervals() throws Exception {
        CliErrorsTest.assumeModelFetched();
        CliErrorsTest.Outcome o = CliErrorsTest.run("eval", "--model", "smollm2-135m", "--task", "udhr-next:swh",
                "--items", "6", "--json", "--no-track");
        assertThat(o.status()).as(o.err()).isZero();
        JsonNode task = JsonOutput.MAPPER.readTree(o.out()).get("tasks").get(0);
        assertTaskFields(task, "udhr-next:swh", 6);
        assertThat(task.get("note").asText()).contains("udhr-next:swh").contains("dropped");
    }

    @Test
    void hellaswagFileBesidePerplexity() throws Exception {
        CliErrorsTest.assumeModelFetched();
        CliErrorsTest.Outcome o = CliErrorsTest.run("eval", "--model", "smollm2-135m", "--dataset", "udhr:eng",
                "--seqlen", "64", "--windows", "1", "--task", "hellaswag:" + HELLASWAG, "--items", "4", "--json", "--no-track");
        assertThat(o.status()).as(o.err()).isZero();
        JsonNode json = JsonOutput.MAPPER.readTree(o.out());
        assertThat(json.get("perplexity").asDouble()).isPositive(); // eval --dataset's fields are all still there
        assertThat(json.get("dataset").asText()).isEqualTo("udhr:eng");
        assertTaskFields(json.get("tasks").get(0), "hellaswag:" + HELLASWAG, 4);
    }

    private static void assertTaskFields(JsonNode task, String name, int items) {
        assertThat(task.get("task").asText()).isEqualTo(name);
        assertThat(task.get("items").asInt()).isEqualTo(items);
        for (String k : new String[]{"acc", "acc_lo", "acc_hi", "acc_norm", "acc_norm_lo", "acc_norm_hi"}) {
            assertThat(task.get(k).asDouble()).as(k).isBetween(0.0, 1.0);
        }
        assertThat(task.get("acc_lo").asDouble()).isLessThanOrEqualTo(task.get("acc").asDouble());
        assertThat(task.get("acc_hi").asDouble()).isGreaterThanOrEqualTo(task.get("acc").asDouble());
        assertThat(task.get("level").asDouble()).isEqualTo(0.95);
        assertThat(task.get("seconds").asDouble()).isPositive();
        assertThat(task.get("tokens_per_s").asDouble()).isPositive();
    }

    @Test
    void aTaskFileInTheWrongFormatNamesLineAndField(@TempDir Path dir) throws Exception {
        CliErrorsTest.assumeModelFetched();
        Path piqa = Files.writeString(dir.resolve("piqa.jsonl"), "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\", \"label\": 0}\n");
        CliErrorsTest.Outcome o = CliErrorsTest.run("eval", "--model", "smollm2-135m", "--task", "arc_easy:" + piqa, "--no-track");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).startsWith("error: ").contains("piqa.jsonl line 1").contains("field 'question' is missing")
                .contains("answerKey").doesNotContain("\tat ");
    }

    @Test
    void anUnknownTaskListsTheValidOnes() {
        CliErrorsTest.assumeModelFetched();
        CliErrorsTest.Outcome o = CliErrorsTest.run("eval", "--model", "smollm2-135m", "--task", "mmlu:/tmp/x.jsonl", "--no-track");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("unknown task 'mmlu:/tmp/x.jsonl'").contains("udhr-next:<code>").contains("hellaswag")
                .doesNotContain("\tat ");
    }

    @Test
    void aLanguageWithoutAUdhrTranslationListsCloseMatches() {
        CliErrorsTest.assumeModelFetched();
        CliErrorsTest.Outcome o = CliErrorsTest.run("eval", "--model", "smollm2-135m", "--task", "udhr-next:swz", "--no-track");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("no UDHR translation 'swz'").contains("swh").doesNotContain("\tat ");
    }

    @Test
    void evalNeedsADatasetOrATask() {
        CliErrorsTest.Outcome o = CliErrorsTest.run("eval", "--model", "smollm2-135m");
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).contains("--dataset").contains("--task");
    }
}
