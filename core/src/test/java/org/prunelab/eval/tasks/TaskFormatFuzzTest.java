package org.prunelab.eval.tasks;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.fuzz.FuzzContract;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz target for the zero-shot task readers ({@link TaskFormat}: HellaSwag, ARC, PIQA, BoolQ, WinoGrande, RTE,
 * OpenBookQA and prunelab's own {@code mc} format), fed a task file of arbitrary bytes. The first byte picks the
 * format, the rest is the file. Each read either returns items lm-eval could score (at least two choices, a gold
 * index among them, non-empty contexts and continuations) or refuses with a {@link org.prunelab.PrunelabException.Dataset}.
 * Contract: {@link FuzzContract}; inputs in {@code TaskFormatFuzzTestInputs/read/} (seeds: the committed 20-item
 * fixtures of {@code fixtures/mc/formats/} and hand-made cases, written by {@code FuzzSeedsWriter#tasks}).
 */
class TaskFormatFuzzTest {
    private static final Path FILE = scratch();

    private static Path scratch() {
        try {
            Path dir = Files.createTempDirectory("prunelab-task-fuzz");
            dir.toFile().deleteOnExit();
            Path file = dir.resolve("task.jsonl");
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What every item a reader returns satisfies: what {@link MultipleChoice} needs to score it. */
    private static void wellFormed(List<McItem> items) {
        assertThat(items).isNotEmpty();
        for (McItem item : items) {
            assertThat(item.id()).isNotEmpty();
            assertThat(item.choices()).hasSizeGreaterThanOrEqualTo(2);
            assertThat(item.gold()).isBetween(0, item.choices().size() - 1);
            for (McItem.Choice c : item.choices()) {
                assertThat(c.context()).isNotEmpty();
                assertThat(c.continuation()).isNotEmpty();
                assertThat(c.normLength()).isPositive();
            }
        }
    }

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void read(FuzzedDataProvider data) {
        TaskFormat[] formats = TaskFormat.values();
        TaskFormat format = formats[Math.floorMod(data.consumeByte(), formats.length)];
        byte[] body = data.consumeRemainingAsBytes();
        try {
            Files.write(FILE, body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        FuzzContract.run(body.length, () -> wellFormed(format.read(FILE)));
    }
}
