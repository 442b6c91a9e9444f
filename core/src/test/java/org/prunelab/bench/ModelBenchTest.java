package org.prunelab.bench;

import org.prunelab.arch.ModelLoader;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;

/** The bench's bookkeeping on a tiny model: counts, shapes of the result, memory bytes. No wall-clock assertions. */
class ModelBenchTest {
    private static final DecoderConfig TINY = new DecoderConfig(32, 48, 2, 4, 2, 8, 50, 64, 1e-5, 10000, null, true, 1, 2);

    private static DecoderModel tiny(long seed) {
        return ModelLoader.build(TINY, new RandomWeights(TINY, seed, 0.2));
    }

    @Test
    void runRecordsEveryRunAndStep() {
        ModelBench.BenchResult r = ModelBench.run(tiny(1), new ModelBench.Options(9, 4, 3, 1, 0));
        assertThat(r.runs()).hasSize(3);
        for (ModelBench.Run run : r.runs()) {
            assertThat(run.decodeSeconds()).hasSize(4);
            assertThat(java.util.Arrays.stream(run.decodeSeconds()).min().orElseThrow()).isPositive();
            assertThat(run.prefillSeconds()).isPositive();
            assertThat(run.promptLen()).isEqualTo(9);
        }
        assertThat(r.decodeLatency(0.5)).isLessThanOrEqualTo(r.decodeLatency(0.95));
        assertThat(r.prefillTokensPerSecond()).isPositive();
        assertThat(r.decodeTokensPerSecond()).isPositive();
    }

    @Test
    void compareAlternatesAndReportsOrderedRatios() {
        ModelBench.Comparison c = ModelBench.compare(tiny(1), tiny(2), new ModelBench.Options(5, 3, 4, 0, 0));
        assertThat(c.candidate().runs()).hasSize(4);
        assertThat(c.baseline().runs()).hasSize(4);
        for (ModelBench.Ratio r : new ModelBench.Ratio[] {c.prefillSpeedup(), c.decodeSpeedup()}) {
            assertThat(r.min()).isPositive().isLessThanOrEqualTo(r.median());
            assertThat(r.median()).isLessThanOrEqualTo(r.max());
        }
        // the first pair's decode ratio is the baseline's decode time over the candidate's
        ModelBench.Run a = c.candidate().runs().getFirst();
        ModelBench.Run b = c.baseline().runs().getFirst();
        double first = a.decodeTokensPerSecond() / b.decodeTokensPerSecond();
        assertThat(first).isBetween(c.decodeSpeedup().min(), c.decodeSpeedup().max());
    }

    @Test
    void modelBytesCountsEmbeddingsNormsAndLinearsOnce() {
        DecoderModel m = tiny(1);
        long params = 50 * 32 + 32 // tied embedding + final norm
                + 2L * (32 * 32 + 2 * 16 * 32 + 32 * 32 + 3 * 48 * 32 + 2 * 32); // q, k, v, o, mlp, two norms
        assertThat(ModelBench.modelBytes(m)).isEqualTo(4 * params);
        assertThat(MemoryMeter.parameters(m)).isEqualTo(params);
    }

    @Test
    void rejectsBadCountsAndContextOverflow() {
        assertThatThrownBy(() -> new ModelBench.Options(0, 1, 1, 0, 0)).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("prompt_len must be at least 1");
        assertThatThrownBy(() -> new ModelBench.Options(1, 0, 1, 0, 0)).hasMessageContaining("gen must be at least 1");
        assertThatThrownBy(() -> new ModelBench.Options(1, 1, 0, 0, 0)).hasMessageContaining("repeat must be at least 1");
        assertThatThrownBy(() -> ModelBench.run(tiny(1), new ModelBench.Options(60, 10, 1, 0, 0)))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("context of 64");
    }
}
