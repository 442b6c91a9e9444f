package org.prunelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.prunelab.PrunelabException;

/**
 * Rewrites a safetensors checkpoint directory so that chosen weights are stored in compressed-tensors'
 * {@code sparse-bitmask} format (layout in {@link SparseBitmaskTensors}): on disk a weight with half its entries
 * zero takes the nonzero values plus one bit per entry, e.g. 0.53 of its fp32 bytes. Everything else (norms,
 * embeddings, tokenizer) is kept as it is, byte for byte. {@code config.json} gains the block compressed-tensors
 * writes ({@code ModelCompressor.update_config}, checked against the library by
 * {@code tools/reference/compressed_tensors_check.py}):
 * <pre>
 * "quantization_config": {
 *   "quant_method": "compressed-tensors", "version": "0.14.0.1", "transform_config": {},
 *   "sparsity_config": {"format": "sparse-bitmask", "global_sparsity": 0.5, "sparsity_structure": "2:4",
 *                       "targets": ["Linear"], "ignore": ["model.embed_tokens"], "registry_requires_subclass": false}}
 * </pre>
 * {@code global_sparsity} is the share of zeros over the compressed weights; {@code sparsity_structure} is "2:4"
 * when every compressed row has at most 2 nonzeros in each group of 4 columns, else "unstructured";
 * {@code ignore} names the module of every other 2-D {@code *.weight} in the file (they stay dense).
 *
 * <p>Who reads it: compressed-tensors up to 0.14.0.1 ({@code ModelCompressor.decompress}, and transformers through
 * it); 0.15 and later dropped the sparse compressors. prunelab reads it back through {@link SafetensorsTensorSource}.
 */
public final class SparseBitmaskWriter {
    /** The compressed-tensors release whose sparse-bitmask format this writes (the last one that reads it). */
    public static final String COMPRESSED_TENSORS_VERSION = "0.14.0.1";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * What {@link #compress} did.
     *
     * @param weights        number of weights now stored sparse
     * @param bytesBefore    size of {@code model.safetensors} before, in bytes
     * @param bytesAfter     size after, in bytes
     * @param globalSparsity share of zeros over the compressed weights
     * @param structure      "2:4" or "unstructured"
     */
    public record Result(int weights, long bytesBefore, long bytesAfter, double globalSparsity, String structure) {}

    private SparseBitmaskWriter() {}

    /**
     * Compresses the tensors named {@code weights} (full names, e.g. {@code model.layers.0.mlp.down_proj.weight};
     * 2-D, F32, F16 or BF16) of the single-file checkpoint in {@code dir}, replacing {@code model.safetensors} and
     * updating {@code config.json} (created if absent), each atomically.
     *
     * @throws PrunelabException.InvalidArgument if a name is missing or not a 2-D float tensor, the checkpoint is
     *         sharded, or config.json already has a quantization_config
     * @throws PrunelabException if a file cannot be read or written
     */
    public static Result compress(Path dir, Set<String> weights) {
        Path file = dir.resolve(SafetensorsWriter.SINGLE_FILE);
        if (!Files.isRegularFile(file)) {
            throw new PrunelabException.InvalidArgument("cannot write sparse-bitmask weights in " + dir + ": it has no "
                    + SafetensorsWriter.SINGLE_FILE + " (sharded checkpoints are not supported; save the model unsharded)");
        }
        ObjectNode config = readConfig(dir.resolve("config.json"));
        SafetensorsWriter out = new SafetensorsWriter();
        Set<String> missing = new LinkedHashSet<>(weights);
        List<String> ignore = new ArrayList<>();
        long zeros = 0;
        long total = 0;
        boolean twoFour = true;
        long before;
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            before = Files.size(file);
            in.metadata().forEach(out::metadata);
            for (SafetensorsFile.TensorInfo t : in.tensors()) {
                byte[] raw = in.data(t).toArray(ValueLayout.JAVA_BYTE);
                if (!missing.remove(t.name())) {
                    out.addRaw(t.name(), t.dtype(), t.shape(), raw);
                    if (t.rank() == 2 && t.name().endsWith(".weight")) ignore.add(module(t.name()));
                    continue;
                }
                if (t.rank() != 2 || !t.dtype().isFloatSupported() || !t.name().endsWith(".weight")) {
                    throw new PrunelabException.InvalidArgument("cannot store " + t + " as sparse-bitmask: only 2-D F32,"
                            + " F16 or BF16 tensors named *.weight are compressed");
                }
                Compressed c = Compressed.of(t, raw);
                String prefix = module(t.name());
                out.addRaw(prefix + SparseBitmaskTensors.SHAPE, SafetensorsDtype.I64, new long[] {2}, longs(t.shape()));
                out.addRaw(prefix + SparseBitmaskTensors.COMPRESSED, t.dtype(), new long[] {c.count()}, c.values());
                out.addRaw(prefix + SparseBitmaskTensors.BITMASK, SafetensorsDtype.U8, new long[] {t.shape()[0], (t.shape()[1] + 7) / 8}, c.bitmask());
                out.addRaw(prefix + SparseBitmaskTensors.ROW_OFFSETS, SafetensorsDtype.I64, new long[] {t.shape()[0]}, longs(c.rowOffsets()));
                zeros += t.elementCount() - c.count();
                total += t.elementCount();
                twoFour &= c.twoFour();
            }
            if (!missing.isEmpty()) {
                throw new PrunelabException.InvalidArgument("cannot store " + missing + " as sparse-bitmask: " + file
                        + " has no such tensors; " + NearbyNames.describe(missing.iterator().next(), in.names()));
            }
            out.write(file);
        } catch (IOException e) {
            throw new PrunelabException("cannot read " + file + ": " + e.getMessage(), e);
        }
        double sparsity = total == 0 ? 0 : (double) zeros / total;
        String structure = twoFour && total > 0 ? "2:4" : "unstructured";
        ObjectNode q = config.putObject("quantization_config");
        q.put("quant_method", "compressed-tensors");
        ObjectNode s = q.putObject("sparsity_config");
        s.put("format", "sparse-bitmask");
        s.put("global_sparsity", sparsity);
        s.putArray("ignore").addAll(ignore.stream().map(com.fasterxml.jackson.databind.node.TextNode::valueOf).toList());
        s.put("registry_requires_subclass", false);
        s.put("sparsity_structure", structure);
        s.putArray("targets").add("Linear");
        q.putObject("transform_config");
        q.put("version", COMPRESSED_TENSORS_VERSION);
        try {
            AtomicFiles.writeString(dir.resolve("config.json"), JSON.writeValueAsString(config) + "\n");
            return new Result(weights.size(), before, Files.size(file), sparsity, structure);
        } catch (IOException e) {
            throw new PrunelabException("cannot write " + dir.resolve("config.json") + ": " + e.getMessage(), e);
        }
    }

