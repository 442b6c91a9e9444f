package org.prunelab.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.io.GgufTestWriter.Arr;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Round-trips of tiny generated GGUF files, and every malformed-input case the reader must reject. */
class GgufFileTest {
    @TempDir
    Path dir;

    private static final float[] MATRIX = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

    private static GgufTestWriter tiny() {
        return new GgufTestWriter()
                .kv("general.architecture", GgufValueType.STRING, "llama")
                .f32("a.weight", new long[] {4, 3}, MATRIX)
                .f32("b.weight", new long[] {4}, new float[] {0.5f, -1, 2, 3});
    }

    @Test
    void readsMetadataOfEveryValueType() throws IOException {
        Path f = new GgufTestWriter()
                .kv("u8", GgufValueType.UINT8, 250L)
                .kv("i8", GgufValueType.INT8, -5L)
                .kv("u16", GgufValueType.UINT16, 65000L)
                .kv("i16", GgufValueType.INT16, -30000L)
                .kv("u32", GgufValueType.UINT32, 4_000_000_000L)
                .kv("i32", GgufValueType.INT32, -2_000_000_000L)
                .kv("u64", GgufValueType.UINT64, 1L << 40)
                .kv("i64", GgufValueType.INT64, -(1L << 40))
                .kv("f32", GgufValueType.FLOAT32, 1.5f)
                .kv("f64", GgufValueType.FLOAT64, 2.25)
                .kv("flag", GgufValueType.BOOL, true)
                .kv("name", GgufValueType.STRING, "smöl")
                .kv("tokens", GgufValueType.ARRAY, new Arr(GgufValueType.STRING, List.of("a", "bb", "")))
                .kv("ids", GgufValueType.ARRAY, new Arr(GgufValueType.INT32, List.of(1L, -2L, 3L)))
                .kv("scores", GgufValueType.ARRAY, new Arr(GgufValueType.FLOAT32, List.of(0.25f, -1f)))
                .kv("nested", GgufValueType.ARRAY, new Arr(GgufValueType.ARRAY, List.of(
                        new Arr(GgufValueType.UINT8, List.of(1L, 2L)), new Arr(GgufValueType.UINT8, List.of()))))
                .write(dir.resolve("m.gguf"));

        try (GgufFile g = GgufFile.open(f)) {
            GgufMetadata md = g.metadata();
            assertThat(md.keys()).startsWith("u8", "i8", "u16");
            assertThat(md.getInt("u8")).isEqualTo(250);
            assertThat(md.getInt("i8")).isEqualTo(-5);
            assertThat(md.getInt("u16")).isEqualTo(65000);
            assertThat(md.getInt("i16")).isEqualTo(-30000);
            assertThat(md.getLong("u32")).isEqualTo(4_000_000_000L);
            assertThat(md.getInt("i32")).isEqualTo(-2_000_000_000);
            assertThat(md.getLong("u64")).isEqualTo(1L << 40);
            assertThat(md.getLong("i64")).isEqualTo(-(1L << 40));
            assertThat(md.getFloat("f32")).isEqualTo(1.5f);
            assertThat(md.getDouble("f64")).isEqualTo(2.25);
            assertThat(md.getBool("flag")).isTrue();
            assertThat(md.getString("name")).isEqualTo("smöl");
            assertThat(md.getStringArray("tokens")).containsExactly("a", "bb", "");
            assertThat(md.getIntArray("ids")).containsExactly(1, -2, 3);
            assertThat(md.getFloatArray("scores")).containsExactly(0.25f, -1f);
            assertThat(md.arrayLength("tokens")).isEqualTo(3);
            GgufMetadata.GgufArray nested = md.getArray("nested");
            assertThat(nested.elementType()).isEqualTo(GgufValueType.ARRAY);
            assertThat(((GgufMetadata.GgufArray) nested.values().get(0)).values()).containsExactly(1L, 2L);
            assertThat(md.type("u16")).isEqualTo(GgufValueType.UINT16);
            assertThat(md.getInt("absent", 7)).isEqualTo(7);
            assertThat(g.alignment()).isEqualTo(32);
            assertThat(g.tensors()).isEmpty();
        }
    }

