package org.prunelab.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link GgufWriter}: every value type and tensor layout round-trips through {@link GgufFile}; writes are atomic. */
class GgufWriterTest {
    @TempDir
    Path dir;

    @Test
    void everyMetadataValueTypeRoundTrips() {
        GgufWriter w = new GgufWriter()
                .put("u8", GgufValueType.UINT8, 255L)
                .put("i8", GgufValueType.INT8, -128L)
                .put("u16", GgufValueType.UINT16, 65535L)
                .put("i16", GgufValueType.INT16, -32768L)
                .putUint32("u32", 4_294_967_295L)
                .putInt32("i32", Integer.MIN_VALUE)
                .put("u64", GgufValueType.UINT64, Long.MAX_VALUE)
                .put("i64", GgufValueType.INT64, Long.MIN_VALUE)
                .putFloat32("f32", 9.999999747378752e-06f)
                .put("f64", GgufValueType.FLOAT64, Math.PI)
                .putBool("yes", true)
                .putBool("no", false)
                .putString("text", "ünïcødé {{ template }}\n")
                .putArray("strings", GgufValueType.STRING, List.of("a", "", "Ġthe"))
                .putArray("ints", GgufValueType.INT32, List.of(1L, -2L, 3L))
                .putArray("floats", GgufValueType.FLOAT32, List.of(0.5f, -1.25f))
                .putArray("bools", GgufValueType.BOOL, List.of(true, false, true))
                .putArray("empty", GgufValueType.UINT32, List.of())
                .put("nested", GgufValueType.ARRAY, new GgufMetadata.GgufArray(GgufValueType.ARRAY, List.of(
                        new GgufMetadata.GgufArray(GgufValueType.UINT8, List.of(1L, 2L)),
                        new GgufMetadata.GgufArray(GgufValueType.UINT8, List.of()))));
        Path f = dir.resolve("kv.gguf");
        w.write(f);
        try (GgufFile g = GgufFile.open(f)) {
            assertThat(g.version()).isEqualTo(3);
            assertThat(g.tensors()).isEmpty();
            assertThat(List.copyOf(g.metadata().keys())).containsExactlyElementsOf(w.metadata().keySet());
            for (String k : w.metadata().keySet()) {
                assertThat(g.metadata().entry(k)).as(k).isEqualTo(w.metadata().get(k));
            }
            assertThat(g.metadata().getLong("u64")).isEqualTo(Long.MAX_VALUE);
            assertThat(g.metadata().getStringArray("strings")).containsExactly("a", "", "Ġthe");
        }
    }

    @Test
    void tensorsAreAlignedAndReadBackBitForBit() throws IOException {
        float[] vec = {1f, -2f, 3.5f};                         // 12 bytes: the next tensor needs padding
        float[] mat = new float[2 * 32];
        for (int i = 0; i < mat.length; i++) mat[i] = i * 0.25f - 3f;
        byte[] q8 = new byte[2 * 34];                           // two Q8_0 blocks: scale 1.0 (fp16 0x3C00), quants i
        for (int b = 0; b < 2; b++) {
            q8[b * 34] = 0x00;
            q8[b * 34 + 1] = 0x3C;
            for (int j = 0; j < 32; j++) q8[b * 34 + 2 + j] = (byte) (j - 16);
        }
        Path f = dir.resolve("t.gguf");
        long size = new GgufWriter()
                .putString("general.architecture", "test")
                .tensor("v", GgmlType.F32, new long[]{3}, GgufWriter.TensorBytes.f32(vec))
                .tensor("m16", GgmlType.F16, new long[]{32, 2}, GgufWriter.TensorBytes.f16(mat))
                .tensor("q", GgmlType.Q8_0, new long[]{64}, GgufWriter.TensorBytes.of(q8))
                .tensor("m", GgmlType.F32, new long[]{32, 2}, GgufWriter.TensorBytes.f32(mat))
                .write(f);
        assertThat(size).isEqualTo(Files.size(f));
        try (GgufFile g = GgufFile.open(f)) {
            assertThat(g.alignment()).isEqualTo(32);
            assertThat(g.dataOffset() % 32).isZero();
            for (GgufTensorInfo t : g.tensors()) assertThat(t.dataOffset() % 32).as(t.name()).isZero();
            assertThat(g.vector("v")).containsExactly(vec);
            assertThat(g.matrix("m").data()).containsExactly(mat);
            float[] halves = g.matrix("m16").data();
            for (int i = 0; i < mat.length; i++) assertThat(halves[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(mat[i])));
            assertThat(g.data(g.tensor("q")).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).containsExactly(q8);
            assertThat(g.vector("q")[0]).isEqualTo(-16f);
            // every tensor is padded, the last one too, as ggml's writer does
            assertThat((Files.size(f) - g.dataOffset()) % 32).isZero();
        }
    }

