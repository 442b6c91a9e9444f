package org.prunelab.model;

import org.prunelab.PrunelabException;

/**
 * Keys and values of every processed token, per layer, for incremental decoding. Each layer stores
 * {@code [capacity, kvDim]} keys (RoPE applied) and values, so memory is
 * {@code 2 * layers * capacity * kvDim * 4} bytes — sized from the requested length, never from the
 * model's maximum context. One cache belongs to one sequence and one thread.
 */
public final class KvCache {
    private final int capacity;
    private final float[][] keys;
    private final float[][] values;
    private final ForwardBuffers decodeBuffers;
    private int length;

    KvCache(DecoderConfig config, int capacity) {
        if (capacity < 1) {
            throw new PrunelabException.InvalidArgument("a KV cache needs room for at least one token, got " + capacity);
        }
        this.capacity = capacity;
        int layers = config.numHiddenLayers();
        keys = new float[layers][capacity * config.kvDim()];
        values = new float[layers][capacity * config.kvDim()];
        decodeBuffers = new ForwardBuffers(config, 1);
    }

    /** Tokens the cache can hold. */
    public int capacity() { return capacity; }

    /** Tokens processed so far; the next token gets this position. */
    public int length() { return length; }

    /** Forgets all tokens so the cache can serve a new sequence. */
    public void clear() { length = 0; }

    /**
     * Keeps the first {@code tokens} tokens and forgets the rest, so a shared prefix (a multiple-choice context) is
     * run once and each continuation runs after it in turn; later tokens overwrite the forgotten entries.
     *
     * @throws PrunelabException.InvalidArgument if {@code tokens} is negative or more than the cache holds now
     */
    public void truncate(int tokens) {
        if (tokens < 0 || tokens > length) {
            throw new PrunelabException.InvalidArgument("cannot truncate a KV cache holding " + length + " tokens to "
                    + tokens + "; keep between 0 and " + length);
        }
        length = tokens;
    }

    float[] keys(int layer) { return keys[layer]; }

    float[] values(int layer) { return values[layer]; }

    /** Scratch space for single-token steps, so decoding allocates no activations per token. */
    ForwardBuffers decodeBuffers() { return decodeBuffers; }

    /** Reserves room for {@code tokens} more, or says how to get a bigger cache. */
    void checkRoom(int tokens) {
        if (length + tokens > capacity) {
            throw new PrunelabException.InvalidArgument("KV cache holds " + capacity + " tokens and has " + length
                    + "; " + tokens + " more do not fit — create it with newCache(" + (length + tokens) + ") or more");
        }
    }

    void advance(int tokens) { length += tokens; }
}
