package org.prunelab.prune;

import java.util.Arrays;
import java.util.Locale;
import org.prunelab.PrunelabException;

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
 * @param format    the GGUF block format of the result
 * @param algorithm how the values are chosen
 */
public record QuantSpec(Format format, Algorithm algorithm) {
    /** Input columns per block (ggml's QK8_0 = QK4_0 = 32): one fp16 scale per row and group. */
    public static final int GROUP = 32;

    public QuantSpec {
        if (format == null || algorithm == null) throw new IllegalArgumentException("format and algorithm are required");
    }

    /** A GGUF block format of {@value #GROUP} values (ggml's {@code ggml-common.h}). */
    public enum Format {
        /** 34-byte blocks: fp16 d, 32 int8 q; value {@code q * d}; llama.cpp chooses {@code d = amax / 127}. */
        Q8_0(34),
        /** 18-byte blocks: fp16 d, 16 bytes of nibbles q in [0, 15]; value {@code (q - 8) * d}; {@code d = max / -8}. */
        Q4_0(18);

        private final int blockBytes;

        Format(int blockBytes) {
            this.blockBytes = blockBytes;
        }

        /** Bytes of one block of {@value QuantSpec#GROUP} values. */
        public int blockBytes() { return blockBytes; }

        /** The CLI / MLflow spelling: {@code q8_0}, {@code q4_0}. */
        public String label() { return name().toLowerCase(Locale.ROOT); }

        /**
         * @throws PrunelabException.InvalidArgument for an unknown name; the message lists the known ones
         */
        public static Format of(String name) {
            for (Format f : values()) if (f.label().equals(norm(name))) return f;
            throw new PrunelabException.InvalidArgument("unknown quantisation type '" + name + "' for ${quantize}: use one of "
                    + known(values()));
        }
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
    public static QuantSpec of(String format, String algorithm) {
        return new QuantSpec(Format.of(format), Algorithm.of(algorithm));
    }

    /** Whether the run must collect calibration statistics for the quantiser (GPTQ's Hessian). */
    public boolean needsCalibration() { return algorithm == Algorithm.GPTQ; }

    /** {@code q4_0 gptq}. */
    public String label() { return format.label() + " " + algorithm.label(); }

    /**
     * @throws PrunelabException.InvalidArgument naming the linear, if {@code inFeatures} is not a multiple of
     *         {@value #GROUP}
     */
    public void checkFits(int inFeatures, String what) {
        if (inFeatures % GROUP != 0) {
            throw new PrunelabException.InvalidArgument("${quantize} " + format.label() + " stores blocks of " + GROUP
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
