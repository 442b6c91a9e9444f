package org.prunelab.eval;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** llama-perplexity's chunking and second-half scoring, hand-computed on 8-token chunks. */
class LlamaCppPerplexityTest {

    @Test
    void chunksAreConsecutiveWithTheFirstTokenReplacedByBos() {
        int[] tokens = IntStream.range(100, 120).toArray();   // 20 tokens: two chunks of 8, remainder dropped
        List<int[]> plain = LlamaCppPerplexity.chunks(tokens, 8, -1, -1);
        assertThat(plain).hasSize(2);
        assertThat(plain.get(1)).containsExactly(108, 109, 110, 111, 112, 113, 114, 115);
        List<int[]> bos = LlamaCppPerplexity.chunks(tokens, 8, 1, 2);
        assertThat(bos).hasSize(1);
        assertThat(bos.get(0)).containsExactly(2, 101, 102, 103, 104, 105, 106, 107);
        assertThatThrownBy(() -> LlamaCppPerplexity.chunks(tokens, 16, -1, -1))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("2 x 16");
    }

    @Test
    void onlyTheSecondHalfIsScored() {
        // an "NLL" that is the position itself: chunk of 8 scores positions 4, 5, 6 -> mean 5
        List<int[]> seen = new ArrayList<>();
        Perplexity.NllFunction nll = w -> {
            seen.add(w);
            double[] v = new double[w.length - 1];
            for (int p = 0; p < v.length; p++) v[p] = p;
            return v;
        };
        List<int[]> chunks = List.of(new int[8], new int[8]);
        LlamaCppPerplexity.Result r = LlamaCppPerplexity.evaluate(nll, chunks, Progress.NONE);
        assertThat(seen).hasSize(2);
        assertThat(r.scoredTokens()).isEqualTo(6);
        assertThat(r.meanNll()).isCloseTo(5.0, within(1e-12));
        assertThat(r.perplexity()).isCloseTo(Math.exp(5.0), within(1e-9));
        // prunelab's own protocol scores all 7 positions of the same windows: mean 3
        assertThat(Perplexity.evaluate(nll, chunks, Progress.NONE).meanLoss()).isCloseTo(3.0, within(1e-12));
    }
}
