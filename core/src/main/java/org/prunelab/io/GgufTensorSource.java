package org.prunelab.io;

import org.prunelab.PrunelabException;
import org.prunelab.model.LlamaConfig;
import org.prunelab.tensor.FloatMatrix;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A llama-architecture GGUF file seen as Hugging Face tensors: names mapped by {@link LlamaTensorNames},
 * everything dequantised to fp32, the config rebuilt from the {@code llama.*} metadata keys, and q_proj/k_proj
 * rows put back into Hugging Face order.
 *
 * <p>Why the rows move: llama.cpp's {@code convert_hf_to_gguf.py} ({@code LlamaModel.permute}) reorders the
 * rows of q_proj and k_proj (weights and biases) so each head's rotary pairs are interleaved — row
 * {@code (head, half, j)} of the Hugging Face weight, {@code half ∈ {0,1}}, {@code j < head_dim/2}, is stored
 * as row {@code (head, j, half)} — because ggml's RoPE rotates adjacent pairs whereas transformers rotates the
 * two halves of each head. This class applies the inverse, as transformers' GGUF loader does
 * ({@code LlamaTensorProcessor._reverse_permute_weights} in {@code modeling_gguf_pytorch_utils.py}), using
 * num_attention_heads for q_proj and num_key_value_heads for k_proj.
 */
public final class GgufTensorSource implements TensorSource {
    private final GgufFile gguf;
    private final LlamaConfig config;
    /** Hugging Face name to GGUF tensor name, in file order. */
    private final Map<String, String> hfToGguf;

    private GgufTensorSource(GgufFile gguf) {
        this.gguf = gguf;
        Map<String, String> names = new LinkedHashMap<>();
        for (GgufTensorInfo t : gguf.tensors()) {
            LlamaTensorNames.ggufToHf(t.name()).ifPresent(hf -> names.put(hf, t.name()));
        }
        this.hfToGguf = Collections.unmodifiableMap(names);
        this.config = GgufLlamaConfig.read(gguf);
    }

    /**
     * Opens a llama-architecture GGUF file.
     *
     * @throws PrunelabException.ModelFormat if the file is not valid GGUF, not llama architecture, or lacks
     *                                       config keys; the file is closed again in that case
     */
    public static GgufTensorSource open(Path path) {
        GgufFile file = GgufFile.open(path);
        try {
            return new GgufTensorSource(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** The underlying file (metadata such as the tokenizer vocabulary lives there). */
    public GgufFile file() { return gguf; }

    @Override
    public LlamaConfig config() { return config; }

    @Override
    public Set<String> names() { return hfToGguf.keySet(); }

    @Override
    public FloatMatrix matrix(String hfName) {
        FloatMatrix m = gguf.matrix(ggufName(hfName));
        if (LlamaTensorNames.isRopePermuted(hfName)) {
            return new FloatMatrix(m.rows(), m.cols(), reversePermuteRows(m.data(), m.rows(), m.cols(), headsFor(hfName)));
        }
        return m;
    }

    @Override
    public float[] vector(String hfName) {
        float[] v = gguf.vector(ggufName(hfName));
        return LlamaTensorNames.isRopePermuted(hfName) ? reversePermuteRows(v, v.length, 1, headsFor(hfName)) : v;
    }

    private int headsFor(String hfName) {
        return LlamaTensorNames.isKProj(hfName) ? config.numKeyValueHeads() : config.numAttentionHeads();
    }

    private String ggufName(String hfName) {
        String g = hfToGguf.get(hfName);
        if (g == null) {
            throw new PrunelabException.ModelFormat("GGUF file " + gguf.path() + " has no tensor for '" + hfName + "'"
                    + LlamaTensorNames.hfToGguf(hfName).map(n -> " (GGUF name " + n + ")").orElse("") + "; "
                    + NearbyNames.describe(hfName, hfToGguf.keySet()) + ". Check the tensor name, or that the file is"
                    + " a complete Llama-architecture model.");
        }
        return g;
    }

    /**
     * Undoes llama.cpp's RoPE row permutation: {@code out[h, half, j, :] = in[h, j, half, :]} for rows viewed as
     * {@code [nHead, rows/nHead/2, 2]} on the GGUF side and {@code [nHead, 2, rows/nHead/2]} on the Hugging Face side.
     *
     * @param data  row-major {@code [rows, cols]} in GGUF row order (not modified)
     * @param nHead heads the rows are split into (num_attention_heads for q, num_key_value_heads for k)
     * @return a new row-major {@code [rows, cols]} array in Hugging Face row order
     * @throws PrunelabException.ModelFormat if {@code rows} is not a multiple of {@code 2 * nHead}
     */
    static float[] reversePermuteRows(float[] data, int rows, int cols, int nHead) {
        if (rows % (2 * nHead) != 0) {
            throw new PrunelabException.ModelFormat("cannot undo llama.cpp's RoPE permutation: " + rows + " rows do not"
                    + " split into " + nHead + " heads of an even width. The head counts in the GGUF metadata do not"
                    + " match the q/k weights; re-convert the model.");
        }
        int perHead = rows / nHead;
        int half = perHead / 2;
        float[] out = new float[data.length];
        for (int h = 0; h < nHead; h++) {
            for (int p = 0; p < 2; p++) {
                for (int j = 0; j < half; j++) {
                    int hfRow = h * perHead + p * half + j;
                    int ggufRow = h * perHead + 2 * j + p;
                    System.arraycopy(data, ggufRow * cols, out, hfRow * cols, cols);
                }
            }
        }
        return out;
    }

    @Override
    public void close() { gguf.close(); }

    @Override
    public String toString() { return "GgufTensorSource[" + gguf.path() + "]"; }
}