    @Test
    void generalAlignmentIsHonoured() {
        Path f = dir.resolve("a.gguf");
        new GgufWriter().putUint32("general.alignment", 64)
                .tensor("a", GgmlType.F32, new long[]{1}, GgufWriter.TensorBytes.f32(new float[]{1}))
                .tensor("b", GgmlType.F32, new long[]{1}, GgufWriter.TensorBytes.f32(new float[]{2}))
                .write(f);
        try (GgufFile g = GgufFile.open(f)) {
            assertThat(g.alignment()).isEqualTo(64);
            assertThat(g.dataOffset() % 64).isZero();
            assertThat(g.tensor("b").dataOffset()).isEqualTo(64);
            assertThat(g.vector("b")).containsExactly(2f);
        }
    }

    @Test
    void littleEndianFloat16RoundsToNearestEven() throws IOException {
        // 1 + 2^-11 lies halfway between two fp16 values: ties go to the even one (1.0); 65520 overflows to infinity.
        float[] v = {1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 65520f, -0f};
        var sink = new java.io.ByteArrayOutputStream();
        GgufWriter.TensorBytes.f16(v).writeTo(java.nio.channels.Channels.newChannel(sink));
        ByteBuffer b = ByteBuffer.wrap(sink.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getShort(0)).isEqualTo((short) 0x3C00);
        assertThat(b.getShort(2)).isEqualTo((short) 0x3C02);
        assertThat(b.getShort(4)).isEqualTo((short) 0x7C00);
        assertThat(b.getShort(6)).isEqualTo((short) 0x8000);
    }

    @Test
    void valuesThatDoNotFitTheirTypeAreRefused() {
        GgufWriter w = new GgufWriter();
        assertThatThrownBy(() -> w.putUint32("k", -1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("UINT32");
        assertThatThrownBy(() -> w.put("k", GgufValueType.INT8, 200L)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.put("k", GgufValueType.FLOAT32, 1.0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Float");
        assertThatThrownBy(() -> w.putArray("k", GgufValueType.STRING, List.of("a", 1L)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k[1]");
        assertThatThrownBy(() -> w.put("", GgufValueType.BOOL, true)).isInstanceOf(IllegalArgumentException.class);
        assertThat(w.metadata()).isEmpty();
    }

    @Test
    void badTensorsAreRefused() {
        GgufWriter w = new GgufWriter().tensor("a", GgmlType.F32, new long[]{2}, GgufWriter.TensorBytes.f32(new float[2]));
        assertThatThrownBy(() -> w.tensor("a", GgmlType.F32, new long[]{2}, GgufWriter.TensorBytes.f32(new float[2])))
                .hasMessageContaining("already added");
        assertThatThrownBy(() -> w.tensor("q", GgmlType.Q8_0, new long[]{48, 2}, GgufWriter.TensorBytes.of(new byte[0])))
                .hasMessageContaining("not a multiple").hasMessageContaining("32");
        assertThatThrownBy(() -> w.tensor("z", GgmlType.F32, new long[]{1, 1, 1, 1, 1}, GgufWriter.TensorBytes.of(new byte[4])))
                .hasMessageContaining("1 to 4");
    }

    @Test
    void aFailingWriteLeavesNothingBehind() throws IOException {
        Path f = dir.resolve("fail.gguf");
        GgufWriter w = new GgufWriter().tensor("a", GgmlType.F32, new long[]{4}, out -> { throw new IOException("disk full"); });
        assertThatThrownBy(() -> w.write(f)).hasMessageContaining("disk full").hasMessageContaining("fail.gguf");
        GgufWriter shortData = new GgufWriter().tensor("a", GgmlType.F32, new long[]{4}, GgufWriter.TensorBytes.f32(new float[3]));
        assertThatThrownBy(() -> shortData.write(f)).isInstanceOf(IllegalStateException.class).hasMessageContaining("12 bytes");
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void aReadFileWrittenBackIsByteIdentical() throws IOException {
        Path first = dir.resolve("1.gguf");
        new GgufWriter().putString("general.architecture", "x").putArray("l", GgufValueType.FLOAT32, List.of(1f))
                .tensor("t", GgmlType.F16, new long[]{3}, GgufWriter.TensorBytes.f16(new float[]{1, 2, 3})).write(first);
        Path second = dir.resolve("2.gguf");
        try (GgufFile g = GgufFile.open(first)) {
            GgufWriter w = new GgufWriter().copyFrom(g.metadata(), k -> true);
            for (GgufTensorInfo t : g.tensors()) w.tensor(t.name(), t.type(), t.shape(), GgufWriter.TensorBytes.of(g.data(t)));
            w.write(second);
        }
        assertThat(Files.readAllBytes(second)).isEqualTo(Files.readAllBytes(first));
    }
}
