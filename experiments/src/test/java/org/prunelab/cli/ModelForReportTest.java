package org.prunelab.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ModelForReportTest {

    @Test
    void pathsAreRecordedAbsoluteAndRegisteredNamesAsGiven(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("pruned"));
        assertThat(org.prunelab.run.Pipeline.modelArgument(dir.toString())).isEqualTo(dir.toAbsolutePath().normalize().toString());
        // A relative path from the working directory becomes absolute too, so `bench --vs dense` works from anywhere.
        Path rel = Path.of("").toAbsolutePath().relativize(dir.toAbsolutePath());
        assertThat(Path.of(org.prunelab.run.Pipeline.modelArgument(rel.toString())).isAbsolute()).isTrue();
        assertThat(org.prunelab.run.Pipeline.modelArgument("smollm2-135m")).isEqualTo("smollm2-135m");
    }
}
