package org.prunelab.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Q8_0 / Q4_0 tensors of a GGUF file read as {@link QuantMatrix} views of the mapping: same bytes, no fp32. */
class GgufQuantMatrixTest {
    @TempDir
    Path dir;

    private static FloatMatrix weights(int rows, int cols) {
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = (float) Math.sin(0.37 * i) * (1 + i % 7);
        return new FloatMatrix(rows, cols, d);
    }

    @Test
    void quantisedTensorsAreWrappedWithoutConversion() throws IOException {
        QuantMatrix q8 = QuantMatrix.quantize(QuantType.Q8_0, weights(5, 64));
        QuantMatrix q4 = QuantMatrix.quantize(QuantType.Q4_0, weights(3, 96));
        Path f = new GgufTestWriter()
                .tensor("q8.weight", GgmlType.Q8_0, new long[] {64, 5}, q8.toByteArray())
                .f32("norm.weight", new long[] {4}, new float[] {1, 2, 3, 4})
                .tensor("q4.weight", GgmlType.Q4_0, new long[] {96, 3}, q4.toByteArray())
                .write(dir.resolve("q.gguf"));
        float[] x = new float[96];
        for (int i = 0; i < x.length; i++) x[i] = i % 5 - 2;
        try (GgufTensorSource source = GgufTensorSource.open(f)) {
            GgufFile g = source.file();
            for (QuantMatrix expected : new QuantMatrix[] {q8, q4}) {
                String name = expected.type() == QuantType.Q8_0 ? "q8.weight" : "q4.weight";
                QuantMatrix m = source.quantMatrix(name);
                assertThat(m.type()).isEqualTo(expected.type());
                assertThat(m.rows()).isEqualTo(expected.rows());
                assertThat(m.cols()).isEqualTo(expected.cols());
                assertThat(m.isView()).isTrue();
                assertThat(m.blocks().isReadOnly()).isTrue();
                assertThat(m.blocks().address()).isEqualTo(g.data(g.tensor(name)).address()); // the mapping itself
                assertThat(m.toByteArray()).isEqualTo(expected.toByteArray());
                assertThat(m.dequantize()).isEqualTo(g.matrix(name));
                float[] a = new float[m.rows()];
                float[] b = new float[m.rows()];
                QuantLinear.of(m).forward(x, 1, a);
                QuantLinear.of(expected).forward(x, 1, b);
                assertThat(a).containsExactly(b);
            }
            assertThatThrownBy(() -> g.quantMatrix("norm.weight"))
                    .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("1 dimensions");
        }
    }

    @Test
    void otherTypesAndClosedFilesAreRefused() throws IOException {
        Path f = new GgufTestWriter()
                .f32("a.weight", new long[] {32, 2}, new float[64])
                .tensor("q.weight", GgmlType.Q8_0, new long[] {32, 2},
                        QuantMatrix.quantize(QuantType.Q8_0, weights(2, 32)).toByteArray())
                .write(dir.resolve("m.gguf"));
        GgufFile g = GgufFile.open(f);
        assertThatThrownBy(() -> g.quantMatrix("a.weight"))
                .isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("a.weight").hasMessageContaining("F32").hasMessageContaining("not Q8_0 or Q4_0");
        QuantLinear layer = QuantLinear.of(g.quantMatrix("q.weight"));
        g.close();
        assertThatThrownBy(() -> layer.forward(new float[32], 1, new float[2])).isInstanceOf(IllegalStateException.class);
    }
}
