package org.prunelab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.arch.ModelLoader;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LoadedModel;
import org.prunelab.prune.PrunedLinear;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunSpec;
import org.prunelab.tensor.Linear;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.prunelab.cli.CliErrorsTest.assumeModelFetched;
import static org.prunelab.cli.CliErrorsTest.run;
import static org.prunelab.cli.PruneCommandTest.assertUserError;

/**
 * The streaming pipeline (issue 14) against the in-memory one on the real SmolLM2-135M: Wanda 50% on the same
 * calibration windows gives the same masks and weights (bit for bit), the same dense and pruned perplexities (layer by
 * layer vs window by window), and a sharded checkpoint that reloads to the same weights; plus the bad input it must
 * refuse before any work.
 */
class StreamingPruneTest {

    private static RunSpec wanda() {
        return RunSpec.pruning(ModelLoader.resolve("smollm2-135m", PrunelabHome.fromEnvironment()).toString(), "wanda",
                Map.of("sparsity", "0.5"), new CalibrationSpec("brown", 4, 128), List.of(new EvalSpec("brown", 128, 2, false)),
                "dense", null, 0);
    }

    @Test
    void streamedWandaIsTheInMemoryRunBitForBit(@TempDir Path tmp) {
        assumeModelFetched();
        PrunelabHome home = PrunelabHome.fromEnvironment();
        Path out = tmp.resolve("streamed");
        try (Pipeline memory = new Pipeline(home); Pipeline streamed = new Pipeline(home).scratchDir(tmp)) {
            Pipeline.Outcome a = memory.execute(memory.plan(wanda()), Pipeline.Ui.SILENT, false);
            Pipeline.Outcome b = streamed.executeStreamed(streamed.plan(wanda()), out, Pipeline.Ui.SILENT);
            try (LoadedModel reloaded = ModelLoader.load(out.toString(), home)) {
                EvalResult ea = a.result().evals().getFirst(), eb = b.result().evals().getFirst();
                // Layer-wise evaluation (streamed) against window-by-window (in memory): the same doubles.
                assertThat(eb.perplexityDense()).isEqualTo(ea.perplexityDense());
                assertThat(eb.perplexity()).isEqualTo(ea.perplexity());
                assertThat(eb.perplexity()).isGreaterThan(eb.perplexityDense());
                assertThat(b.calibration()).usingRecursiveFieldByFieldElementComparator().isEqualTo(a.calibration());

                List<PrunedLinear> la = a.pruning().linears(), lb = b.pruning().linears();
                assertThat(lb).hasSize(30 * 7).isEqualTo(la); // per linear: pruned count, zeros, dead inputs
                DecoderModel ma = a.model().model(), mb = b.model().model(), mr = reloaded.model();
                assertThat(mb.blocks()).allMatch(DecoderBlock::isStreamed);
                long zeros = 0;
                for (int l = 0; l < ma.blocks().size(); l++) {
                    for (Map.Entry<String, Linear> e : ma.block(l).linears().entrySet()) {
                        float[] wa = ((DenseLinear) e.getValue()).weight().data();
                        float[] wb = ((DenseLinear) mb.block(l).linear(e.getKey())).weight().data();
                        float[] wr = ((DenseLinear) mr.block(l).linear(e.getKey())).weight().data();
                        assertThat(wb).as("layer %d %s streamed", l, e.getKey()).isEqualTo(wa);
                        assertThat(wr).as("layer %d %s reloaded", l, e.getKey()).isEqualTo(wa);
                        for (float v : wa) if (v == 0) zeros++;
                    }
                }
                // Wanda 50%: floor(in x 0.5) = in / 2 of every row of the 30 x 3,538,944 block weights.
                assertThat(zeros).isGreaterThanOrEqualTo(30L * 3_538_944 / 2);
                assertThat(b.result().actualSparsity()).isEqualTo(a.result().actualSparsity());
                assertThat(out.resolve("model.safetensors.index.json")).exists();
                assertThat(out.resolve("model-00002-of-00031.safetensors")).exists();
                assertThat(out.resolve("prune_report.json")).exists();
            } finally {
                b.model().close();
            }
        }
    }

    @Test
    void evalStreamsLayerByLayerToTheSamePerplexity() throws Exception {
        assumeModelFetched();
        String[] args = {"eval", "--dataset", "brown", "--seqlen", "64", "--windows", "2", "--format", "dense", "--no-track", "--json"};
        CliErrorsTest.Outcome memory = run(args);
        String[] streamed = java.util.Arrays.copyOf(args, args.length + 1);
        streamed[args.length] = "--streaming";
        CliErrorsTest.Outcome layerwise = run(streamed);
        assertThat(memory.status()).as(memory.err()).isZero();
        assertThat(layerwise.status()).as(layerwise.err()).isZero();
        JsonNode a = new ObjectMapper().readTree(memory.out()), b = new ObjectMapper().readTree(layerwise.out());
        assertThat(b.get("streaming").asBoolean()).isTrue();
        assertThat(b.get("perplexity").asDouble()).isEqualTo(a.get("perplexity").asDouble());
    }

