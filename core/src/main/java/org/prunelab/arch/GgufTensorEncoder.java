package org.prunelab.arch;

import org.prunelab.io.GgmlType;
import org.prunelab.io.GgufWriter;
import org.prunelab.format.WeightFormats;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * Encodes one {@link GgufPlan.Tensor} for {@link GgufExporter}: a vector as F32; a linear's weight as F32, F16 or
 * ggml's round-to-nearest Q8_0 / Q4_0 ({@link QuantType}, bit-identical to ggml's reference quantisers), or, when the
 * linear already holds blocks of the target type ({@link QuantLinear}), those bytes as they are. Rows are put in
 * llama.cpp's RoPE order where the tensor asks ({@link GgufRope}). The bytes are computed when the file is written, so
 * only one tensor's dense copy (if any) is in memory at a time.
 */
final class GgufTensorEncoder {
    private GgufTensorEncoder() {}


    /** GGUF dimensions, innermost first: {@code [in, out]} for a weight, {@code [n]} for a vector. */
    static long[] ne(GgufPlan.Tensor t) {
        return switch (t.data()) {
            case GgufPlan.Matrix m -> new long[]{m.linear().inFeatures(), m.linear().outFeatures()};
            case GgufPlan.Vector v -> new long[]{v.values().length};
        };
    }

    /** The tensor's bytes as {@code type}, computed when the file is written (one tensor in memory at a time). */
    static GgufWriter.TensorBytes encode(GgufPlan.Tensor t, GgmlType type) {
        int heads = t.ropeHeads();
        return switch (t.data()) {
            case GgufPlan.Vector v -> out -> GgufWriter.TensorBytes.f32(
                    heads > 0 ? GgufRope.permuteRows(v.values(), v.values().length, 1, heads) : v.values()).writeTo(out);
            case GgufPlan.Matrix m when WeightFormats.weightLayer(m.linear()) instanceof QuantLinear q
                    && q.type().ggmlTypeId() == type.id() -> out -> copyBlocks(q, heads, out);
            case GgufPlan.Matrix m -> out -> {
                FloatMatrix w = dense(m.linear());
                float[] data = heads > 0 ? GgufRope.permuteRows(w.data(), w.rows(), w.cols(), heads) : w.data();
                switch (type) {
                    case F32 -> GgufWriter.TensorBytes.f32(data).writeTo(out);
                    case F16 -> GgufWriter.TensorBytes.f16(data).writeTo(out);
                    case Q8_0 -> quantize(QuantType.Q8_0, data, w.rows(), w.cols(), out);
                    case Q4_0 -> quantize(QuantType.Q4_0, data, w.rows(), w.cols(), out);
                    default -> throw new IllegalArgumentException(type.toString());
                }
            };
        };
    }

    /**
     * The weight {@code [out, in]} as fp32, through the format registry: the dense matrix itself (no copy), or a dense
     * copy of another format (a low-rank layer's product {@code B A} in double, a quantised layer's rounded values).
     */
    static FloatMatrix dense(Linear linear) {
        return WeightFormats.denseWeight(linear);
    }

    /** Round-to-nearest quantisation, a batch of rows at a time. */
    private static void quantize(QuantType q, float[] data, int rows, int cols, WritableByteChannel out)
            throws IOException {
        int rowBytes = (int) q.rowBytes(cols);
        int batch = Math.max(1, (1 << 20) / rowBytes);
        byte[] buf = new byte[batch * rowBytes];
        for (int r0 = 0; r0 < rows; r0 += batch) {
            int n = Math.min(batch, rows - r0);
            for (int r = 0; r < n; r++) q.quantize(data, (r0 + r) * cols, cols, buf, r * rowBytes);
            ByteBuffer bb = ByteBuffer.wrap(buf, 0, n * rowBytes);
            while (bb.hasRemaining()) out.write(bb);
        }
    }

    /** A quantised weight's block bytes as they are, rows in llama.cpp's RoPE order where {@code heads > 0}. */
    private static void copyBlocks(QuantLinear q, int heads, WritableByteChannel out) throws IOException {
        var m = q.weight();
        if (heads == 0) {
            GgufWriter.TensorBytes.of(m.blocks()).writeTo(out);
            return;
        }
        int[] from = GgufRope.hfRowOfGgufRow(m.rows(), heads);
        long rowBytes = m.rowBytes();
        for (int r = 0; r < m.rows(); r++) GgufWriter.TensorBytes.of(m.blocks().asSlice(from[r] * rowBytes, rowBytes)).writeTo(out);
    }
}
