package org.prunelab.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.prunelab.PrunelabException;

/**
 * Reading weights stored in compressed-tensors' {@code sparse-bitmask} format (the format of vLLM's
 * compressed-tensors library up to 0.14, {@code compressed_tensors/compressors/sparse_compressors/sparse_bitmask.py};
 * a checkpoint says so in config.json: {@code quantization_config.sparsity_config.format = "sparse-bitmask"}).
 * A weight {@code P.weight} of dense shape [rows, cols] is replaced by four tensors:
 * <ul>
 *   <li>{@code P.shape}: I64 [2], the dense shape;</li>
 *   <li>{@code P.compressed}: the nonzero values in row-major order, 1-D, in the weight's own dtype;</li>
 *   <li>{@code P.bitmask}: U8 [rows, ceil(cols / 8)], numpy {@code packbits(mask, axis=-1, bitorder="little")}:
 *       column c of a row is bit {@code c & 7} of byte {@code c >> 3} (each row starts a new byte);</li>
 *   <li>{@code P.row_offsets}: I64 [rows], the index in {@code compressed} where each row's values start.</li>
 * </ul>
 * "Nonzero" is {@code tensor != 0}, so a stored -0.0 comes back as +0.0 (the library's own round trip does the same).
 */
final class SparseBitmaskTensors {
    static final String SHAPE = ".shape";
    static final String COMPRESSED = ".compressed";
    static final String BITMASK = ".bitmask";
    static final String ROW_OFFSETS = ".row_offsets";
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The four parts of one compressed weight, each with the file that holds it. */
    record Entry(String weight, String prefix, Map<String, SafetensorsFile> parts) {
        SafetensorsFile.TensorInfo info(String suffix) { return parts.get(suffix).info(prefix + suffix); }

        MemorySegment data(String suffix) { return parts.get(suffix).data(info(suffix)); }
    }

    private SparseBitmaskTensors() {}

    /**
     * The compressed weights among {@code byName} (tensor name to the file holding it), keyed by the dense weight's
     * name {@code P.weight}: every {@code P.bitmask} with its {@code P.compressed} and {@code P.shape} beside it.
     *
     * @throws PrunelabException.ModelFormat if a bitmask lacks its values or shape
     */
    static Map<String, Entry> find(Map<String, SafetensorsFile> byName) {
        Map<String, Entry> found = new LinkedHashMap<>();
        for (String name : byName.keySet()) {
            if (!name.endsWith(BITMASK)) continue;
            String prefix = name.substring(0, name.length() - BITMASK.length());
            Map<String, SafetensorsFile> parts = new LinkedHashMap<>();
            for (String suffix : new String[] {SHAPE, COMPRESSED, BITMASK, ROW_OFFSETS}) {
                SafetensorsFile f = byName.get(prefix + suffix);
                if (f == null && !suffix.equals(ROW_OFFSETS)) {
                    throw new PrunelabException.ModelFormat("sparse-bitmask weight '" + prefix + ".weight' has "
                            + prefix + BITMASK + " but no " + prefix + suffix + ". The checkpoint is incomplete;"
                            + " copy it again or re-save it with compressed-tensors.");
                }
                if (f != null) parts.put(suffix, f);
            }
            found.put(prefix + ".weight", new Entry(prefix + ".weight", prefix, parts));
        }
        return found;
    }

    /** Whether {@code name} is one of the four part tensors of an entry in {@code entries}. */
    static boolean isPart(String name, Map<String, Entry> entries) {
        for (String suffix : new String[] {SHAPE, COMPRESSED, BITMASK, ROW_OFFSETS}) {
            if (name.endsWith(suffix) && entries.containsKey(name.substring(0, name.length() - suffix.length()) + ".weight")) {
                return true;
            }
        }
        return false;
    }

