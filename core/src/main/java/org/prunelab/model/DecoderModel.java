package org.prunelab.model;

import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;

import java.util.List;

/**
 * A decoder-only language model as pruning, evaluation and benchmarks see it, whatever its family: token
 * embedding, a list of {@link DecoderBlock}s, a final norm and an LM head. Family-specific details (norm layout,
 * activation, q/k norms, sliding-window layers, embedding scale) live in the {@link DecoderConfig} and the blocks,
 * which an {@code Architecture} (package {@code org.prunelab.arch}) builds from a checkpoint; nothing here names a
 * family's tensors.
 *
 * <p>Forward passes allocate their activations per call and never change the model, so separate calls may run
 * concurrently; {@link DecoderBlock#setLinear} swaps layers between calls.
 */
public interface DecoderModel {

    /** The model's hyper-parameters (for a structurally pruned model, the widest block's widths). */
    DecoderConfig config();

    /**
     * A model sharing this one's embeddings, final norm and LM head but with other blocks, e.g. fewer (ShortGPT) or
     * physically smaller ones (structured pruning). Block i must have index i; every block's widths must fit within
     * {@code config}'s, which sizes the forward buffers and KV caches.
     *
     * @param config the new model's config (same hidden_size, head_dim and vocabulary; num_hidden_layers = blocks)
     * @throws org.prunelab.PrunelabException.InvalidArgument if the blocks do not match the config
     */
    DecoderModel withBlocks(DecoderConfig config, List<DecoderBlock> blocks);

    /** The embedding matrix {@code [vocab, hidden]} (not a copy, not scaled). */
    FloatMatrix embedTokens();

    /** The decoder blocks, in order (the list is fixed; the blocks' linears can be swapped). */
    List<DecoderBlock> blocks();

    /** Block {@code layer} (0-based). */
    default DecoderBlock block(int layer) { return blocks().get(layer); }

    /** The final norm before the LM head. */
    RmsNorm norm();

    /** The LM head {@code [vocab, hidden]}; shares its weight with the embedding when tied. */
    Linear lmHead();

    /**
     * Replaces the LM head, e.g. with a quantised version (a whole-model {@code --format q8_0}); the embedding it may be
     * tied to is left as it is. Like {@link DecoderBlock#setLinear}, call it between forward passes.
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument if the shape differs
     */
    void setLmHead(Linear replacement);

    /**
     * Next-token logits at every position, as transformers' {@code ...ForCausalLM(...).logits}.
     *
     * @param tokens token ids, positions 0..T-1
     * @return row-major {@code [T, vocab]}
     * @throws org.prunelab.PrunelabException.InvalidArgument for an empty input, an id outside the vocabulary, or
     *         T x vocab beyond one array (use {@link #tokenNll} for long inputs)
     */
    float[] logits(int[] tokens);

    /**
     * Cross-entropy of each next token: entry i is {@code -log softmax(logits[i])[tokens[i + 1]]} in nats, computed a
     * few rows of logits at a time, never all T x vocab at once.
     *
     * @return {@code [T - 1]} values (empty for T = 1)
     */
    double[] tokenNll(int[] tokens);

    /**
     * {@link #tokenNll} from the last block's output {@code hidden} ({@code [T, hidden]}, overwritten by the final
     * norm): what a layer-wise evaluation, which runs every window through block l before block l+1, computes last.
     * Bit for bit what {@link #tokenNll} gives when {@code hidden} is the blocks' output for {@code tokens}.
     */
    double[] tokenNllAfterBlocks(float[] hidden, int[] tokens);

    /** The input of block 0 for these tokens: embedding rows (times the family's embedding scale), {@code [T, hidden]}. */
    float[] embed(int[] tokens);

    /**
     * Runs block {@code layer} in place on hidden states {@code [tokens, hidden]} whose rows are at positions
     * {@code startPos, startPos + 1, ...}, attending causally within these tokens only (no cache). Reports each
     * linear's input to {@code observer} if not null. This is pruning's calibration step.
     */
    default void runBlock(int layer, float[] hidden, int tokens, int startPos, LinearInputObserver observer) {
        runBlock(blocks().get(layer), hidden, tokens, startPos, observer);
    }

    /**
     * Runs {@code block} (not necessarily one of this model's, e.g. a freshly pruned replacement for block
     * {@code block.index()}) in place on hidden states {@code [tokens, hidden]} at positions {@code startPos, ...}.
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument if the block's widths exceed this model's config
     */
    void runBlock(DecoderBlock block, float[] hidden, int tokens, int startPos, LinearInputObserver observer);

    /** Scratch buffers for {@link #runBlock(DecoderBlock, float[], int, int, LinearInputObserver, BlockScratch)} on windows of {@code tokens}. */
    BlockScratch newScratch(int tokens);

    /**
     * {@link #runBlock(DecoderBlock, float[], int, int, LinearInputObserver)} with the activations in {@code scratch}
     * (made by {@link #newScratch} for exactly {@code tokens} rows): nothing is allocated per call but RoPE's angles.
     *
     * @throws IllegalArgumentException if scratch holds another number of rows
     */
    void runBlock(DecoderBlock block, float[] hidden, int tokens, int startPos, LinearInputObserver observer, BlockScratch scratch);

    /** Applies the final norm in place to hidden states {@code [tokens, hidden]}. */
    void applyFinalNorm(float[] hidden, int tokens);

    /**
     * A KV cache for one sequence of up to {@code maxTokens} tokens (prompt plus generated).
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument if maxTokens is not positive
     */
    KvCache newCache(int maxTokens);

    /**
     * Runs {@code tokens} after those already in the cache, stores their keys and values, and returns the logits
     * {@code [vocab]} for the token that follows the last one.
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument if the cache has no room for them
     */
    float[] prefill(int[] tokens, KvCache cache);

    /**
     * {@link #prefill} that returns the logits of every new token, not only the last: row i is the next-token logits
     * after {@code tokens[i]}, as {@link #logits} gives them for the cached tokens followed by these ones. Scoring a
     * continuation after a cached context (multiple-choice log-likelihood) needs every row.
     *
     * @return row-major {@code [tokens.length, vocab]}
     * @throws org.prunelab.PrunelabException.InvalidArgument if the cache has no room for them, or for an empty input
     */
    float[] prefillLogits(int[] tokens, KvCache cache);

    /** One decoding step: feeds {@code token} at position {@code cache.length()}, returns logits {@code [vocab]}. */
    default float[] decode(int token, KvCache cache) {
        return prefill(new int[]{token}, cache);
    }
}