    @Test
    void dryRunPredictsWithoutLoadingOrWriting(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        CliErrorsTest.Outcome o = run("prune", "--method", "sparsegpt", "--sparsity", "0.5", "--nsamples", "8", "--seqlen", "256",
                "--streaming", "--dry-run", "--json");
        assertThat(o.status()).as(o.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(o.out());
        long peak = j.get("predicted_peak_rss_bytes").asLong();
        long sum = 0;
        for (JsonNode t : j.get("terms")) sum += t.asLong();
        assertThat(sum).isEqualTo(peak);
        // SparseGPT's Hessians: (576^2 x 3 + 1536^2) fp64 held, plus the largest linear's temporaries; down_proj (alone in
        // its input group) factors its Hessian in place, so no 1536^2 factor or inverse is added for it.
        long held = 8L * (3L * 576 * 576 + 1536L * 1536);
        assertThat(j.get("terms").get("method").asLong()).isGreaterThan(held).isLessThan(held + 2 * 8L * 1536 * 1536);
        assertThat(j.get("activation_cache_file_bytes").asLong()).isEqualTo(4L * 8 * 256 * 576);
        assertThat(tmp.toFile().list()).isEmpty();
    }

    @Test
    void badInputIsRefusedBeforeAnyWork(@TempDir Path tmp) throws Exception {
        assumeModelFetched();
        String out = tmp.resolve("out").toString();
        // --max-memory below what any setting needs: the message names the minimum.
        CliErrorsTest.Outcome o = run("prune", "--method", "wanda", "--sparsity", "0.5", "--nsamples", "4", "--seqlen", "128",
                "--streaming", "--max-memory", "100M", "--out", out);
        assertUserError(o, "--max-memory", "minimum for this model and method is");
        // A limit that the in-memory run misses but streaming meets: streaming is named.
        CliErrorsTest.Outcome fits = run("prune", "--method", "sparsegpt", "--sparsity", "0.5", "--nsamples", "4", "--seqlen", "128",
                "--dry-run", "--json");
        long inMemory = new ObjectMapper().readTree(fits.out()).get("predicted_peak_rss_bytes").asLong();
        CliErrorsTest.Outcome streamedFits = run("prune", "--method", "sparsegpt", "--sparsity", "0.5", "--nsamples", "4",
                "--seqlen", "128", "--streaming", "--dry-run", "--json");
        long streamed = new ObjectMapper().readTree(streamedFits.out()).get("predicted_peak_rss_bytes").asLong();
        assertThat(streamed).isLessThan(inMemory);
        assertUserError(run("prune", "--method", "sparsegpt", "--sparsity", "0.5", "--nsamples", "4", "--seqlen", "128",
                "--max-memory", Long.toString((streamed + inMemory) / 2), "--out", out), "--streaming");
        // A scratch folder that is not a folder, and one without room for the activations (a full disk).
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertUserError(run("prune", "--method", "wanda", "--sparsity", "0.5", "--nsamples", "4", "--seqlen", "128",
                "--scratch", file.toString(), "--streaming", "--out", out), "not a folder");
        long free = Files.getFileStore(tmp).getUsableSpace();
        int nsamples = (int) Math.min(Integer.MAX_VALUE, free / (4L * 2048 * 576) + 1);
        assertUserError(run("prune", "--method", "wanda", "--sparsity", "0.5", "--nsamples", Integer.toString(nsamples),
                "--seqlen", "2048", "--scratch", tmp.toString(), "--streaming", "--out", out), "MB free", "--scratch");
        // What streaming cannot do.
        assertUserError(run("prune", "--method", "wanda", "--sparsity", "0.5", "--streaming", "--quantize", "q8_0", "--out", out),
                "--streaming", "--quantize");
        assertUserError(run("prune", "--method", "shortgpt", "--layers", "2", "--streaming", "--out", out), "cannot run streamed");
        assertThat(tmp.resolve("out")).doesNotExist();
        assertThat(tmp.toFile().list()).containsExactly("a-file");
    }

    @Test
    void anInconsistentSyntheticShapeIsRefusedAndNothingWritten(@TempDir Path tmp) {
        Path file = tmp.resolve("bad.gguf");
        assertUserError(run("synth", "--shape", "llama2-7b", "--hidden-size", "4100", "--out", file.toString()),
                "num_attention_heads 32 does not divide hidden_size 4100");
        assertUserError(run("synth", "--shape", "qwen2-7b", "--kv-heads", "5", "--out", file.toString()),
                "num_key_value_heads 5 does not divide num_attention_heads 28");
        assertUserError(run("synth", "--shape", "llama2-7b", "--intermediate-size", "11000", "--out", file.toString()),
                "multiples of 32");
        assertUserError(run("synth", "--shape", "gpt5", "--out", file.toString()), "unknown shape", "llama2-7b");
        assertThat(file).doesNotExist();
    }
}