    /** The dense shape from {@code P.shape} (I64 or I32, 1 or 2 entries). @throws PrunelabException.ModelFormat if malformed */
    static long[] shape(Entry e) {
        SafetensorsFile.TensorInfo t = e.info(SHAPE);
        MemorySegment d = e.data(SHAPE);
        if (t.rank() != 1 || t.elementCount() < 1 || t.elementCount() > 2
                || (t.dtype() != SafetensorsDtype.I64 && t.dtype() != SafetensorsDtype.I32)) {
            throw malformed(e, "its shape tensor is " + t + "; expected I64 [2]");
        }
        long[] shape = new long[(int) t.elementCount()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.dtype() == SafetensorsDtype.I64 ? d.getAtIndex(I64, i) : d.getAtIndex(I32, i);
            if (shape[i] < 0 || shape[i] > Integer.MAX_VALUE) throw malformed(e, "its shape " + Arrays.toString(shape) + " is invalid");
        }
        return shape;
    }

    /**
     * The dense weight, row-major fp32 (F16/BF16 values widened exactly).
     *
     * @throws PrunelabException.ModelFormat if the parts disagree (bitmask size, value count, row offsets) or the
     *         values are not F32, F16 or BF16
     */
    static float[] decompress(Entry e) {
        long[] shape = shape(e);
        long rows = shape.length == 2 ? shape[0] : 1;
        long cols = shape[shape.length - 1];
        if (rows * cols > Integer.MAX_VALUE - 8) throw malformed(e, "it has more elements than one Java array holds");
        long rowBytes = (cols + 7) / 8;
        SafetensorsFile.TensorInfo mask = e.info(BITMASK);
        if (mask.dtype() != SafetensorsDtype.U8 || mask.elementCount() != rows * rowBytes) {
            throw malformed(e, "its bitmask is " + mask + "; a dense shape " + Arrays.toString(shape) + " needs U8 ["
                    + rows + ", " + rowBytes + "]");
        }
        SafetensorsFile.TensorInfo values = e.info(COMPRESSED);
        if (!values.dtype().isFloatSupported()) {
            throw malformed(e, "its values are " + values.dtype() + "; prunelab reads F32, F16 and BF16 values"
                    + " (FP8 sparse-bitmask checkpoints are not supported)");
        }
        MemorySegment bits = e.data(BITMASK);
        long count = 0;
        for (long i = 0; i < rows * rowBytes; i++) count += Integer.bitCount(bits.get(ValueLayout.JAVA_BYTE, i) & 0xFF);
        if (count != values.elementCount()) {
            throw malformed(e, "its bitmask marks " + count + " nonzeros but it stores " + values.elementCount() + " values");
        }
        float[] nonZeros = GgmlDequant.dequantize(values.dtype().ggmlType(), e.data(COMPRESSED), (int) count);
        float[] dense = new float[(int) (rows * cols)];
        MemorySegment offsets = null;
        if (e.parts().containsKey(ROW_OFFSETS)) {
            SafetensorsFile.TensorInfo t = e.info(ROW_OFFSETS);
            if (t.dtype() != SafetensorsDtype.I64 || t.elementCount() != rows) {
                throw malformed(e, "its row_offsets are " + t + "; expected I64 [" + rows + "]");
            }
            offsets = e.data(ROW_OFFSETS);
        }
        int k = 0;
        for (int r = 0; r < rows; r++) {
            if (offsets != null && offsets.getAtIndex(I64, r) != k) {
                throw malformed(e, "row " + r + " starts at value " + k + " by its bitmask but row_offsets says "
                        + offsets.getAtIndex(I64, r));
            }
            long base = r * rowBytes;
            for (int c = 0; c < cols; c++) {
                if ((bits.get(ValueLayout.JAVA_BYTE, base + (c >>> 3)) >>> (c & 7) & 1) != 0) dense[r * (int) cols + c] = nonZeros[k++];
            }
        }
        return dense;
    }

    private static PrunelabException.ModelFormat malformed(Entry e, String what) {
        return new PrunelabException.ModelFormat("sparse-bitmask weight '" + e.weight() + "' is malformed: " + what
                + ". Re-save the checkpoint with compressed-tensors or prunelab.");
    }
}