    @Test
    void typedGettersNameTheKeyWhenMissingOrMistyped() throws IOException {
        Path f = tiny().kv("llama.block_count", GgufValueType.UINT32, 2L).kv("big", GgufValueType.UINT32, 4_000_000_000L)
                .write(dir.resolve("m.gguf"));
        try (GgufFile g = GgufFile.open(f)) {
            GgufMetadata md = g.metadata();
            assertThatThrownBy(() -> md.getInt("llama.context_length"))
                    .isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining(f.toString())
                    .hasMessageContaining("no metadata key 'llama.context_length'")
                    .hasMessageContaining("llama.block_count")
                    .hasMessageContaining("re-convert");
            assertThatThrownBy(() -> md.getString("llama.block_count"))
                    .isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining("'llama.block_count' should be STRING but is UINT32");
            assertThatThrownBy(() -> md.getInt("big"))
                    .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("32-bit int");
            assertThatThrownBy(() -> md.getStringArray("general.architecture"))
                    .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("should be ARRAY");
        }
    }

    @Test
    void roundTripsTensorsInGgufShapeOrder() throws IOException {
        try (GgufFile g = GgufFile.open(tiny().write(dir.resolve("m.gguf")))) {
            assertThat(g.version()).isEqualTo(3);
            assertThat(g.tensors()).extracting(GgufTensorInfo::name).containsExactly("a.weight", "b.weight");
            GgufTensorInfo a = g.tensor("a.weight");
            assertThat(a.shape()).containsExactly(4, 3);
            assertThat(a.type()).isEqualTo(GgmlType.F32);
            assertThat(a.byteSize()).isEqualTo(48);
            assertThat(g.dataOffset() % 32).isZero();
            assertThat(g.data(a).byteSize()).isEqualTo(48);

            FloatMatrix m = g.matrix("a.weight");
            assertThat(m.rows()).isEqualTo(3); // ne[1]
            assertThat(m.cols()).isEqualTo(4); // ne[0]
            assertThat(m.get(1, 0)).isEqualTo(5f);
            assertThat(m.data()).containsExactly(MATRIX);
            assertThat(g.vector("b.weight")).containsExactly(0.5f, -1, 2, 3);
            assertThatThrownBy(() -> g.vector("a.weight"))
                    .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("2 dimensions where 1");
        }
    }

    @Test
    void readsVersion2AndCustomAlignment() throws IOException {
        Path f = tiny().version(2).alignment(64).write(dir.resolve("m.gguf"));
        try (GgufFile g = GgufFile.open(f)) {
            assertThat(g.version()).isEqualTo(2);
            assertThat(g.alignment()).isEqualTo(64);
            assertThat(g.dataOffset() % 64).isZero();
            assertThat(g.tensor("b.weight").dataOffset()).isEqualTo(64);
            assertThat(g.vector("b.weight")).containsExactly(0.5f, -1, 2, 3);
        }
    }

    @Test
    void dequantisesQuantisedTensorsFromTheFile() throws IOException {
        var c = GgufFixtures.load("dequant.json").get("cases");
        for (var node : c) {
            if (!node.get("type").asText().equals("Q4_1")) continue;
            byte[] raw = GgufFixtures.bytes(node.get("raw_b64"));
            float[] expected = GgufFixtures.floats(node.get("values_f32le_b64"));
            Path f = new GgufTestWriter().tensor("q.weight", GgmlType.Q4_1, new long[] {64, 4}, raw).write(dir.resolve("q.gguf"));
            try (GgufFile g = GgufFile.open(f)) {
                FloatMatrix m = g.matrix("q.weight");
                assertThat(m.rows()).isEqualTo(4);
                assertThat(m.data()).containsExactly(expected);
            }
        }
    }

