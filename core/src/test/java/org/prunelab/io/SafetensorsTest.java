package org.prunelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Safetensors round-trips (single file, shards, F32/F16/BF16) and every malformed-input case. */
class SafetensorsTest {
    @TempDir
    Path dir;

    private static FloatMatrix random(int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return new FloatMatrix(rows, cols, d);
    }

    @Test
    void roundTripsF32WithMetadata() {
        FloatMatrix w = random(3, 5, 1);
        float[] norm = {1, -2, 0.5f};
        Path f = dir.resolve("m.safetensors");
        new SafetensorsWriter().add("w.weight", w).add("n.weight", norm).metadata("note", "tiny").write(f);

        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertThat(s.names()).containsExactly("w.weight", "n.weight");
            assertThat(s.metadata()).containsEntry("format", "pt").containsEntry("note", "tiny");
            assertThat(s.info("w.weight").shape()).containsExactly(3, 5);
            assertThat(s.info("w.weight").dtype()).isEqualTo(SafetensorsDtype.F32);
            assertThat(s.matrix("w.weight")).isEqualTo(w);
            assertThat(s.vector("n.weight")).containsExactly(norm);
        }
        assertThat(dir.toFile().list()).containsExactly("m.safetensors"); // no temp file left behind
        assertThat(f.toFile().canRead()).isTrue();
        try {
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-r--r--");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void headerIsPaddedSoDataIsEightByteAligned() throws IOException {
        Path f = dir.resolve("m.safetensors");
        new SafetensorsWriter().add("x", new float[] {1}).write(f);
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertThat(headerLen % 8).isZero();
        assertThat(Files.size(f)).isEqualTo(8 + headerLen + 4);
    }

    @Test
    void roundTripsHalfPrecisionWithRoundToNearestEven() {
        float[] values = {0f, -0f, 1f, -2.5f, 65504f, 1e-7f, 3.14159f, 1.00048828125f, 1.005859375f};
        Path f16 = dir.resolve("h.safetensors");
        Path bf16 = dir.resolve("b.safetensors");
        new SafetensorsWriter(SafetensorsDtype.F16).add("x", values).write(f16);
        new SafetensorsWriter(SafetensorsDtype.BF16).add("x", values).write(bf16);
        try (SafetensorsFile h = SafetensorsFile.open(f16); SafetensorsFile b = SafetensorsFile.open(bf16)) {
            float[] hv = h.vector("x");
            float[] bv = b.vector("x");
            for (int i = 0; i < values.length; i++) {
                assertThat(hv[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(values[i])));
                // bf16 keeps the top 16 bits of the fp32 pattern after rounding: 8 exponent, 7 mantissa bits
                float truncated = Float.intBitsToFloat(Float.floatToRawIntBits(values[i]) & 0xFFFF0000);
                assertThat(Math.abs(bv[i] - values[i])).isLessThanOrEqualTo(Math.abs(values[i]) / 256);
                assertThat(bv[i] == truncated || Math.abs(bv[i]) > Math.abs(truncated)).isTrue();
            }
            assertThat(h.info("x").dtype()).isEqualTo(SafetensorsDtype.F16);
            // exact halfway cases: 1 + 2^-11 rounds to even (1.0) in fp16; 1 + 2^-8 + 2^-9 rounds up in bf16
            assertThat(hv[7]).isEqualTo(1f);
            assertThat(bv[8]).isEqualTo(1.0078125f);
        }
    }

    @Test
    void writesAndReadsShardsWithIndex() throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        for (int i = 0; i < 5; i++) w.add("t" + i + ".weight", random(4, 8, i)); // 128 bytes each
        List<Path> written = w.writeSharded(dir, 300);

