package org.prunelab.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects named tensors (fp32 arrays, or raw bytes of any dtype via {@link #addRaw}) and writes them as safetensors: one file, or Hugging Face style shards
 * ({@code model-00001-of-00003.safetensors} ...) with a {@code model.safetensors.index.json} whose
 * {@code weight_map} names each tensor's shard and whose {@code metadata.total_size} is the tensor bytes.
 * Tensors are stored in insertion order, contiguously, in the chosen dtype (F32, F16 or BF16; the fp16 and
 * bf16 conversions round to nearest even, as PyTorch does). The header carries {@code "format": "pt"} in
 * {@code __metadata__}, which transformers expects. Every file is written to a temporary file in the target
 * directory and renamed into place only when complete; a sharded write renames the shards and then the index.
 *
 * <p>The writer keeps references to the arrays it is given (no copy) until written.
 */
public final class SafetensorsWriter {
    /** File name of an unsharded checkpoint. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** File name of a sharded checkpoint's index. */
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK_ELEMENTS = 256 * 1024;

    /** A tensor to write: fp32 values converted to the writer's dtype, or raw little-endian bytes of their own dtype. */
    private record Pending(String name, long[] shape, float[] data, SafetensorsDtype rawDtype, byte[] raw) {
        SafetensorsDtype dtype(SafetensorsDtype floats) { return raw == null ? floats : rawDtype; }

        long bytes(SafetensorsDtype floats) { return raw == null ? data.length * (long) floats.bytes() : raw.length; }
    }

    private final SafetensorsDtype dtype;
    private final Map<String, Pending> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** A writer storing tensors as {@code dtype}. @throws IllegalArgumentException unless F32, F16 or BF16 */
    public SafetensorsWriter(SafetensorsDtype dtype) {
        if (!dtype.isFloatSupported()) throw new IllegalArgumentException("cannot write dtype " + dtype + "; use F32, F16 or BF16");
        this.dtype = dtype;
        metadata.put("format", "pt");
    }

    /** A writer storing fp32. */
    public SafetensorsWriter() {
        this(SafetensorsDtype.F32);
    }

    /** Adds a weight with shape {@code [m.rows(), m.cols()]}. @throws IllegalArgumentException on a duplicate name */
    public SafetensorsWriter add(String name, FloatMatrix m) {
        return add(name, new long[] {m.rows(), m.cols()}, m.data());
    }

    /** Adds a 1-D tensor. @throws IllegalArgumentException on a duplicate name */
    public SafetensorsWriter add(String name, float[] vector) {
        return add(name, new long[] {vector.length}, vector);
    }

    /** Adds a row-major tensor of any rank. @throws IllegalArgumentException on a duplicate name or a shape/length mismatch */
    public SafetensorsWriter add(String name, long[] shape, float[] data) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != data.length) {
            throw new IllegalArgumentException("tensor '" + name + "' shape " + Arrays.toString(shape) + " does not match "
                    + data.length + " values");
        }
        return put(new Pending(name, shape.clone(), data, null, null));
    }

    /**
     * Adds a tensor given as its raw little-endian bytes in {@code dtype} (any safetensors dtype: the integer and
     * bit-mask tensors of a compressed checkpoint, or float values copied without conversion).
     *
     * @throws IllegalArgumentException on a duplicate name or a shape/byte-count mismatch
     */
    public SafetensorsWriter addRaw(String name, SafetensorsDtype dtype, long[] shape, byte[] littleEndian) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n * dtype.bytes() != littleEndian.length) {
            throw new IllegalArgumentException("tensor '" + name + "' shape " + Arrays.toString(shape) + " in " + dtype
                    + " needs " + n * dtype.bytes() + " bytes, got " + littleEndian.length);
        }
        return put(new Pending(name, shape.clone(), null, dtype, littleEndian));
    }

    private SafetensorsWriter put(Pending p) {
        if (p.name().equals("__metadata__") || tensors.putIfAbsent(p.name(), p) != null) {
            throw new IllegalArgumentException("tensor name '" + p.name() + "' is reserved or already added");
        }
        return this;
    }

    /** Adds a {@code __metadata__} string entry. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Writes everything to one file, atomically. @throws PrunelabException if the file cannot be written */
    public void write(Path file) {
        Path tmp = null;
        try {
            tmp = AtomicFiles.tempBeside(file);
            writeFile(tmp, List.copyOf(tensors.values()));
            AtomicFiles.moveIntoPlace(tmp, file);
        } catch (IOException e) {
            AtomicFiles.deleteQuietly(tmp);
            throw AtomicFiles.writeFailed(file, e);
        }
    }

    /**
     * Writes into {@code dir} as shards of at most {@code maxShardBytes} tensor bytes each (a single tensor larger
     * than that gets a shard of its own), plus the index. If everything fits one shard, writes
     * {@value #SINGLE_FILE} alone, as {@code save_pretrained} does.
     *
     * @return the files written, shards first and the index last
     * @throws PrunelabException if a file cannot be written; no partial shard is left under a final name
     */
    public List<Path> writeSharded(Path dir, long maxShardBytes) {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        List<List<Pending>> shards = plan(maxShardBytes);
        if (shards.size() <= 1) {
            Path single = dir.resolve(SINGLE_FILE);
            write(single);
            return List.of(single);
        }
        List<Path> finals = new ArrayList<>();
        List<Path> temps = new ArrayList<>();
        Map<String, String> weightMap = new TreeMap<>();
        long totalSize = 0;
        try {
            for (int i = 0; i < shards.size(); i++) {
                String fileName = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                Path target = dir.resolve(fileName);
                Path tmp = AtomicFiles.tempBeside(target);
                temps.add(tmp);
                finals.add(target);
                writeFile(tmp, shards.get(i));
                for (Pending p : shards.get(i)) {
                    weightMap.put(p.name(), fileName);
                    totalSize += p.bytes(dtype);
                }
            }
            Path index = dir.resolve(INDEX_FILE);
            Path indexTmp = AtomicFiles.tempBeside(index);
            temps.add(indexTmp);
            finals.add(index);
            ObjectNode root = JSON.createObjectNode();
            root.putObject("metadata").put("total_size", totalSize);
            ObjectNode wm = root.putObject("weight_map");
            weightMap.forEach(wm::put);
            java.nio.file.Files.writeString(indexTmp,
                    JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root) + "\n");
            for (int i = 0; i < temps.size(); i++) AtomicFiles.moveIntoPlace(temps.get(i), finals.get(i));
            return finals;
        } catch (IOException e) {
            temps.forEach(AtomicFiles::deleteQuietly);
            throw AtomicFiles.writeFailed(dir, e);
        }
    }

    /** Greedy packing in insertion order, as transformers' shard_checkpoint does. */
    private List<List<Pending>> plan(long maxShardBytes) {
        List<List<Pending>> shards = new ArrayList<>();
        List<Pending> current = new ArrayList<>();
        long currentBytes = 0;
        for (Pending p : tensors.values()) {
            long bytes = p.bytes(dtype);
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(p);
            currentBytes += bytes;
        }
        if (!current.isEmpty() || shards.isEmpty()) shards.add(current);
        return shards;
    }

    private void writeFile(Path file, List<Pending> items) throws IOException {
        byte[] header = header(items);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(header));
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_ELEMENTS * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            for (Pending p : items) {
                if (p.raw() != null) {
                    writeFully(ch, ByteBuffer.wrap(p.raw()));
                    continue;
                }
                float[] d = p.data();
                for (int start = 0; start < d.length; start += CHUNK_ELEMENTS) {
                    int end = Math.min(d.length, start + CHUNK_ELEMENTS);
                    buf.clear();
                    for (int i = start; i < end; i++) {
                        switch (dtype) {
                            case F32 -> buf.putFloat(d[i]);
                            case F16 -> buf.putShort(Float.floatToFloat16(d[i]));
                            default -> buf.putShort(floatToBf16(d[i]));
                        }
                    }
                    writeFully(ch, buf.flip());
                }
            }
            ch.force(true);
        }
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes so the data section is 8-byte aligned. */
    private byte[] header(List<Pending> items) throws JsonProcessingException {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode md = root.putObject("__metadata__");
        metadata.forEach(md::put);
        long offset = 0;
        for (Pending p : items) {
            ObjectNode t = root.putObject(p.name());
            t.put("dtype", p.dtype(dtype).name());
            ArrayNode shape = t.putArray("shape");
            for (long s : p.shape()) shape.add(s);
            long bytes = p.bytes(dtype);
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        StringBuilder text = new StringBuilder(JSON.writeValueAsString(root));
        while (text.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) text.append(' ');
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** fp32 to bfloat16 with round-to-nearest-even; NaN stays a quiet NaN (as torch and gguf-py do). */
    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (short) ((bits >>> 16) | 0x0040);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }
}
