package org.prunelab.arch;

import org.prunelab.PrunelabException;

/**
 * llama.cpp's RoPE row order for Llama-architecture GGUF files, and its inverse.
 *
 * <p>Why the rows move: llama.cpp's {@code convert_hf_to_gguf.py} ({@code LlamaModel.permute}) reorders the rows of
 * q_proj and k_proj (weights and biases) so each head's rotary pairs are interleaved — row {@code (head, half, j)}
 * of the Hugging Face weight, {@code half ∈ {0,1}}, {@code j < head_dim/2}, is stored as row {@code (head, j, half)}
 * — because ggml's normal RoPE rotates adjacent pairs whereas transformers rotates the two halves of each head.
 * Reading applies the inverse, as transformers' GGUF loader does ({@code LlamaTensorProcessor._reverse_permute_weights}
 * in {@code modeling_gguf_pytorch_utils.py}), with num_attention_heads for q_proj and num_key_value_heads for k_proj.
 * Families on ggml's NEOX RoPE (Qwen2, Gemma) are stored unpermuted.
 */
final class GgufRope {
    private GgufRope() {}

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
        int[] from = ggufRowOfHfRow(rows, nHead);
        float[] out = new float[data.length];
        for (int hfRow = 0; hfRow < rows; hfRow++) System.arraycopy(data, from[hfRow] * cols, out, hfRow * cols, cols);
        return out;
    }

    /**
     * llama.cpp's RoPE row permutation ({@code LlamaModel.permute} of the converter), the inverse of
     * {@link #reversePermuteRows}: {@code out[h, j, half, :] = in[h, half, j, :]}.
     *
     * @param data  row-major {@code [rows, cols]} in Hugging Face row order (not modified)
     * @param nHead heads the rows are split into (the block's query heads for q, its key/value heads for k)
     * @return a new row-major {@code [rows, cols]} array in llama.cpp's row order
     * @throws PrunelabException.ModelFormat if {@code rows} is not a multiple of {@code 2 * nHead}
     */
    static float[] permuteRows(float[] data, int rows, int cols, int nHead) {
        int[] from = hfRowOfGgufRow(rows, nHead);
        float[] out = new float[data.length];
        for (int ggufRow = 0; ggufRow < rows; ggufRow++) System.arraycopy(data, from[ggufRow] * cols, out, ggufRow * cols, cols);
        return out;
    }

    /**
     * For each row of llama.cpp's order, the Hugging Face row it holds: what {@link #permuteRows} copies, for
     * callers that move rows of encoded bytes (quantised blocks never cross a row).
     */
    static int[] hfRowOfGgufRow(int rows, int nHead) {
        int[] ggufOf = ggufRowOfHfRow(rows, nHead);
        int[] out = new int[rows];
        for (int hfRow = 0; hfRow < rows; hfRow++) out[ggufOf[hfRow]] = hfRow;
        return out;
    }

    /** For each Hugging Face row, the row of llama.cpp's order that holds it. */
    private static int[] ggufRowOfHfRow(int rows, int nHead) {
        if (nHead <= 0 || rows % (2 * nHead) != 0) {
            throw new PrunelabException.ModelFormat("cannot undo llama.cpp's RoPE permutation: " + rows + " rows do not"
                    + " split into " + nHead + " heads of an even width. The head counts in the GGUF metadata do not"
                    + " match the q/k weights; re-convert the model.");
        }
        int perHead = rows / nHead;
        int half = perHead / 2;
        int[] out = new int[rows];
        for (int h = 0; h < nHead; h++) {
            for (int p = 0; p < 2; p++) {
                for (int j = 0; j < half; j++) out[h * perHead + p * half + j] = h * perHead + 2 * j + p;
            }
        }
        return out;
    }
}
