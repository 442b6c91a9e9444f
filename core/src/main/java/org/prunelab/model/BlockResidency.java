package org.prunelab.model;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * How many streamed blocks ({@link DecoderBlock#isStreamed()}) may hold their linears at once: loading one more drops
 * the least recently used. This is what keeps a model larger than memory bounded whatever walks its blocks — the
 * calibration loop, a layer-wise evaluation, a writer, a count of nonzero weights — each block's fp32 linears are read
 * (from a memory-mapped file: dequantised, or from a written shard) when used and dropped once {@code capacity} others
 * were used after it. A caller that still holds a dropped block's linears keeps them alive until it lets go.
 *
 * <p>Thread-safe. The streaming pipeline uses capacity 1: the pruning loop holds the input block and its pruned copy,
 * of which only the input is streamed.
 */
public final class BlockResidency {
    private final int capacity;
    private final Deque<DecoderBlock> resident = new ArrayDeque<>();

    /**
     * @param capacity streamed blocks kept in memory at once, at least 1
     * @throws IllegalArgumentException if capacity is below 1
     */
    public BlockResidency(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
        this.capacity = capacity;
    }

    /** Streamed blocks kept in memory at once. */
    public int capacity() { return capacity; }

    /** How many streamed blocks hold their linears now. */
    public synchronized int residentCount() { return resident.size(); }

    /** Drops the least recently used resident blocks until {@code block} fits. */
    void makeRoom(DecoderBlock block) {
        java.util.List<DecoderBlock> evict = new java.util.ArrayList<>();
        synchronized (this) {
            resident.remove(block);
            while (resident.size() >= capacity) evict.add(resident.removeFirst());
        }
        for (DecoderBlock b : evict) b.unload();
    }

    /** Marks {@code block} as the most recently used. */
    synchronized void touch(DecoderBlock block) {
        if (resident.peekLast() == block) return;
        resident.remove(block);
        resident.addLast(block);
    }

    /** {@code block} no longer holds its linears. */
    synchronized void forget(DecoderBlock block) {
        resident.remove(block);
    }
}
