package org.prunelab.prune;

import org.prunelab.PrunelabException;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.ModelShape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Predicts the peak resident memory (RSS, what the OS counts: {@code VmHWM}) of a {@code prunelab prune} process from the
 * model's shape, the calibration size and the method, before anything loads ({@code prune --dry-run}), so
 * {@code --max-memory} can refuse a run that will not fit and name settings that would.
 *
 * <p>The peak is the sum of named terms, each an allocation the code makes (sizes in bytes, fp32 = 4, fp64 = 8):
 * <pre>
 *   runtime      what is resident outside the Java heap: the JVM, its libraries, OpenBLAS, the tokenizer's native
 *                library and the file pages read (RUNTIME_BYTES, measured)
 *   young        the young generation the launcher caps (-XX:MaxNewSize=48m): allocation cycles through all of it
 *                within seconds, so its pages stay resident for the whole run
 *   embedding    vocab x hidden x 4 (read once; a tied LM head shares it)
 *   lm_head      vocab x hidden x 4 when untied and in memory; streamed, the head is read only to be saved (or
 *                evaluated), after pruning: the excess of runtime + young + embedding + head + its stored bytes over
 *                the pruning's peak, if any
 *   weights      streamed: 2 x the largest block's linears x 4 (the block read from the file and its pruned copy);
 *                in memory: every block x 4 + the largest block x 4 (the loop gives up block l once pruned)
 *   dequantize   streamed: the largest q/k matrix x 4 (the RoPE row reorder of a GGUF tensor copies it)
 *   activations  seqlen x (2 hidden + 2 q + 2 kv + 2 intermediate) x 4 (one set of forward buffers per pass)
 *                + 4 x seqlen x hidden x 4 (the window being run, the block input an observer keeps, the activation
 *                cache's transfer buffer, an embedded window)
 *   method       what {@link Pruner#blockMemory} declares: statistics held through a block step plus the largest
 *                single allocation of the step (Wanda: fp64 scores of the largest matrix; SparseGPT: the Hessians of
 *                the block's input groups, then four fp64 in x in factors of the largest; FASP: Gram matrices and the
 *                least-squares refit of down_proj)
 * </pre>
 * The calibration activations themselves (nsamples x seqlen x hidden x 4) live in a temporary file, outside the RSS
 * ({@code activation_cache_file}). A streamed run collects garbage after every linear and every block, so its peak is
 * the live set above; an in-memory run leaves the collector to it and may sit above the prediction.
 */
public final class MemoryModel {
    /**
     * Resident bytes outside the Java heap (JVM code and data, class metadata, JIT code cache, OpenBLAS, the tokenizer's
     * native library, malloc arenas, file pages of the model and the JDK): measured, not fitted, as the resident pages of
     * every mapping but the Java heap's, sampled every second through a streamed SmolLM2-135M Wanda prune (16 x 256
     * calibration): 148.8 MB at the process's peak, and no sample above it (tools/scale/heapsplit.py, results/scale.md).
     * An earlier value, 200 MB, was fitted to the whole peak of a 0.04B synthetic model whose peak was in fact the
     * save of its untied LM head, and overestimated SmolLM2 by 10-13%.
     */
    public static final long RUNTIME_BYTES = 150L << 20;
    /** The young generation the launcher caps: {@code -XX:MaxNewSize=48m}. */
    public static final long YOUNG_BYTES = 48L << 20;

    private MemoryModel() {}

    /**
     * A prediction.
     *
     * @param peakBytes       predicted peak RSS of the whole process
     * @param terms           the named terms, in bytes, summing to peakBytes
     * @param scratchBytes    bytes of the calibration activations' temporary file (on disk, not in the RSS)
     * @param streaming       whether the run streams
     */
    public record Estimate(long peakBytes, Map<String, Long> terms, long scratchBytes, boolean streaming) {

        /** "6.93 GB (runtime 0.31, embedding 0.52, ...)" */
        public String describe() {
            StringBuilder s = new StringBuilder(gb(peakBytes)).append(" (");
            boolean first = true;
            for (Map.Entry<String, Long> t : terms.entrySet()) {
                if (t.getValue() == 0) continue;
                s.append(first ? "" : ", ").append(t.getKey()).append(' ').append(gb(t.getValue()));
                first = false;
            }
            return s.append(")").toString();
        }
    }

    /**
     * The prediction for pruning a model of {@code shape} with {@code pruner} on {@code nsamples} windows of
     * {@code seqlen} tokens.
     *
     * @throws PrunelabException.InvalidArgument if the method has no memory model ({@link Pruner#blockMemory} null)
     */
    public static Estimate predict(ModelShape shape, Pruner pruner, int nsamples, int seqlen, boolean streaming) {
        return predict(shape, pruner, nsamples, seqlen, streaming, 0);
    }

    /**
     * As {@link #predict(ModelShape, Pruner, int, int, boolean)}, knowing the bytes the file stores the untied LM head
     * in ({@code storedHeadBytes}, 0 when tied or unknown): a streamed run reads that head only after pruning, to write
     * it, when it holds the embedding, the head in fp32 and the head's file pages at once — for a large vocabulary
     * (Qwen2-7B: 152,064 x 3,584) more than the pruning itself, and then the {@code lm_head} term is the excess.
     */
    public static Estimate predict(ModelShape shape, Pruner pruner, int nsamples, int seqlen, boolean streaming,
                                   long storedHeadBytes) {
        DecoderConfig c = shape.config();
        long h = c.hiddenSize();
        long tokens = (long) nsamples * seqlen;
        Map<String, Long> terms = new LinkedHashMap<>();
        terms.put("runtime", RUNTIME_BYTES);
        terms.put("young", YOUNG_BYTES);
        long embedding = 4L * c.vocabSize() * h;
        terms.put("embedding", embedding);
        terms.put("lm_head", c.tieWordEmbeddings() || streaming ? 0 : embedding);
        long largestBlock = 0, allBlocks = 0, largestQk = 0, method = 0;
        long widest = 0;
        for (int l = 0; l < shape.blocks().size(); l++) {
            long block = 0;
            for (ModelShape.LinearShape s : shape.linears(l)) block += 4L * s.outFeatures() * s.inFeatures();
            largestBlock = Math.max(largestBlock, block);
            allBlocks += block;
            BlockShape b = shape.blocks().get(l);
            long q = (long) b.numAttentionHeads() * c.headDim(), kv = (long) b.numKeyValueHeads() * c.headDim();
            largestQk = Math.max(largestQk, 4L * q * h);
            widest = Math.max(widest, 2 * h + 2 * q + 2 * kv + 2L * b.intermediateSize());
            Pruner.BlockMemory m = pruner.blockMemory(shape, l, tokens);
            if (m == null) {
                throw new PrunelabException.InvalidArgument(pruner.method() + " has no memory model: prunelab cannot predict its"
                        + " peak, so ${max_memory} cannot check it; drop ${max_memory} or use wanda, sparsegpt, magnitude, fasp or flap");
            }
            method = Math.max(method, m.held() + m.transientPeak());
        }
        terms.put("weights", streaming ? 2 * largestBlock : allBlocks + largestBlock);
        terms.put("dequantize", streaming ? largestQk : 0);
        terms.put("activations", pruner.needsCalibration() ? 4L * seqlen * widest + 4 * 4L * seqlen * h : 0);
        terms.put("method", method);
        long peak = terms.values().stream().mapToLong(Long::longValue).sum();
        if (streaming && !c.tieWordEmbeddings()) {
            // After the last block: the young generation's pages stay resident even when it has just been collected.
            long save = RUNTIME_BYTES + YOUNG_BYTES + 2 * embedding + storedHeadBytes;
            if (save > peak) {
                terms.put("lm_head", save - peak);
                peak = save;
            }
        }
        return new Estimate(peak, terms, pruner.needsCalibration() ? 4L * tokens * h : 0, streaming);
    }

    /**
     * Refuses a run whose prediction exceeds {@code maxBytes}, naming settings that would fit: streaming (if the run
     * does not stream) and shorter windows; when nothing does, the smallest peak any of them reaches.
     *
     * @throws PrunelabException.InvalidArgument if the predicted peak is above maxBytes
     */
    public static void check(Estimate estimate, long maxBytes, ModelShape shape, Pruner pruner, int nsamples, int seqlen) {
        if (estimate.peakBytes() <= maxBytes) return;
        List<String> fits = new ArrayList<>();
        long minimum = estimate.peakBytes();
        for (boolean streaming : new boolean[]{estimate.streaming(), true}) {
            for (int s = seqlen; s >= 64; s /= 2) {
                Estimate e = predict(shape, pruner, nsamples, s, streaming);
                minimum = Math.min(minimum, e.peakBytes());
                if (e.peakBytes() <= maxBytes) {
                    fits.add((streaming && !estimate.streaming() ? "${streaming} " : "") + (s != seqlen ? "${calib.seqlen} " + s + " " : "")
                            + "(" + gb(e.peakBytes()) + ")");
                    break;
                }
            }
        }
        String what = "the predicted peak memory " + estimate.describe() + " is above ${max_memory} " + gb(maxBytes);
        if (fits.isEmpty()) {
            throw new PrunelabException.InvalidArgument(what + "; the minimum for this model and method is " + gb(minimum)
                    + " (streamed, short windows): give ${max_memory} at least " + gb(minimum) + ", or a method with less"
                    + " state (wanda needs no Hessians)");
        }
        throw new PrunelabException.InvalidArgument(what + "; settings that fit: " + String.join("; ", fits));
    }

    /**
     * Parses a size: bytes, or a number with K, M, G, T (powers of 1024; "GB", "GiB" and "G" mean the same).
     *
     * @throws PrunelabException.InvalidArgument for anything else or a size below one megabyte
     */
    public static long parseSize(String text) {
        String t = text.strip().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long unit = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> unit = 1L << 10;
                case 'M' -> unit = 1L << 20;
                case 'G' -> unit = 1L << 30;
                case 'T' -> unit = 1L << 40;
                default -> { }
            }
        }
        if (unit > 1) t = t.substring(0, t.length() - 1);
        double v;
        try {
            v = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new PrunelabException.InvalidArgument("${max_memory} '" + text + "' is not a size: use e.g. 8G, 7.5GB, 512M or bytes");
        }
        if (!(v * unit >= (1L << 20)) || Double.isInfinite(v)) {
            throw new PrunelabException.InvalidArgument("${max_memory} '" + text + "' is below one megabyte: give e.g. 8G");
        }
        return (long) (v * unit);
    }

    /** Bytes as "6.93 GB" (10^9). */
    public static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }
}