        assertThat(written).extracting(p -> p.getFileName().toString()).containsExactly(
                "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json");
        JsonNode index = new ObjectMapper().readTree(dir.resolve("model.safetensors.index.json").toFile());
        assertThat(index.at("/metadata/total_size").asLong()).isEqualTo(5 * 128);
        assertThat(index.at("/weight_map/t4.weight").asText()).isEqualTo("model-00003-of-00003.safetensors");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.filter(p -> p.toString().endsWith(".tmp"))).isEmpty();
        }

        try (SafetensorsTensorSource src = SafetensorsTensorSource.open(dir)) {
            assertThat(src.names()).hasSize(5);
            for (int i = 0; i < 5; i++) assertThat(src.matrix("t" + i + ".weight")).isEqualTo(random(4, 8, i));
        }
    }

    @Test
    void everythingInOneShardWritesASingleFile() {
        List<Path> written = new SafetensorsWriter().add("a", new float[] {1, 2}).writeSharded(dir, 1 << 20);
        assertThat(written).containsExactly(dir.resolve("model.safetensors"));
        assertThat(dir.resolve("model.safetensors.index.json")).doesNotExist();
    }

    @Test
    void replacesAnExistingFileWhole() throws IOException {
        Path f = dir.resolve("m.safetensors");
        Files.writeString(f, "old");
        new SafetensorsWriter().add("a", new float[] {7}).write(f);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertThat(s.vector("a")).containsExactly(7f);
        }
    }

    @Test
    void failedWriteLeavesNothingBehind() {
        Path target = dir.resolve("sub/m.safetensors");
        Path blocker = dir.resolve("sub");
        try {
            Files.writeString(blocker, "a file where the directory should be");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertThatThrownBy(() -> new SafetensorsWriter().add("a", new float[] {1}).write(target))
                .isInstanceOf(PrunelabException.class).hasMessageContaining("cannot write").hasMessageContaining("writable");
        assertThat(dir.toFile().list()).containsExactly("sub");
    }

    // ---- malformed input ----

    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return Files.write(dir.resolve("bad.safetensors"), b.array());
    }

    private static Throwable openFails(Path f) {
        Throwable t = catchThrowable(() -> SafetensorsFile.open(f).close());
        assertThat(t).isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining(f.toString());
        return t;
    }

    @Test
    void rejectsMissingAndTooShortFiles() throws IOException {
        assertThat(openFails(dir.resolve("none.safetensors"))).hasMessageContaining("does not exist");
        assertThat(openFails(Files.write(dir.resolve("s.safetensors"), new byte[5])))
                .hasMessageContaining("5 bytes, too short").hasMessageContaining("download it again");
    }

    @Test
    void rejectsHeaderLengthPastEndOfFile() throws IOException {
        byte[] b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array();
        Path f = Files.write(dir.resolve("h.safetensors"), b);
        assertThat(openFails(f)).hasMessageContaining("JSON header of 1000 bytes but the file is 16 bytes")
                .hasMessageContaining("truncated");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        Files.write(f, b);
        assertThat(openFails(f)).hasMessageContaining("18446744073709551615 bytes");
    }

    @Test
    void rejectsInvalidJsonAndDuplicateNames() throws IOException {
        assertThat(openFails(file("{\"a\": ", 0))).hasMessageContaining("not valid JSON");
        String dup = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertThat(openFails(file(dup, 8))).hasMessageContaining("duplicate tensor name").hasMessageContaining("'a'");
    }

    @Test
    void rejectsUnknownDtype() throws IOException {
        assertThat(openFails(file("{\"a\":{\"dtype\":\"F4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1)))
                .hasMessageContaining("tensor 'a' has unknown dtype \"F4\"").hasMessageContaining("Re-save");
    }

    @Test
    void rejectsSizeThatDisagreesWithShape() throws IOException {
        assertThat(openFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24)))
                .hasMessageContaining("tensor 'a' is 20 bytes by its data_offsets")
                .hasMessageContaining("[2, 3] and dtype F32 need 24 bytes");
    }

    @Test
    void rejectsTensorPastEndOfFile() throws IOException {
        assertThat(openFails(file("{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 6)))
                .hasMessageContaining("tensor 'a' ends at data offset 8, past the end of the file")
                .hasMessageContaining("truncated");
    }

    @Test
    void rejectsOverlapsAndBadOffsets() throws IOException {
        String overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertThat(openFails(file(overlap, 12))).hasMessageContaining("'a' and 'b' overlap");
        assertThat(openFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8)))
                .hasMessageContaining("not an increasing pair");
        assertThat(openFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8)))
                .hasMessageContaining("needs data_offsets");
    }

    @Test
    void unsupportedDtypeOpensButIsNotReadAsFloat() throws IOException {
        Path f = file("{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertThatThrownBy(() -> s.vector("ids")).isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining("dtype I64").hasMessageContaining("F32, F16 and BF16");
        }
    }

    @Test
    void missingTensorListsNearbyNames() {
        Path f = dir.resolve("m.safetensors");
        new SafetensorsWriter().add("model.norm.weight", new float[] {1}).add("lm_head.weight", random(2, 2, 0)).write(f);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertThatThrownBy(() -> s.matrix("model.embed_tokens.weight"))
                    .isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining("no tensor 'model.embed_tokens.weight'")
                    .hasMessageContaining("model.norm.weight");
        }
    }
}
