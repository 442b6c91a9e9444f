package org.prunelab.arch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.Progress;
import org.prunelab.TestModels;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.GgmlDequant;
import org.prunelab.io.GgmlType;
import org.prunelab.io.GgufFile;
import org.prunelab.io.GgufMetadata;
import org.prunelab.io.GgufTensorInfo;
import org.prunelab.io.GgufValueType;
import org.prunelab.model.LoadedModel;
import org.prunelab.tensor.quant.QuantType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real models through {@link GgufExporter}: loaded from the GGUF files setup fetched (SmolLM2-135M Q4_1, Gemma 3
 * 270M Q4_K_M), written back as F32, the files must hold the source's metadata key for key (type and value; only
 * {@code general.file_type} says F32 now) and the same tensors with exactly the source's dequantised values, in
 * llama.cpp's layout (Llama's q/k rows back in llama.cpp's RoPE order, Gemma's norms as stored). SmolLM2 also as Q8_0:
 * every 2-D tensor's blocks are ggml's reference quantisation of those values.
 */
class GgufExportRealModelTest {
    @TempDir
    Path dir;

    @Test
    void smollm2F32ReproducesTheSourceMetadataAndDequantisedValues() {
        Path src = TestModels.smollm2Gguf();
        Path out = dir.resolve("smollm2-f32.gguf");
        export(src, out, GgmlType.F32);
        assertSameFile(src, out, GgmlType.F32);
    }

    @Test
    void gemma3F32ReproducesTheSourceMetadataAndDequantisedValues() {
        Path src = TestModels.gemma3Gguf();
        Path out = dir.resolve("gemma3-f32.gguf");
        export(src, out, GgmlType.F32);
        assertSameFile(src, out, GgmlType.F32);
    }

    @Test
    void smollm2Q8_0BlocksAreTheReferenceQuantisationOfTheSourceValues() {
        Path src = TestModels.smollm2Gguf();
        Path out = dir.resolve("smollm2-q8_0.gguf");
        export(src, out, GgmlType.Q8_0);
        assertSameFile(src, out, GgmlType.Q8_0);
    }

    private static void export(Path src, Path out, GgmlType type) {
        GgufMetadata md = GgufExporter.sourceMetadata(src);
        try (LoadedModel m = ModelLoader.load(src.toString(), new PrunelabHome(TestModels.home()))) {
            GgufExporter.Result r = GgufExporter.write(out, m.model(), md, type, Progress.NONE);
            assertThat(r.warnings()).isEmpty();
        }
    }

    private static void assertSameFile(Path src, Path out, GgmlType type) {
        try (GgufFile a = GgufFile.open(src); GgufFile b = GgufFile.open(out)) {
            List<String> keys = List.copyOf(a.metadata().keys());
            assertThat(List.copyOf(b.metadata().keys())).containsExactlyElementsOf(keys);
            for (String k : keys) {
                if (k.equals("general.file_type")) {
                    assertThat(b.metadata().entry(k)).isEqualTo(new GgufMetadata.Entry(GgufValueType.UINT32,
                            GgufExporter.fileType(type)));
                } else {
                    assertThat(b.metadata().entry(k)).as(k).isEqualTo(a.metadata().entry(k));
                }
            }
            assertThat(b.tensors()).hasSameSizeAs(a.tensors());
            for (GgufTensorInfo ta : a.tensors()) {
                GgufTensorInfo tb = b.tensor(ta.name());
                assertThat(tb.shape()).as(ta.name()).isEqualTo(ta.shape());
                assertThat(tb.type()).as(ta.name()).isEqualTo(ta.rank() == 1 ? GgmlType.F32 : type);
                assertSameValues(a, ta, b, tb, type);
            }
        }
    }

    /** Row chunk by row chunk (Gemma's embedding alone is 671 MB as fp32). */
    private static void assertSameValues(GgufFile a, GgufTensorInfo ta, GgufFile b, GgufTensorInfo tb, GgmlType type) {
        int cols = (int) ta.ne(0);
        long rows = ta.elementCount() / cols;
        int chunkRows = Math.max(1, (1 << 20) / cols);
        MemorySegment sa = a.data(ta), sb = b.data(tb);
        for (long r0 = 0; r0 < rows; r0 += chunkRows) {
            int n = (int) Math.min(chunkRows, rows - r0);
            float[] want = new float[n * cols];
            GgmlDequant.dequantize(ta.type(), sa.asSlice(ta.type().byteSize(r0 * cols)), want, 0, n * cols);
            if (type == GgmlType.F32 || ta.rank() == 1) {
                float[] got = new float[n * cols];
                GgmlDequant.dequantize(GgmlType.F32, sb.asSlice(r0 * cols * 4L), got, 0, n * cols);
                assertThat(java.util.Arrays.equals(got, want)).as(ta.name() + " rows " + r0).isTrue();
            } else {
                QuantType q = QuantType.valueOf(type.name());
                int rowBytes = (int) q.rowBytes(cols);
                byte[] expected = new byte[n * rowBytes];
                for (int r = 0; r < n; r++) q.quantize(want, r * cols, cols, expected, r * rowBytes);
                byte[] got = sb.asSlice(r0 * rowBytes, (long) n * rowBytes).toArray(ValueLayout.JAVA_BYTE);
                assertThat(got).as(ta.name() + " rows " + r0).isEqualTo(expected);
            }
        }
    }
}