    private static ObjectNode readConfig(Path configJson) {
        if (!Files.isRegularFile(configJson)) return JSON.createObjectNode();
        try {
            JsonNode root = JSON.readTree(configJson.toFile());
            if (!(root instanceof ObjectNode o)) {
                throw new PrunelabException.ModelFormat(configJson + " is not a JSON object; re-save the checkpoint");
            }
            if (o.has("quantization_config")) {
                throw new PrunelabException.InvalidArgument(configJson + " already has a quantization_config ("
                        + o.get("quantization_config").path("quant_method").asText("?") + "); sparse-bitmask is written"
                        + " over plain (unquantised) checkpoints only");
            }
            return o;
        } catch (IOException e) {
            throw new PrunelabException.ModelFormat("cannot read " + configJson + ": " + e.getMessage(), e);
        }
    }

    /** {@code a.b.weight} to its module {@code a.b}. */
    private static String module(String weight) {
        return weight.endsWith(".weight") ? weight.substring(0, weight.length() - ".weight".length()) : weight;
    }

    private static byte[] longs(long[] v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) b.putLong(x);
        return b.array();
    }

    /** One weight's nonzero values (raw element bytes), packed mask and row offsets. */
    private record Compressed(long count, byte[] values, byte[] bitmask, long[] rowOffsets, boolean twoFour) {
        static Compressed of(SafetensorsFile.TensorInfo t, byte[] raw) {
            int rows = (int) t.shape()[0];
            int cols = (int) t.shape()[1];
            int size = t.dtype().bytes();
            int rowBytes = (cols + 7) / 8;
            MemorySegment seg = MemorySegment.ofArray(raw);
            byte[] mask = new byte[rows * rowBytes];
            long[] offsets = new long[rows];
            java.io.ByteArrayOutputStream values = new java.io.ByteArrayOutputStream();
            long count = 0;
            boolean twoFour = cols % 4 == 0;
            for (int r = 0; r < rows; r++) {
                offsets[r] = count;
                int inGroup = 0;
                for (int c = 0; c < cols; c++) {
                    long at = ((long) r * cols + c) * size;
                    if (c % 4 == 0) inGroup = 0;
                    if (!nonZero(seg, at, size)) continue;
                    mask[r * rowBytes + (c >>> 3)] |= (byte) (1 << (c & 7));
                    values.write(raw, (int) at, size);
                    count++;
                    if (++inGroup > 2) twoFour = false;
                }
            }
            return new Compressed(count, values.toByteArray(), mask, offsets, twoFour);
        }

        /** torch's {@code tensor != 0}: any bit set besides the sign. */
        private static boolean nonZero(MemorySegment seg, long at, int size) {
            if (size == 4) return (seg.get(LE_INT, at) & 0x7FFFFFFF) != 0;
            return (seg.get(LE_SHORT, at) & 0x7FFF) != 0;
        }
    }
}
