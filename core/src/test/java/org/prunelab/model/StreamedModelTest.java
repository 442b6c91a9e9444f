package org.prunelab.model;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.arch.Architecture;
import org.prunelab.arch.Architectures;
import org.prunelab.arch.SyntheticGguf;
import org.prunelab.bench.RandomWeights;
import org.prunelab.eval.LayerwisePerplexity;
import org.prunelab.eval.Perplexity;
import org.prunelab.eval.PerplexityResult;
import org.prunelab.io.TensorLookup;
import org.prunelab.prune.LayerwisePruner;
import org.prunelab.prune.MemoryModel;
import org.prunelab.prune.PruneOptions;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.prune.SparsityPattern;
import org.prunelab.prune.WandaPruner;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Streamed blocks on random weights (algebra, no files): a streamed model computes what the in-memory one does, never
 * holds more blocks than its residency bound, and pruning it through a block sink gives the in-memory pruner's
 * weights; the memory model's size parsing and refusals; the synthetic shapes' consistency checks.
 */
class StreamedModelTest {
    private static final DecoderConfig CONFIG = new DecoderConfig(32, 48, 4, 4, 2, 8, 50, 64, 1e-5, 10000, null, false, 1, 2);

    /** Counts reads of block linears, to see what streaming reads. */
    private static final class Counting implements TensorLookup {
        final TensorLookup inner;
        final AtomicInteger reads = new AtomicInteger();
        final AtomicInteger evicted = new AtomicInteger();

        Counting(TensorLookup inner) { this.inner = inner; }

        @Override public FloatMatrix matrix(String name) {
            if (name.contains("layers")) reads.incrementAndGet();
            return inner.matrix(name);
        }
        @Override public float[] vector(String name) { return inner.vector(name); }
        @Override public boolean has(String name) { return inner.has(name); }
        @Override public void evict(String name) { evicted.incrementAndGet(); }
    }

    private static List<int[]> windows(int n, int len, long seed) {
        List<int[]> w = new ArrayList<>();
        for (int i = 0; i < n; i++) w.add(TinyLlama.tokens(len, seed + i));
        return w;
    }

    @Test
    void aStreamedModelComputesTheSameNumbersAndHoldsOneBlock() {
        RandomWeights weights = new RandomWeights(CONFIG, 11, 0.2);
        Architecture arch = Architectures.of(CONFIG);
        Transformer memory = Transformer.fromTensors(CONFIG, weights, null, arch.hfNames(), arch.layout());
        BlockResidency residency = new BlockResidency(1);
        Counting counting = new Counting(weights);
        Transformer streamed = Transformer.fromTensors(CONFIG, counting, null, arch.hfNames(), arch.layout(), residency);
        assertThat(counting.reads.get()).as("nothing of the blocks is read when the model is opened").isZero();
        assertThat(streamed.blocks()).allMatch(DecoderBlock::isStreamed).noneMatch(DecoderBlock::isResident);
        assertThat(streamed.lmHead()).isInstanceOf(DeferredLinear.class);

        List<int[]> w = windows(3, 16, 5);
        PerplexityResult a = Perplexity.evaluate(memory::tokenNll, w, Progress.NONE);
        PerplexityResult b = LayerwisePerplexity.evaluate(streamed, w, Progress.NONE);
        assertThat(b.perplexity()).isEqualTo(a.perplexity());
        assertThat(b.windowLoss()).isEqualTo(a.windowLoss());
        assertThat(counting.reads.get()).as("each block's 7 linears read once").isEqualTo(4 * 7);
        assertThat(counting.evicted.get()).isPositive();
        assertThat(residency.residentCount()).isZero(); // layer-wise evaluation unloads each block after its turn

        // Window by window, the residency bound holds whatever walks the blocks.
        for (int[] t : w) {
            assertThat(streamed.tokenNll(t)).isEqualTo(memory.tokenNll(t));
            assertThat(residency.residentCount()).isLessThanOrEqualTo(1);
            assertThat(streamed.blocks().stream().filter(DecoderBlock::isResident).count()).isLessThanOrEqualTo(1);
        }
        assertThatThrownBy(() -> streamed.block(0).setLinear("q_proj", memory.block(0).linear("q_proj")))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("streamed");
    }

