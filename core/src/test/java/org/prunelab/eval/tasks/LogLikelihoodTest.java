package org.prunelab.eval.tasks;

import org.junit.jupiter.api.Test;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.KvCache;
import org.prunelab.model.TinyLlama;
import org.prunelab.tensor.VectorMath;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The KV-shared scoring against the plain definition on a tiny random model (no real model needed). */
class LogLikelihoodTest {

    @Test
    void sharedContextScoresEqualOneForwardOfContextPlusContinuation() {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), 5);
        int[] context = TinyLlama.tokens(9, 3);
        List<int[]> conts = List.of(new int[]{4}, new int[]{7, 1, 30}, new int[]{2, 2});
        LogLikelihood.Score[] shared = LogLikelihood.score(model, context, conts);
        int vocab = model.config().vocabSize();
        for (int i = 0; i < conts.size(); i++) {
            int[] cont = conts.get(i);
            int[] input = Arrays.copyOf(context, context.length + cont.length - 1); // (context + cont)[:-1]
            System.arraycopy(cont, 0, input, context.length, cont.length - 1);
            float[] logits = model.logits(input);
            double ll = 0;
            for (int j = 0; j < cont.length; j++) {
                int row = (input.length - cont.length + j) * vocab;
                ll += logits[row + cont[j]] - VectorMath.logSumExp(logits, row, vocab);
            }
            assertThat(shared[i].logLikelihood()).as("continuation " + i).isCloseTo(ll, within(1e-4));
            assertThat(shared[i].tokens()).isEqualTo(cont.length);
        }
    }

    @Test
    void truncatedCacheServesTheNextContinuationAsIfFresh() {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), 2);
        int[] tokens = TinyLlama.tokens(12, 8);
        KvCache cache = model.newCache(12);
        model.prefill(Arrays.copyOf(tokens, 6), cache);
        model.prefillLogits(new int[]{1, 2, 3}, cache);
        cache.truncate(6);
        float[] rows = model.prefillLogits(Arrays.copyOfRange(tokens, 6, 12), cache);
        float[] all = model.logits(tokens);
        int vocab = model.config().vocabSize();
        for (int i = 0; i < 6 * vocab; i++) assertThat(rows[i]).isCloseTo(all[6 * vocab + i], within(1e-4f));
    }

    @Test
    void accNormDividesByTheChoiceTextsLengthInCodePoints() {
        McItem item = McItem.sharedContext("x", "Q:", List.of("ab", "abcdef"), 1);
        // acc picks -2 (choice 0); per character -2/2 = -1 loses to -3/6 = -0.5 (choice 1)
        assertThat(MultipleChoice.argmax(new double[]{-2, -3}, null)).isZero();
        assertThat(MultipleChoice.argmax(new double[]{-2, -3}, item)).isEqualTo(1);
        assertThat(MultipleChoice.argmax(new double[]{-1, -1}, null)).as("first maximum, as numpy").isZero();
        assertThat(McItem.Choice.of("c", "\uD83D\uDE00a").normLength()).isEqualTo(2);
    }
}
