package org.prunelab.io;

import org.prunelab.cache.PrunelabHome;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Seed inputs for the GGUF, dequantiser and safetensors fuzz targets (written by {@code FuzzSeedsWriter}): the real
 * models shrunk to a few KB with their own metadata (arrays cut to their first entries, token ids kept inside the cut
 * vocabulary) and one tensor of each type with its first blocks of real data; the real files' first bytes; and
 * hand-made headers that claim far more than the file holds.
 */
public final class GgufSeeds {
    private static final int ARRAY_KEEP = 48;

    private GgufSeeds() {}

    /** Receives one seed. */
    public interface Sink {
        void accept(String name, byte[] bytes) throws IOException;
    }

    public static void write(PrunelabHome home, Sink header, Sink dequant) throws IOException {
        for (Path model : List.of(home.resolve("models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"),
                home.resolve("models/gemma3-270m/gemma-3-270m-q4_k_m.gguf"))) {
            String stem = model.getFileName().toString().replace(".gguf", "");
            try (GgufFile f = GgufFile.open(model)) {
                header.accept(stem + "-shrunk.gguf", shrink(f));
                Set<GgmlType> seen = EnumSet.noneOf(GgmlType.class);
                for (GgufTensorInfo t : f.tensors()) {
                    if (!t.type().isDequantisable() || !seen.add(t.type())) continue;
                    long bytes = Math.min(t.byteSize(), 40L * t.type().typeSize());
                    byte[] data = f.data(t).asSlice(0, bytes).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    dequant.accept(stem + "-" + t.type(), dequantInput(t.type(), 0, data));
                }
            }
            byte[] head = new byte[4096];
            try (var in = Files.newInputStream(model)) {
                header.accept(stem + "-first-4k.gguf", java.util.Arrays.copyOf(head, in.readNBytes(head, 0, head.length)));
            }
        }
        for (var e : handMade().entrySet()) header.accept(e.getKey(), e.getValue());
        // A run of Q4_0/Q8_0 blocks long enough to cross the dequantiser's 16K-element chunk.
        byte[] longRun = new byte[(16 * 1024 / 32 + 3) * 34];
        new java.util.Random(7).nextBytes(longRun);
        dequant.accept("random-over-one-chunk-Q8_0", dequantInput(GgmlType.Q8_0, 3, longRun));
        for (GgmlType t : GgufFuzzTest.DEQUANT_TYPES) {
            byte[] blocks = new byte[3 * t.typeSize()];
            new java.util.Random(t.id()).nextBytes(blocks);
            dequant.accept("random-3-blocks-" + t, dequantInput(t, 5, blocks));
        }
    }

    /** An input of the dequantiser target: type byte, offset byte, blocks. */
    static byte[] dequantInput(GgmlType type, int offset, byte[] blocks) {
        byte[] in = new byte[blocks.length + 2];
        in[0] = (byte) GgufFuzzTest.DEQUANT_TYPES.indexOf(type);
        in[1] = (byte) offset;
        System.arraycopy(blocks, 0, in, 2, blocks.length);
        return in;
    }