    @Test
    void pruningAStreamedModelThroughASinkGivesTheInMemoryWeights() {
        RandomWeights weights = new RandomWeights(CONFIG, 12, 0.2);
        Architecture arch = Architectures.of(CONFIG);
        Transformer memory = Transformer.fromTensors(CONFIG, weights, null, arch.hfNames(), arch.layout());
        BlockResidency residency = new BlockResidency(1);
        Transformer streamed = Transformer.fromTensors(CONFIG, weights, null, arch.hfNames(), arch.layout(), residency);
        List<int[]> calib = windows(4, 16, 9);
        LayerwisePruner pruner = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5));
        PruneOutcome a = pruner.prune(memory, calib, PruneOptions.keepInput(Progress.NONE));
        // The sink keeps each written block's linears aside (as a shard would) and hands back a streamed handle.
        List<Map<String, Linear>> written = new ArrayList<>();
        PruneOutcome b = pruner.prune(streamed, calib, new PruneOptions(Progress.NONE, true, block -> {
            assertThat(written).hasSize(block.index());
            written.add(block.linears());
            Map<String, Linear> kept = block.linears();
            return block.streamedFrom(() -> kept, residency);
        }));
        assertThat(written).hasSize(4);
        assertThat(b.model().blocks()).allMatch(DecoderBlock::isStreamed);
        assertThat(b.linears()).isEqualTo(a.linears());
        assertThat(b.actualSparsity()).isEqualTo(a.actualSparsity());
        for (int l = 0; l < 4; l++) {
            for (String name : a.model().block(l).linearNames()) {
                assertThat(((DenseLinear) b.model().block(l).linear(name)).weight().data())
                        .isEqualTo(((DenseLinear) a.model().block(l).linear(name)).weight().data());
            }
        }
    }

    @Test
    void memorySizesParseAndRefusalsNameTheMinimum() {
        assertThat(MemoryModel.parseSize("8G")).isEqualTo(8L << 30);
        assertThat(MemoryModel.parseSize("7.5GB")).isEqualTo((long) (7.5 * (1L << 30)));
        assertThat(MemoryModel.parseSize("512m")).isEqualTo(512L << 20);
        assertThat(MemoryModel.parseSize("2GiB")).isEqualTo(2L << 30);
        assertThat(MemoryModel.parseSize("1048576")).isEqualTo(1L << 20);
        assertThatThrownBy(() -> MemoryModel.parseSize("lots")).hasMessageContaining("not a size");
        assertThatThrownBy(() -> MemoryModel.parseSize("10K")).hasMessageContaining("below one megabyte");

        ModelShape shape = ModelShape.uniform(CONFIG, Architectures.of(CONFIG).layout());
        LayerwisePruner sparsegpt = new LayerwisePruner(new org.prunelab.prune.SparseGptPruner(128, 0.01), SparsityPattern.unstructured(0.5));
        MemoryModel.Estimate e = MemoryModel.predict(shape, sparsegpt, 4, 16, false);
        assertThat(e.terms().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(e.peakBytes());
        assertThat(MemoryModel.predict(shape, sparsegpt, 4, 16, true).peakBytes()).isLessThan(e.peakBytes());
        assertThatThrownBy(() -> MemoryModel.check(e, 1L << 20, shape, sparsegpt, 4, 16))
                .hasMessageContaining("minimum for this model and method is");
        MemoryModel.check(e, e.peakBytes(), shape, sparsegpt, 4, 16); // fits exactly: no error
    }

    @Test
    void syntheticShapesAreCheckedBeforeAnythingIsWritten() {
        SyntheticGguf.Shape llama = SyntheticGguf.shape("llama2-7b");
        llama.check();
        assertThat(llama.parameters()).isBetween(6_700_000_000L, 6_800_000_000L); // Llama-2-7B: 6.74B
        assertThat(SyntheticGguf.shape("qwen2-7b").parameters()).isBetween(7_600_000_000L, 7_700_000_000L); // Qwen2-7B: 7.62B
        assertThatThrownBy(() -> new SyntheticGguf.Shape("llama", 4100, 32, 11008, 32, 32, 32000, 4096, 1e4, false, false).check())
                .hasMessageContaining("does not divide hidden_size 4100");
        assertThatThrownBy(() -> new SyntheticGguf.Shape("llama", 4096, 32, 11008, 32, 5, 32000, 4096, 1e4, false, false).check())
                .hasMessageContaining("num_key_value_heads 5 does not divide");
        assertThatThrownBy(() -> new SyntheticGguf.Shape("llama", 4096, 0, 11008, 32, 32, 32000, 4096, 1e4, false, false).check())
                .hasMessageContaining("num_hidden_layers must be positive");
        assertThatThrownBy(() -> SyntheticGguf.shape("gpt5")).hasMessageContaining("unknown shape");
    }
}
