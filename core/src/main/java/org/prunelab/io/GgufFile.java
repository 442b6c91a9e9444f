package org.prunelab.io;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF model file (versions 2 and 3), memory-mapped and validated on open.
 *
 * <p>Layout (ggml {@code docs/gguf.md}): magic "GGUF", uint32 version, uint64 tensor count, uint64
 * metadata count, the metadata key/values, the tensor infos (name, dims, ne[], ggml type, offset),
 * padding to {@code general.alignment} (default 32), then the data section holding each tensor at its
 * offset, each also aligned. Everything is little-endian; big-endian GGUF files are rejected.
 *
 * <p>Opening checks every length and offset against the file size, that tensor offsets follow from the
 * shapes and types (as llama.cpp's loader does), and that names are unique, so a truncated or corrupt file
 * fails here with a {@link PrunelabException.ModelFormat} rather than later with garbage weights.
 *
 * <p>Not thread-safe to close while another thread reads; reading from several threads is fine.
 */
public final class GgufFile implements AutoCloseable {
    /** Alignment of the data section and of each tensor when {@code general.alignment} is absent. */
    public static final int DEFAULT_ALIGNMENT = 32;
    private static final int HEADER_BYTES = 4 + 4 + 8 + 8;
    private static final int MAX_DIMS = 4;

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final GgufMetadata metadata;
    private final long alignment;
    private final long dataOffset;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> byName;

    private GgufFile(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        GgufCursor in = new GgufCursor(path, file);
        this.version = readHeader(in);
        long tensorCount = in.u64("tensor count");
        long kvCount = in.u64("metadata count");
        in.requireCount(kvCount, 8 + 4 + 1, "metadata entries");

        Map<String, GgufMetadata.Entry> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = in.position();
            String key = in.string("metadata key #" + i);
            GgufValueType type = in.valueType("value type of '" + key + "'");
            Object value = in.value(type, "value of '" + key + "'");
            if (kv.put(key, new GgufMetadata.Entry(type, value)) != null) {
                throw in.corrupt("metadata key '" + key + "' appears twice (second at offset " + at + ")");
            }
        }
        this.metadata = new GgufMetadata(path, kv);
        this.alignment = readAlignment(in);

        in.requireCount(tensorCount, 8 + 4 + 4 + 8, "tensor infos");
        List<RawInfo> raw = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) raw.add(readTensorInfo(in, i));
        this.dataOffset = alignUp(in.position(), alignment);
        this.tensors = Collections.unmodifiableList(validate(raw));
        Map<String, GgufTensorInfo> names = new LinkedHashMap<>();
        for (GgufTensorInfo t : tensors) names.put(t.name(), t);
        this.byName = Collections.unmodifiableMap(names);
    }

    /**
     * Maps and parses {@code path}.
     *
     * @throws PrunelabException.ModelFormat if the file is missing, not GGUF, of an unsupported version,
     *                                       truncated or internally inconsistent; the message says which
     */
    public static GgufFile open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + " does not exist or is not a regular file."
                    + " Check the path, or run ./prunelab setup to fetch the model.");
        }
        // A shared arena, not a confined or automatic one: the mapping must stay valid exactly as long as this
        // GgufFile is open (slices from data() are zero-copy views into it), tensors may be dequantised on worker
        // threads, and close() must unmap deterministically (a GC-managed mapping would keep a ~100 MB-100 GB file
        // mapped for an unknown time). After close(), touching any slice throws IllegalStateException instead of
        // reading unmapped memory. Dequantised arrays are copies and outlive the file.
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path, arena, seg);
        } catch (IOException e) {
            arena.close();
            throw new PrunelabException.ModelFormat("cannot read GGUF file " + path + ": " + e.getMessage()
                    + ". Check that the file is readable.", e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses a GGUF image that is already in memory, with the checks of {@link #open}; {@code name} stands for the
     * file in messages. For tests and fuzzing: {@link #quantMatrix} needs a mapped (native) segment.
     *
     * @throws PrunelabException.ModelFormat as {@link #open}
     */
    static GgufFile parse(Path name, MemorySegment bytes) {
        Arena arena = Arena.ofConfined(); // owns nothing here; closing a confined arena is cheap, a shared one is not
        try {
            return new GgufFile(name, arena, bytes);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private int readHeader(GgufCursor in) {
        if (file.byteSize() < 4) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + " is " + file.byteSize()
                    + " bytes, too short to be a GGUF file (the header alone is " + HEADER_BYTES
                    + " bytes). It is empty or truncated; download it again.");
        }
        int magic = in.u32("magic");
        if (magic != 0x46554747) { // "GGUF" read as a little-endian uint32
            throw new PrunelabException.ModelFormat(path + " is not a GGUF file: it starts with "
                    + GgufCursor.describeMagic(file) + ", expected \"GGUF\". Pass a .gguf model file"
                    + " (a safetensors checkpoint is opened as a directory with config.json).");
        }
        if (file.byteSize() < HEADER_BYTES) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + " is " + file.byteSize()
                    + " bytes, shorter than the " + HEADER_BYTES + "-byte GGUF header: it is truncated. Download it again.");
        }
        int v = in.u32("version");
        if (v == 2 || v == 3) return v;
        String hint = Integer.reverseBytes(v) == 2 || Integer.reverseBytes(v) == 3
                ? " (it looks like a big-endian GGUF file, which this reader does not support; use a little-endian one)"
                : v == 1 ? " (version 1 is the 2023 pre-release format)" : "";
        throw new PrunelabException.ModelFormat("GGUF file " + path + " has version " + Integer.toUnsignedString(v)
                + hint + "; prunelab reads GGUF versions 2 and 3. Re-convert the model with a recent llama.cpp"
                + " (convert_hf_to_gguf.py).");
    }

    private long readAlignment(GgufCursor in) {
        if (!metadata.contains("general.alignment")) return DEFAULT_ALIGNMENT;
        long a = metadata.getLong("general.alignment");
        if (a <= 0 || Long.bitCount(a) != 1) {
            throw in.corrupt("general.alignment is " + a + ", but it must be a positive power of two");
        }
        return a;
    }

    private record RawInfo(String name, long[] shape, long typeId, long offset) {}

    private RawInfo readTensorInfo(GgufCursor in, long index) {
        String name = in.string("name of tensor #" + index);
        long nDims = Integer.toUnsignedLong(in.u32("dimension count of '" + name + "'"));
        if (nDims == 0 || nDims > MAX_DIMS) {
            throw in.corrupt("tensor '" + name + "' has " + nDims + " dimensions; GGUF allows 1 to " + MAX_DIMS);
        }
        long[] shape = new long[(int) nDims];
        for (int d = 0; d < nDims; d++) {
            shape[d] = in.u64("ne[" + d + "] of '" + name + "'");
            if (shape[d] < 0) throw in.corrupt("tensor '" + name + "' has ne[" + d + "] = " + Long.toUnsignedString(shape[d]));
        }
        long typeId = Integer.toUnsignedLong(in.u32("type of '" + name + "'"));
        long offset = in.u64("data offset of '" + name + "'");
        return new RawInfo(name, shape, typeId, offset);
    }

    /** Checks types, sizes, alignment, ordering, bounds and uniqueness; builds the public infos. */
    private List<GgufTensorInfo> validate(List<RawInfo> raw) {
        List<GgufTensorInfo> out = new ArrayList<>(raw.size());
        if (!raw.isEmpty() && dataOffset > file.byteSize()) {
            // Even a tensor of zero elements needs the data section to start inside the file.
            throw new PrunelabException.ModelFormat("GGUF file " + path + " declares " + raw.size() + " tensors, but their"
                    + " data section would start at offset " + dataOffset + ", past the end of the file ("
                    + file.byteSize() + " bytes). The file is truncated; download it again.");
        }
        Map<String, Boolean> seen = new LinkedHashMap<>();
        long dataBytes = file.byteSize() - Math.min(dataOffset, file.byteSize());
        long expected = 0;
        GgufTensorInfo previous = null;
        for (RawInfo r : raw) {
            if (seen.put(r.name(), Boolean.TRUE) != null) {
                throw new PrunelabException.ModelFormat("GGUF file " + path + " has two tensors named '" + r.name()
                        + "'. The file is corrupt or was written by a faulty converter; re-convert it.");
            }
            GgmlType type = GgmlType.fromId(r.typeId(), path, r.name());
            long elements = elementCount(r);
            if (r.shape()[0] % type.blockSize() != 0) {
                throw corrupt("tensor '" + r.name() + "' has rows of ne[0] = " + r.shape()[0] + " elements, not a multiple"
                        + " of the " + type + " block size " + type.blockSize());
            }
            if (elements / type.blockSize() > Long.MAX_VALUE / type.typeSize()) {
                throw corrupt("tensor '" + r.name() + "' has a shape " + java.util.Arrays.toString(r.shape())
                        + " whose byte size overflows 64 bits");
            }
            long bytes = type.byteSize(elements);
            GgufTensorInfo info = new GgufTensorInfo(r.name(), type, r.shape(), r.offset(), bytes);
            if (r.offset() % alignment != 0) {
                throw corrupt("tensor '" + r.name() + "' starts at data offset " + r.offset() + ", not a multiple of the"
                        + " alignment " + alignment);
            }
            if (r.offset() > dataBytes || bytes > dataBytes - r.offset()) {
                throw new PrunelabException.ModelFormat("GGUF file " + path + ": tensor " + info + " needs " + bytes
                        + " bytes at file offset " + (dataOffset + r.offset()) + ", past the end of the file ("
                        + file.byteSize() + " bytes). The file is truncated; download it again.");
            }
            if (r.offset() != expected) {
                throw corrupt("tensor '" + r.name() + "' starts at data offset " + r.offset() + " but the tensors before it"
                        + " end at " + expected + (previous == null ? "" : " (previous: " + previous + ", "
                        + previous.byteSize() + " bytes by its shape and type)")
                        + "; a tensor's byte size disagrees with its shape and type");
            }
            expected = r.offset() + alignUp(bytes, alignment);
            previous = info;
            out.add(info);
        }
        return out;
    }

    private long elementCount(RawInfo r) {
        long n = 1;
        for (long d : r.shape()) {
            if (d != 0 && n > Long.MAX_VALUE / d) throw corrupt("tensor '" + r.name() + "' has an absurd shape");
            n *= d;
        }
        return n;
    }

    private PrunelabException.ModelFormat corrupt(String what) {
        return new PrunelabException.ModelFormat("GGUF file " + path + " is corrupt: " + what
                + ". Download or re-convert the model.");
    }

    private static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    /** The file this was opened from. */
    public Path path() { return path; }

    /** GGUF format version, 2 or 3. */
    public int version() { return version; }

    /** The key/value metadata. */
    public GgufMetadata metadata() { return metadata; }

    /** Alignment in bytes of the data section and of each tensor ({@code general.alignment}, default 32). */
    public long alignment() { return alignment; }

    /** Absolute file offset (bytes) where the data section starts. */
    public long dataOffset() { return dataOffset; }

    /** Every tensor, in file order. */
    public List<GgufTensorInfo> tensors() { return tensors; }

    /** The tensor named {@code name}, if present. */
    public Optional<GgufTensorInfo> findTensor(String name) { return Optional.ofNullable(byName.get(name)); }

    /** The tensor named {@code name}. @throws PrunelabException.ModelFormat naming nearby tensors if absent */
    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo t = byName.get(name);
        if (t == null) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + " has no tensor '" + name + "'; "
                    + NearbyNames.describe(name, byName.keySet()) + ". Check that the file is a complete model of the"
                    + " expected architecture.");
        }
        return t;
    }

    /**
     * The tensor's raw bytes as a zero-copy view of the mapping, {@code t.byteSize()} bytes long; valid until
     * {@link #close()}.
     */
    public MemorySegment data(GgufTensorInfo t) {
        return file.asSlice(dataOffset + t.dataOffset(), t.byteSize());
    }

    /**
     * All elements of {@code t} as fp32, flattened in GGUF order (ne[0] fastest).
     *
     * @throws PrunelabException.ModelFormat if the type cannot be dequantised or the tensor exceeds one Java array
     */
    public float[] dequantize(GgufTensorInfo t) {
        if (!t.type().isDequantisable()) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + ": tensor " + t + " is of type " + t.type()
                    + ", which prunelab cannot dequantise (supported: " + GgmlType.DEQUANTISABLE + "). Use a GGUF"
                    + " quantised as Q4_0, Q4_1, Q8_0, Q4_K_M, F16 or BF16, or the safetensors checkpoint.");
        }
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + ": tensor " + t + " has " + n
                    + " elements, more than one Java array holds; prunelab cannot load it.");
        }
        return GgmlDequant.dequantize(t.type(), data(t), (int) n);
    }

    /**
     * A 2-D tensor as an fp32 matrix of {@code ne[1]} rows and {@code ne[0]} columns; for a weight that is the
     * Hugging Face {@code [out_features, in_features]} layout. Rows are in the file's order (for llama.cpp
     * conversions of Q/K that order is permuted; {@link GgufTensorSource} undoes it).
     *
     * @throws PrunelabException.ModelFormat if absent, not 2-D, or not dequantisable
     */
    public FloatMatrix matrix(String name) {
        GgufTensorInfo t = tensor(name);
        if (t.rank() != 2) throw notRank(t, 2);
        if (t.ne(0) > Integer.MAX_VALUE || t.ne(1) > Integer.MAX_VALUE) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + ": tensor " + t + " has a dimension above"
                    + " 2^31-1, more than a matrix can have. The file is corrupt.");
        }
        return new FloatMatrix((int) t.ne(1), (int) t.ne(0), dequantize(t));
    }

    /**
     * A Q8_0 or Q4_0 2-D tensor as a {@link QuantMatrix} over its mapped bytes: no copy, no fp32. The matrix has
     * {@code ne[1]} rows and {@code ne[0]} columns (a weight's Hugging Face {@code [out_features, in_features]}), rows in
     * the file's order (llama.cpp's Q/K RoPE permutation, where the family has one, is not undone: see
     * {@link QuantMatrix#selectRows}). Valid until {@link #close()}; reading it after that throws
     * {@link IllegalStateException}.
     *
     * <p>The bytes are handed out as a plain native segment of this file's arena rather than as the mapped segment
     * itself: one segment class keeps the quantised kernels' Vector API loads monomorphic (see {@link QuantMatrix}).
     *
     * @throws PrunelabException.ModelFormat if the tensor is absent, not 2-D, or of another type
     */
    public QuantMatrix quantMatrix(String name) {
        GgufTensorInfo t = tensor(name);
        if (t.rank() != 2) throw notRank(t, 2);
        if (t.ne(0) > Integer.MAX_VALUE || t.ne(1) > Integer.MAX_VALUE) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + ": tensor " + t + " has a dimension above"
                    + " 2^31-1, more than a matrix can have. The file is corrupt.");
        }
        QuantType type = switch (t.type()) {
            case Q8_0 -> QuantType.Q8_0;
            case Q4_0 -> QuantType.Q4_0;
            default -> throw new PrunelabException.ModelFormat("GGUF file " + path + ": tensor " + t + " is of type "
                    + t.type() + ", not Q8_0 or Q4_0, so it cannot be used as a quantised matrix without converting it."
                    + " Dequantise it with matrix(name), or use a GGUF quantised as Q8_0 or Q4_0.");
        };
        MemorySegment slice = data(t);
        MemorySegment plain = MemorySegment.ofAddress(slice.address()).reinterpret(slice.byteSize(), arena, null);
        return QuantMatrix.wrap(type, (int) t.ne(1), (int) t.ne(0), plain.asReadOnly());
    }

    /** A 1-D tensor as fp32 values. @throws PrunelabException.ModelFormat if absent, not 1-D, or not dequantisable */
    public float[] vector(String name) {
        GgufTensorInfo t = tensor(name);
        if (t.rank() != 1) throw notRank(t, 1);
        return dequantize(t);
    }

    private PrunelabException.ModelFormat notRank(GgufTensorInfo t, int rank) {
        return new PrunelabException.ModelFormat("GGUF file " + path + ": tensor " + t + " has " + t.rank()
                + " dimensions where " + rank + " were expected. The file does not match the architecture it claims.");
    }

    /** Unmaps the file; slices from {@link #data} become unusable. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "GgufFile[" + path + ", v" + version + ", " + tensors.size() + " tensors]";
    }
}