    @Test
    void missingTensorListsNearbyNames() throws IOException {
        try (GgufFile g = GgufFile.open(tiny().write(dir.resolve("m.gguf")))) {
            assertThatThrownBy(() -> g.tensor("a.bias"))
                    .isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining("no tensor 'a.bias'")
                    .hasMessageContaining("a.weight");
        }
    }

    @Test
    void closeUnmapsSlices() throws IOException {
        GgufFile g = GgufFile.open(tiny().write(dir.resolve("m.gguf")));
        var slice = g.data(g.tensor("a.weight"));
        g.close();
        g.close();
        assertThatThrownBy(() -> slice.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    // ---- malformed input ----

    private PrunelabException.ModelFormat openFails(byte[] bytes) throws IOException {
        Path f = Files.write(dir.resolve("bad.gguf"), bytes);
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> GgufFile.open(f).close());
        assertThat(t).isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining(f.toString());
        return (PrunelabException.ModelFormat) t;
    }

    @Test
    void rejectsMissingFile() {
        assertThatThrownBy(() -> GgufFile.open(dir.resolve("nope.gguf")))
                .isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("nope.gguf").hasMessageContaining("does not exist");
    }

    @Test
    void rejectsEmptyAndTooShortFiles() throws IOException {
        assertThat(openFails(new byte[0])).hasMessageContaining("0 bytes, too short").hasMessageContaining("download it again");
        assertThat(openFails(new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0}))
                .hasMessageContaining("shorter than the 24-byte GGUF header").hasMessageContaining("truncated");
    }

    @Test
    void rejectsBadMagic() throws IOException {
        byte[] safetensorsLike = {0x10, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' ', 0, 0, 0, 0, 0, 0, 0, 0};
        assertThat(openFails(safetensorsLike)).hasMessageContaining("is not a GGUF file")
                .hasMessageContaining("bytes 10 00 00 00").hasMessageContaining("Pass a .gguf model file");
    }

    @Test
    void rejectsUnsupportedVersions() throws IOException {
        assertThat(openFails(tiny().version(1).toBytes())).hasMessageContaining("version 1")
                .hasMessageContaining("versions 2 and 3").hasMessageContaining("Re-convert");
        assertThat(openFails(tiny().version(4).toBytes())).hasMessageContaining("version 4");
        assertThat(openFails(tiny().version(3 << 24).toBytes())).hasMessageContaining("big-endian");
    }

    @Test
    void rejectsUnknownTensorType() throws IOException {
        byte[] b = new GgufTestWriter().tensor("x.weight", 31, new long[] {4}, new byte[16]).toBytes();
        assertThat(openFails(b)).hasMessageContaining("tensor 'x.weight' has unknown ggml type id 31")
                .hasMessageContaining("re-convert");
    }

    @Test
    void rejectsTensorWhoseSizeDisagreesWithItsShape() throws IOException {
        // a.weight claims 4x3 F32 (48 bytes) but only 16 bytes are laid out for it, so b.weight starts too early.
        byte[] b = new GgufTestWriter()
                .f32("a.weight", new long[] {4, 3}, new float[] {1, 2, 3, 4})
                .f32("b.weight", new long[] {4}, new float[] {1, 2, 3, 4})
                .toBytes();
        assertThat(openFails(b)).hasMessageContaining("tensor 'b.weight' starts at data offset 32")
                .hasMessageContaining("end at 64").hasMessageContaining("a.weight")
                .hasMessageContaining("byte size disagrees with its shape and type");
    }

    @Test
    void rejectsRowsThatAreNotWholeBlocks() throws IOException {
        byte[] b = new GgufTestWriter().tensor("q.weight", GgmlType.Q8_0, new long[] {48, 2}, new byte[102]).toBytes();
        assertThat(openFails(b)).hasMessageContaining("ne[0] = 48").hasMessageContaining("Q8_0 block size 32");
    }

