package org.prunelab.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

/**
 * compressed-tensors' sparse-bitmask format: prunelab's writer round-trips through its reader, and the reader reads
 * what the library itself wrote (fixtures/compressed_tensors, made by tools/reference/compressed_tensors_check.py
 * with compressed-tensors 0.14.0.1; the same script checks prunelab-written folders with the library).
 */
class SparseBitmaskTest {
    @TempDir
    Path dir;

    private static final String DOWN = "model.layers.0.mlp.down_proj.weight";
    private static final String Q = "model.layers.0.self_attn.q_proj.weight";

    /** Each entry zero with probability p, else uniform in [-1, 1); row 1 all zero. */
    private static FloatMatrix sparse(int rows, int cols, double p, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = rnd.nextDouble() < p || i / cols == 1 ? 0f : (float) (2 * rnd.nextDouble() - 1);
        return new FloatMatrix(rows, cols, d);
    }

    /** Two nonzeros in every group of 4 columns. */
    private static FloatMatrix twoFour(int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int g = 0; g < d.length; g += 4) {
            int a = rnd.nextInt(4);
            int b = (a + 1 + rnd.nextInt(3)) % 4;
            d[g + a] = (float) (2 * rnd.nextDouble() - 1);
            d[g + b] = (float) (2 * rnd.nextDouble() - 1);
        }
        return new FloatMatrix(rows, cols, d);
    }

    private void writeCheckpoint(SafetensorsDtype dtype, FloatMatrix down, FloatMatrix q) throws IOException {
        new SafetensorsWriter(dtype)
                .add("model.embed_tokens.weight", sparse(10, 4, 0.0, 1))
                .add(DOWN, down)
                .add(Q, q)
                .add("model.norm.weight", new float[] {1f, 2f, 3f, 4f})
                .write(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 4}");
    }

    @Test
    void writtenWeightsReadBackExactlyAndSmaller() throws IOException {
        FloatMatrix down = sparse(9, 13, 0.5, 2); // 13 columns: 2 mask bytes per row; row 1 empty
        FloatMatrix q = twoFour(8, 64, 3);
        writeCheckpoint(SafetensorsDtype.F32, down, q);
        long before = Files.size(dir.resolve("model.safetensors"));

        SparseBitmaskWriter.Result result = SparseBitmaskWriter.compress(dir, Set.of(DOWN, Q));

        assertThat(result.weights()).isEqualTo(2);
        assertThat(result.bytesBefore()).isEqualTo(before);
        assertThat(result.bytesAfter()).isEqualTo(Files.size(dir.resolve("model.safetensors"))).isLessThan(before);
        assertThat(result.structure()).isEqualTo("unstructured");
        try (SafetensorsTensorSource source = SafetensorsTensorSource.open(dir)) {
            assertThat(source.names()).containsExactlyInAnyOrder("model.embed_tokens.weight", DOWN, Q, "model.norm.weight");
            assertThat(source.isSparseBitmask(DOWN)).isTrue();
            assertThat(source.isSparseBitmask("model.embed_tokens.weight")).isFalse();
            assertThat(source.matrix(DOWN).data()).isEqualTo(down.data());
            assertThat(source.matrix(Q).data()).isEqualTo(q.data());
            assertThat(source.shape(DOWN)).contains(new long[] {9, 13});
            assertThat(source.vector("model.norm.weight")).containsExactly(1f, 2f, 3f, 4f);
            assertThat(source.matrix("model.embed_tokens.weight").data()).isEqualTo(sparse(10, 4, 0.0, 1).data());
        }
        try (SafetensorsFile raw = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(raw.info("model.layers.0.mlp.down_proj.bitmask").dtype()).isEqualTo(SafetensorsDtype.U8);
            assertThat(raw.info("model.layers.0.mlp.down_proj.bitmask").shape()).containsExactly(9, 2);
            assertThat(raw.info("model.layers.0.mlp.down_proj.shape").dtype()).isEqualTo(SafetensorsDtype.I64);
            assertThat(raw.info("model.layers.0.mlp.down_proj.row_offsets").shape()).containsExactly(9);
            assertThat(raw.info("model.layers.0.self_attn.q_proj.compressed").shape()).containsExactly(8 * 32);
        }
        JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        assertThat(config.path("hidden_size").asInt()).isEqualTo(4);
        JsonNode qc = config.path("quantization_config");
        assertThat(qc.path("quant_method").asText()).isEqualTo("compressed-tensors");
        assertThat(qc.path("version").asText()).isEqualTo("0.14.0.1");
        JsonNode sc = qc.path("sparsity_config");
        assertThat(sc.path("format").asText()).isEqualTo("sparse-bitmask");
        assertThat(sc.path("targets").toString()).isEqualTo("[\"Linear\"]");
        assertThat(sc.path("ignore").toString()).isEqualTo("[\"model.embed_tokens\"]");
        long zeros = down.countZeros() + q.countZeros();
        assertThat(sc.path("global_sparsity").asDouble()).isEqualTo((double) zeros / (down.size() + q.size()));
    }

    @Test
    void keepsHalfPrecisionValuesAsTheyAreAndDetectsTwoFour() throws IOException {
        FloatMatrix q = twoFour(8, 64, 4);
        FloatMatrix down = twoFour(4, 12, 5);
        writeCheckpoint(SafetensorsDtype.BF16, down, q);
        FloatMatrix qBf16;
        try (SafetensorsTensorSource dense = SafetensorsTensorSource.open(dir)) {
            qBf16 = dense.matrix(Q);
        }
        SparseBitmaskWriter.Result result = SparseBitmaskWriter.compress(dir, Set.of(DOWN, Q));
        assertThat(result.structure()).isEqualTo("2:4");
        assertThat(result.globalSparsity()).isEqualTo(0.5);
        try (SafetensorsTensorSource source = SafetensorsTensorSource.open(dir)) {
            assertThat(source.matrix(Q).data()).isEqualTo(qBf16.data());
        }
        try (SafetensorsFile raw = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(raw.info("model.layers.0.self_attn.q_proj.compressed").dtype()).isEqualTo(SafetensorsDtype.BF16);
            assertThat(raw.info("model.norm.weight").dtype()).isEqualTo(SafetensorsDtype.BF16);
        }
    }

    @Test
    void readsWhatTheCompressedTensorsLibraryWrote() throws IOException, URISyntaxException {
        Path fixture = Path.of(SparseBitmaskTest.class.getResource("/fixtures/compressed_tensors/config.json").toURI()).getParent();
        try (SafetensorsTensorSource source = SafetensorsTensorSource.open(fixture);
             SafetensorsFile expected = SafetensorsFile.open(fixture.resolve("expected.safetensors"))) {
            assertThat(source.names()).containsExactlyInAnyOrder(DOWN, Q, "model.norm.weight");
            assertThat(source.isSparseBitmask(DOWN)).isTrue();
            assertThat(source.isSparseBitmask(Q)).isTrue();
            for (String name : new String[] {DOWN, Q}) {
                FloatMatrix want = expected.matrix(name);
                FloatMatrix got = source.matrix(name);
                assertThat(got.rows()).isEqualTo(want.rows());
                assertThat(got.cols()).isEqualTo(want.cols());
                assertThat(got.data()).as(name).isEqualTo(want.data());
                assertThat(source.shape(name)).contains(new long[] {want.rows(), want.cols()});
            }
            assertThat(source.matrix(DOWN).countZeros()).isGreaterThan(13); // the all-zero row and more
            assertThat(source.vector("model.norm.weight")).isEqualTo(expected.vector("model.norm.weight"));
        }
    }

    @Test
    void refusesMissingNamesRequantisingAndMalformedParts() throws IOException {
        writeCheckpoint(SafetensorsDtype.F32, sparse(3, 8, 0.5, 6), twoFour(4, 8, 7));
        assertThatThrownBy(() -> SparseBitmaskWriter.compress(dir, Set.of("model.layers.0.mlp.up_proj.weight")))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("up_proj")
                .hasMessageContaining("no such tensors");
        assertThatThrownBy(() -> SparseBitmaskWriter.compress(dir, Set.of("model.norm.weight")))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("only 2-D");
        SparseBitmaskWriter.compress(dir, Set.of(DOWN));
        assertThatThrownBy(() -> SparseBitmaskWriter.compress(dir, Set.of(Q)))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("already has a quantization_config");

        // a bitmask that marks more entries than there are values
        Path bad = dir.resolve("bad");
        Files.createDirectories(bad);
        new SafetensorsWriter()
                .addRaw("w.shape", SafetensorsDtype.I64, new long[] {2}, new byte[] {2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0})
                .addRaw("w.bitmask", SafetensorsDtype.U8, new long[] {2, 1}, new byte[] {7, 1})
                .add("w.compressed", new float[] {1f, 2f})
                .write(bad.resolve("model.safetensors"));
        try (SafetensorsTensorSource source = SafetensorsTensorSource.open(bad)) {
            assertThat(source.names()).containsExactly("w.weight");
            assertThatThrownBy(() -> source.matrix("w.weight"))
                    .isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining("marks 4 nonzeros but it stores 2 values");
        }
    }
}