    /** The model's metadata with every array cut to its first entries, and its first tensors of each type, one block row. */
    static byte[] shrink(GgufFile f) {
        GgufTestWriter w = new GgufTestWriter().version(f.version());
        GgufMetadata md = f.metadata();
        for (String key : md.keys()) {
            GgufMetadata.Entry e = md.entry(key);
            if (key.equals("general.alignment")) {
                w.alignment((int) md.getLong(key));
                continue;
            }
            Object value = e.value();
            if (key.endsWith("_token_id")) value = Math.min((Long) value, ARRAY_KEEP - 1);
            w.kv(key, e.type(), convert(value));
        }
        Set<GgmlType> seen = EnumSet.noneOf(GgmlType.class);
        for (GgufTensorInfo t : f.tensors()) {
            if (!seen.add(t.type()) && !t.name().equals("token_embd.weight")) continue;
            long row = t.type().blockSize() * (t.type().blockSize() == 1 ? 8L : 1L);
            long[] shape = t.rank() == 1 ? new long[] {row} : new long[] {row, 2};
            long bytes = t.type().byteSize(row * (t.rank() == 1 ? 1 : 2));
            w.tensor(t.name(), t.type(), shape, f.data(t).asSlice(0, bytes).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
        return w.toBytes();
    }

    private static Object convert(Object value) {
        if (value instanceof GgufMetadata.GgufArray a) {
            List<Object> kept = new ArrayList<>();
            for (Object v : a.values().subList(0, Math.min(ARRAY_KEEP, a.size()))) kept.add(convert(v));
            return new GgufTestWriter.Arr(a.elementType(), kept);
        }
        return value;
    }

    /** Headers whose counts and lengths claim far more than the file holds, and other classic corruptions. */
    static java.util.Map<String, byte[]> handMade() {
        java.util.Map<String, byte[]> out = new java.util.LinkedHashMap<>();
        out.put("tensor-count-2e40.gguf", header(3, 1L << 40, 0));
        out.put("kv-count-2e40.gguf", header(3, 0, 1L << 40));
        ByteBuffer b = le(64);
        b.put(header(3, 0, 1)).putLong(4).put("big.".getBytes(StandardCharsets.US_ASCII)).putInt(GgufValueType.ARRAY.ordinal())
                .putInt(GgufValueType.UINT8.ordinal()).putLong(1L << 40);
        out.put("array-length-2e40.gguf", java.util.Arrays.copyOf(b.array(), b.position()));
        b = le(64);
        b.put(header(3, 0, 1)).putLong(Long.MAX_VALUE);
        out.put("key-length-max.gguf", java.util.Arrays.copyOf(b.array(), b.position()));
        out.put("big-endian.gguf", ByteBuffer.allocate(24).order(ByteOrder.BIG_ENDIAN).put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(0).putLong(0).array());
        out.put("tensor-past-end.gguf", new GgufTestWriter().tensor("w", GgmlType.F32, new long[] {1L << 40, 1}, new byte[32]).toBytes());
        out.put("tensor-absurd-shape.gguf", new GgufTestWriter().tensor("w", GgmlType.Q4_0, new long[] {1L << 62, 1L << 62}, new byte[32]).toBytes());
        out.put("nested-arrays.gguf", new GgufTestWriter().kv("a", GgufValueType.ARRAY, new GgufTestWriter.Arr(GgufValueType.ARRAY,
                List.of(new GgufTestWriter.Arr(GgufValueType.STRING, List.of("x", "y")), new GgufTestWriter.Arr(GgufValueType.INT8, List.of(1L))))).toBytes());
        out.put("tokenizer-ids-outside.gguf", new GgufTestWriter().kv("tokenizer.ggml.model", GgufValueType.STRING, "gpt2")
                .kv("tokenizer.ggml.tokens", GgufValueType.ARRAY, new GgufTestWriter.Arr(GgufValueType.STRING, List.of("a", "b")))
                .kv("tokenizer.ggml.merges", GgufValueType.ARRAY, new GgufTestWriter.Arr(GgufValueType.STRING, List.of("a b")))
                .kv("tokenizer.ggml.bos_token_id", GgufValueType.UINT32, 7L).toBytes());
        return out;
    }

    private static byte[] header(int version, long tensors, long kvs) {
        return le(24).put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(version).putLong(tensors).putLong(kvs).array();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Small safetensors files made with prunelab's writer, and headers that claim more than the file holds. */
    public static void safetensors(Sink sink) throws IOException {
        Path dir = Files.createTempDirectory("safetensors-seeds");
        try {
            Path f = dir.resolve("a.safetensors");
            new SafetensorsWriter(SafetensorsDtype.BF16).add("model.norm.weight", new float[] {1, 2, 3, 4})
                    .add("lm_head.weight", new long[] {2, 3}, new float[] {1, -2, 3, -4, 5, -6})
                    .addRaw("ids", SafetensorsDtype.I64, new long[] {2}, new byte[16]).metadata("format", "pt").write(f);
            sink.accept("prunelab-writer-bf16.safetensors", Files.readAllBytes(f));
            Files.delete(f);
        } finally {
            Files.deleteIfExists(dir);
        }
        sink.accept("header-length-2e40.safetensors", le(8).putLong(1L << 40).array());
        String[] headers = {
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,4398046511104]}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                "{\"__metadata__\":{\"k\":1}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                "{\"p.bitmask\":{\"dtype\":\"U8\",\"shape\":[1,1],\"data_offsets\":[0,1]},\"p.shape\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[1,17]},"
                        + "\"p.compressed\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[17,21]}}"};
        for (int i = 0; i < headers.length; i++) {
            byte[] json = headers[i].getBytes(StandardCharsets.UTF_8);
            sink.accept("hand-" + i + ".safetensors", le(8 + json.length + 24).putLong(json.length).put(json).put(new byte[24]).array());
        }
    }

    /** A small GNU tar as npm packs it (a long name, a directory, a file), made with the system's tar. */
    public static byte[] tar() throws IOException {
        Path dir = Files.createTempDirectory("tar-seed");
        try {
            Path pkg = Files.createDirectories(dir.resolve("package/declaration"));
            Files.writeString(pkg.resolve("eng.html"), "<html lang=\"en\"><article data-number=\"1\"><p>All human beings</p></article></html>");
            Files.writeString(Files.createDirectories(dir.resolve("package/" + "x".repeat(120))).resolve("long.txt"), "long name");
            Path out = dir.resolve("p.tar");
            Process p = new ProcessBuilder("tar", "--format=gnu", "-cf", out.toString(), "-C", dir.toString(), "package")
                    .inheritIO().start();
            if (p.waitFor() != 0) throw new IOException("tar failed");
            return Files.readAllBytes(out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
    }
}