    @Test
    void rejectsTensorPastEndOfFile() throws IOException {
        byte[] full = tiny().toBytes();
        byte[] cut = Arrays.copyOf(full, full.length - 20);
        assertThat(openFails(cut)).hasMessageContaining("b.weight").hasMessageContaining("past the end of the file")
                .hasMessageContaining("truncated");
        // the last tensor declares more than is there
        byte[] b = new GgufTestWriter().f32("a.weight", new long[] {64}, new float[] {1, 2}).toBytes();
        assertThat(openFails(b)).hasMessageContaining("a.weight").hasMessageContaining("needs 256 bytes")
                .hasMessageContaining("past the end of the file");
    }

    @Test
    void rejectsTruncatedHeader() throws IOException {
        byte[] full = tiny().toBytes();
        // cut inside the value of general.architecture (its length field is at 56..64)
        assertThat(openFails(Arrays.copyOf(full, 60))).hasMessageContaining("truncated")
                .hasMessageContaining("reading length of value of 'general.architecture' at offset 56").hasMessageContaining("Download it again");
    }

    @Test
    void rejectsAbsurdStringLength() throws IOException {
        byte[] b = tiny().toBytes();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 40); // length of the first key
        assertThat(openFails(b)).hasMessageContaining("metadata key #0 at offset 24")
                .hasMessageContaining("string of 1099511627776 bytes, past the end of the file");
    }

    @Test
    void rejectsAbsurdCounts() throws IOException {
        byte[] b = tiny().toBytes();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(8, 1L << 50); // tensor count
        assertThat(openFails(b)).hasMessageContaining("declares 1125899906842624 tensor infos");

        byte[] arr = new GgufTestWriter().kv("toks", GgufValueType.ARRAY, new Arr(GgufValueType.STRING, List.of("a"))).toBytes();
        int countAt = 24 + 8 + 4 + 4 + 4; // key length, "toks", value type, element type
        ByteBuffer.wrap(arr).order(ByteOrder.LITTLE_ENDIAN).putLong(countAt, 1L << 33);
        assertThat(openFails(arr)).hasMessageContaining("8589934592 elements in value of 'toks'");
    }

    @Test
    void rejectsDuplicateTensorNamesAndKeys() throws IOException {
        byte[] b = new GgufTestWriter()
                .f32("a.weight", new long[] {4}, new float[] {1, 2, 3, 4})
                .f32("a.weight", new long[] {4}, new float[] {1, 2, 3, 4})
                .toBytes();
        assertThat(openFails(b)).hasMessageContaining("two tensors named 'a.weight'");
        byte[] k = new GgufTestWriter().kv("x", GgufValueType.UINT8, 1L).kv("x", GgufValueType.UINT8, 2L).toBytes();
        assertThat(openFails(k)).hasMessageContaining("metadata key 'x' appears twice");
    }

    @Test
    void rejectsBadValueTypeAndAlignment() throws IOException {
        byte[] b = new GgufTestWriter().kv("x", GgufValueType.UINT8, 1L).toBytes();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(24 + 8 + 1, 99);
        assertThat(openFails(b)).hasMessageContaining("value type of 'x'").hasMessageContaining("99");
        assertThat(openFails(tiny().kv("general.alignment", GgufValueType.UINT32, 24L).toBytes()))
                .hasMessageContaining("general.alignment is 24").hasMessageContaining("power of two");
    }

    @Test
    void unsupportedQuantTypeOpensButDoesNotDequantise() throws IOException {
        Path f = new GgufTestWriter().tensor("k.weight", GgmlType.Q3_K, new long[] {256}, new byte[110]).write(dir.resolve("m.gguf"));
        try (GgufFile g = GgufFile.open(f)) {
            assertThat(g.tensor("k.weight").type()).isEqualTo(GgmlType.Q3_K);
            assertThatThrownBy(() -> g.vector("k.weight"))
                    .isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining("type Q3_K, which prunelab cannot dequantise")
                    .hasMessageContaining("Use a GGUF");
        }
    }
}
