package org.prunelab.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One {@code .safetensors} file, memory-mapped and validated on open (format: huggingface/safetensors
 * README): a little-endian uint64 header length N, N bytes of JSON mapping each tensor name to
 * {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the byte after the header)
 * plus an optional {@code "__metadata__"} string map, then the data. Shapes are row-major, PyTorch order,
 * so a weight is {@code [out_features, in_features]}.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest header accepted; the reference implementation also caps it (at 100 MB). */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /**
     * One tensor's header entry.
     *
     * @param shape row-major dimensions, outermost first
     * @param begin first byte, relative to the data section
     * @param end   one past the last byte, relative to the data section
     */
    public record TensorInfo(String name, SafetensorsDtype dtype, long[] shape, long begin, long end) {
        public TensorInfo {
            shape = shape.clone();
        }

        @Override
        public long[] shape() { return shape.clone(); }

        public int rank() { return shape.length; }

        public long elementCount() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        @Override
        public String toString() { return name + " " + dtype + " " + Arrays.toString(shape); }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Maps and validates {@code path}.
     *
     * @throws PrunelabException.ModelFormat if the file is missing, truncated, has a malformed header, an unknown
     *                                       dtype, duplicate names, or offsets that disagree with the shapes or
     *                                       run past the end of the file
     */
    public static SafetensorsFile open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new PrunelabException.ModelFormat("safetensors file " + path + " does not exist or is not a regular file."
                    + " Check the path and that the checkpoint was copied completely.");
        }
        // As in GgufFile: a shared arena bounds the mapping to this object's lifetime (close() unmaps at once),
        // slices are zero-copy views usable from any thread, and using one after close() fails cleanly.
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return parse(path, arena, file);
        } catch (IOException e) {
            arena.close();
            throw new PrunelabException.ModelFormat("cannot read safetensors file " + path + ": " + e.getMessage()
                    + ". Check that the file is readable.", e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses a safetensors image; {@code path} names it in messages. {@link #open} maps the file into {@code arena};
     * tests and fuzzing pass a heap segment. @throws PrunelabException.ModelFormat as {@link #open}
     */
    static SafetensorsFile parse(Path path, Arena arena, MemorySegment file) {
        long size = file.byteSize();
        if (size < 8) {
            throw format(path, "is " + size + " bytes, too short to hold the 8-byte header length: it is empty or"
                    + " truncated. Copy or download it again.");
        }
        long headerLen = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8) {
            throw format(path, "declares a JSON header of " + Long.toUnsignedString(headerLen) + " bytes but the file is "
                    + size + " bytes" + (headerLen > MAX_HEADER_BYTES ? " (and headers are limited to 100 MB)" : "")
                    + ": it is truncated or not a safetensors file. Copy or download it again.");
        }
        byte[] header = new byte[(int) headerLen];
        MemorySegment.copy(file, ValueLayout.JAVA_BYTE, 8, header, 0, header.length);
        JsonNode root;
        try {
            root = JSON.readTree(new String(header, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            String why = e.getOriginalMessage().startsWith("Duplicate field")
                    ? "has a duplicate tensor name in its header (" + e.getOriginalMessage() + ")"
                    : "has a header that is not valid JSON (" + e.getOriginalMessage() + ")";
            throw format(path, why + ". The file is corrupt; re-save the checkpoint.");
        }
        if (root == null || !root.isObject()) throw format(path, "has a header that is not a JSON object. The file is corrupt; re-save it.");
        MemorySegment dataSection = file.asSlice(8 + headerLen);
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (var field : (Iterable<Map.Entry<String, JsonNode>>) root::fields) {
            if (field.getKey().equals("__metadata__")) {
                readMetadata(path, field.getValue(), metadata);
            } else {
                tensors.put(field.getKey(), readInfo(path, field.getKey(), field.getValue(), dataSection.byteSize()));
            }
        }
        checkOverlaps(path, tensors.values());
        return new SafetensorsFile(path, arena, dataSection, tensors, metadata);
    }

    private static void readMetadata(Path path, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) throw format(path, "has a __metadata__ entry that is not an object of strings. Re-save the checkpoint.");
        for (var e : (Iterable<Map.Entry<String, JsonNode>>) node::fields) {
            if (!e.getValue().isTextual()) {
                throw format(path, "has __metadata__ value '" + e.getKey() + "' that is not a string. Re-save the checkpoint.");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
    }

    private static TensorInfo readInfo(Path path, String name, JsonNode node, long dataBytes) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) throw format(path, "has a header entry for " + where + " that is not an object. Re-save the checkpoint.");
        SafetensorsDtype dtype = SafetensorsDtype.parse(node.path("dtype").asText(""));
        if (dtype == null) {
            throw format(path, where + " has unknown dtype " + node.get("dtype") + " (known: "
                    + Arrays.toString(SafetensorsDtype.values()) + "). Re-save the checkpoint in float32, float16 or bfloat16.");
        }
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) throw format(path, where + " has no shape array. Re-save the checkpoint.");
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw format(path, where + " has an invalid shape " + shapeNode + ". Re-save the checkpoint.");
            }
            shape[i] = d.asLong();
            elements = Math.multiplyHigh(elements, shape[i]) != 0 ? -1 : elements * shape[i];
            if (elements < 0) throw format(path, where + " has an absurd shape " + shapeNode + ". Re-save the checkpoint.");
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).canConvertToLong()
                || !offsets.get(1).canConvertToLong() || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw format(path, where + " needs data_offsets [begin, end] but has " + offsets + ". Re-save the checkpoint.");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw format(path, where + " has data_offsets [" + begin + ", " + end + "], which are not an increasing pair."
                    + " The file is corrupt; re-save it.");
        }
        long expectBytes = elements > Long.MAX_VALUE / dtype.bytes() ? -1 : elements * dtype.bytes();
        if (end - begin != expectBytes) {
            throw format(path, where + " is " + (end - begin) + " bytes by its data_offsets but its shape "
                    + Arrays.toString(shape) + " and dtype " + dtype + " need " + expectBytes
                    + " bytes. The file is corrupt; re-save it.");
        }
        if (end > dataBytes) {
            throw format(path, where + " ends at data offset " + end + ", past the end of the file (the data section is "
                    + dataBytes + " bytes). The file is truncated; copy or download it again.");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void checkOverlaps(Path path, Iterable<TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>();
        infos.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo a = sorted.get(i - 1);
            TensorInfo b = sorted.get(i);
            if (b.begin() < a.end()) {
                throw format(path, "tensors '" + a.name() + "' and '" + b.name() + "' overlap in the data section."
                        + " The file is corrupt; re-save it.");
            }
        }
    }

    private static PrunelabException.ModelFormat format(Path path, String what) {
        return new PrunelabException.ModelFormat("safetensors file " + path + " " + what);
    }

    public Path path() { return path; }

    /** Tensor names in header order. */
    public Set<String> names() { return tensors.keySet(); }

    /** The {@code __metadata__} strings (empty if none). */
    public Map<String, String> metadata() { return metadata; }

    /** Every tensor's header entry, in header order. */
    public List<TensorInfo> tensors() { return List.copyOf(tensors.values()); }

    /** The header entry of {@code name}. @throws PrunelabException.ModelFormat naming nearby tensors if absent */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw format(path, "has no tensor '" + name + "'; " + NearbyNames.describe(name, tensors.keySet())
                    + ". Check the name, or that the checkpoint is complete.");
        }
        return t;
    }

    /** The tensor's raw bytes as a zero-copy view of the mapping; valid until {@link #close()}. */
    public MemorySegment data(TensorInfo t) {
        return data.asSlice(t.begin(), t.end() - t.begin());
    }

    /**
     * All elements of tensor {@code name} as fp32, row-major.
     *
     * @throws PrunelabException.ModelFormat if absent, of a dtype other than F32/F16/BF16, or too large for one array
     */
    public float[] read(String name) {
        TensorInfo t = info(name);
        if (!t.dtype().isFloatSupported()) {
            throw format(path, "tensor " + t + " has dtype " + t.dtype() + "; prunelab reads F32, F16 and BF16 weights."
                    + " Re-save the checkpoint in one of those.");
        }
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) throw format(path, "tensor " + t + " has more elements than one Java array holds.");
        return GgmlDequant.dequantize(t.dtype().ggmlType(), data(t), (int) n);
    }

    /** A 2-D tensor as an fp32 matrix with the file's [rows, cols]. @throws PrunelabException.ModelFormat if absent or not 2-D */
    public FloatMatrix matrix(String name) {
        TensorInfo t = info(name);
        if (t.rank() != 2) throw notRank(t, 2);
        if (t.shape[0] > Integer.MAX_VALUE || t.shape[1] > Integer.MAX_VALUE) {
            throw format(path, "tensor " + t + " has a dimension above 2^31-1, more than a matrix can have.");
        }
        return new FloatMatrix((int) t.shape[0], (int) t.shape[1], read(name));
    }

    /** A 1-D tensor as fp32 values. @throws PrunelabException.ModelFormat if absent or not 1-D */
    public float[] vector(String name) {
        TensorInfo t = info(name);
        if (t.rank() != 1) throw notRank(t, 1);
        return read(name);
    }

    private PrunelabException.ModelFormat notRank(TensorInfo t, int rank) {
        return format(path, "tensor " + t + " has " + t.rank() + " dimensions where " + rank
                + " were expected. The checkpoint does not match the architecture.");
    }

    /** Unmaps the file. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() { return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]"; }
}
