package org.prunelab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.model.LoadedModel;
import org.prunelab.arch.ModelLoader;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.prunelab.cli.CliErrorsTest.assumeModelFetched;
import static org.prunelab.cli.CliErrorsTest.run;
import static org.prunelab.cli.PruneCommandTest.assertUserError;

/** {@code prunelab prune} with structured methods: bad input, and ShortGPT end to end on the real model. */
class StructuredPruneCommandTest {

    @Test
    void badArgumentsAreRejectedBeforeLoadingTheModel(@TempDir Path tmp) throws Exception {
        String out = tmp.resolve("out").toString();
        assertUserError(run("prune", "--method", "shortgpt", "--out", out), "--layers");
        assertUserError(run("prune", "--method", "fasp", "--out", out), "--sparsity");
        assertUserError(run("prune", "--method", "fasp", "--sparsity", "1.0", "--out", out), "[0, 1)");
        assertUserError(run("prune", "--method", "fasp", "--sparsity", "0.3", "--allocation", "random", "--out", out), "--allocation random must be one of uniform, global");
        assertUserError(run("prune", "--method", "flap", "--sparsity", "0.3", "--no-restore", "--out", out), "has no parameter --restore (fasp takes it)");
        assertUserError(run("prune", "--method", "lowrank", "--rank-ratio", "1.5", "--out", out), "--rank-ratio 1.5 is outside (0, 1]");
        assertUserError(run("prune", "--method", "lowrank", "--out", out), "--rank-ratio");
        assertThat(tmp.resolve("out")).doesNotExist();
    }

    @Test
    void shortGptOnTheRealModelSavesFewerLayersThatReload(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        assertUserError(run("prune", "--method", "shortgpt", "--layers", "30", "--nsamples", "2", "--seqlen", "32",
                "--out", tmp.resolve("all").toString()), "num_hidden_layers", "--layers 29");
        Path out = tmp.resolve("short");
        CliErrorsTest.Outcome o = run("prune", "--method", "shortgpt", "--layers", "2", "--nsamples", "2", "--seqlen", "32",
                "--out", out.toString(), "--json");
        assertThat(o.status()).as(o.err()).isZero();
        JsonNode report = new ObjectMapper().readTree(Files.readString(out.resolve("prune_report.json")));
        assertThat(report.get("method").asText()).isEqualTo("shortgpt");
        assertThat(report.get("removed_layers")).hasSize(2);
        // 2 of 30 blocks, plus the weights that were already exactly zero in the kept blocks (dequantised Q4_1 has a few):
        // actual_sparsity is the share of the dense model's block-linear parameters that are zero or gone.
        assertThat(report.get("actual_sparsity").asDouble()).isBetween(2.0 / 30, 2.0 / 30 + 0.001);
        assertThat(report.get("params_blocks").asLong()).isEqualTo(report.get("params_blocks_dense").asLong() / 30 * 28);
        try (LoadedModel back = ModelLoader.load(out.toString(), PrunelabHome.fromEnvironment())) {
            assertThat(back.config().numHiddenLayers()).isEqualTo(28);
            assertThat(back.model().logits(new int[]{1, 2, 3})[7]).isFinite();
        }
    }
}
