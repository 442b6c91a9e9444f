package org.prunelab.prune;

import java.util.Arrays;
import java.util.Locale;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.quant.QuantType;

/**
 * Quantisation applied after pruning, in the same run: which GGUF block format the block linears' weights are
 * rounded to, and how. Weights are {@code [out_features, in_features]}; a format's block is
 * {@value #GROUP} consecutive input columns of one row with one fp16 scale, so every linear's in_features must be
 * a multiple of {@value #GROUP}.
 *
 * <ul>
 *   <li>{@link Algorithm#RTN}: llama.cpp's round-to-nearest quantiser ({@code quantize_row_q8_0_ref} /
 *       {@code quantize_row_q4_0_ref}) on the pruned weights; needs no calibration.</li>
 *   <li>{@link Algorithm#GPTQ}: Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative
 *       Pre-trained Transformers", ICLR 2023 ({@link GptqQuantizer}) on the pruned weights with the same Hessian
 *       SparseGPT uses, pruned weights kept at exactly 0; with {@code sparsegpt} the joint single pass of
 *       SparseGPT's Sec. 3.5 instead ({@link SparseGptPruner#pruneAndQuantize}). Needs calibration.</li>
 * </ul>
 *
 * @param type      the GGUF block format of the result ({@link QuantType}: ggml's layouts and RTN quantisers)
 * @param algorithm how the values are chosen
 */
public record QuantSpec(QuantType type, Algorithm algorithm) {
    /** Input columns per block (ggml's QK8_0 = QK4_0 = 32): one fp16 scale per row and group. */
    public static final int GROUP = QuantType.BLOCK_SIZE;

    public QuantSpec {
        if (type == null || algorithm == null) throw new IllegalArgumentException("type and algorithm are required");
    }

    /**
     * The block format called {@code name} ({@code q8_0}, {@code q4_0}; case and surrounding spaces ignored).
     *
     * @throws PrunelabException.InvalidArgument for an unknown name; the message lists the known ones
     */
    public static QuantType type(String name) {
        for (QuantType t : QuantType.values()) if (label(t).equals(norm(name))) return t;
        throw new PrunelabException.InvalidArgument("unknown quantisation type '" + name + "' for ${quantize}: use one of "
                + known(QuantType.values()));
    }

    /** The CLI / MLflow spelling of a block format: {@code q8_0}, {@code q4_0}. */
    public static String label(QuantType type) {
        return type.name().toLowerCase(Locale.ROOT);
    }

    /** How the quantised values are chosen. */
    public enum Algorithm {
        /** Round to nearest, llama.cpp's reference quantiser; no calibration. */
        RTN,
        /** GPTQ's column-by-column rounding with the OBS error update (needs the Hessian from calibration). */
        GPTQ;

        /** The CLI / MLflow spelling: {@code rtn}, {@code gptq}. */
        public String label() { return name().toLowerCase(Locale.ROOT); }

        /**
         * @throws PrunelabException.InvalidArgument for an unknown name; the message lists the known ones
         */
        public static Algorithm of(String name) {
            for (Algorithm a : values()) if (a.label().equals(norm(name))) return a;
            throw new PrunelabException.InvalidArgument("unknown quantisation method '" + name + "' for ${quant_method}: use one of "
                    + known(values()));
        }
    }

    /**
     * Parses the two CLI values, e.g. {@code of("q4_0", "gptq")}.
     *
     * @throws PrunelabException.InvalidArgument for an unknown type ({@code q8_0}, {@code q4_0}) or method
     *         ({@code rtn}, {@code gptq}); the message lists the known ones
     */
    public static QuantSpec of(String type, String algorithm) {
        return new QuantSpec(type(type), Algorithm.of(algorithm));
    }

    /** Whether the run must collect calibration statistics for the quantiser (GPTQ's Hessian). */
    public boolean needsCalibration() { return algorithm == Algorithm.GPTQ; }

    /** {@code q4_0 gptq}. */
    public String label() { return label(type) + " " + algorithm.label(); }

    /**
     * @throws PrunelabException.InvalidArgument naming the linear, if {@code inFeatures} is not a multiple of
     *         {@value #GROUP}
     */
    public void checkFits(int inFeatures, String what) {
        if (inFeatures % GROUP != 0) {
            throw new PrunelabException.InvalidArgument("${quantize} " + label(type) + " stores blocks of " + GROUP
                    + " input columns, but " + what + " has " + inFeatures + " input features: quantise a model whose"
                    + " linears' in_features are multiples of " + GROUP + ", or drop ${quantize}");
        }
    }

    private static String norm(String name) {
        return name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
    }

    private static String known(Enum<?>[] values) {
        return String.join(", ", Arrays.stream(values).map(v -> v.name().toLowerCase(Locale.ROOT)).toList());
    }
}
