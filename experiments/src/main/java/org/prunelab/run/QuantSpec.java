package org.prunelab.run;

import java.util.List;
import java.util.Locale;
import org.prunelab.PrunelabException;

/**
 * Quantisation after pruning (or of an unpruned model): the GGUF block type the block linears and the LM head are
 * rounded to, and how.
 *
 * @param type   {@code q8_0} or {@code q4_0}: GGUF's block formats (32 weights and one fp16 scale per block)
 * @param method {@code rtn}: round to nearest, block by block, as {@code llama-quantize} does; {@code gptq}: GPTQ
 *               (Frantar et al., ICLR 2023) on the calibration data's Hessians, jointly with the pruning pass for
 *               SparseGPT as in its paper
 */
public record QuantSpec(String type, String method) {
    /** The types {@code --quantize} accepts. */
    public static final List<String> TYPES = List.of("q8_0", "q4_0");
    /** The methods {@code --quant-method} accepts. */
    public static final List<String> METHODS = List.of("rtn", "gptq");

    /**
     * @throws PrunelabException.InvalidArgument for an unknown type or method; the message lists the known ones
     */
    public QuantSpec {
        type = type.strip().toLowerCase(Locale.ROOT);
        method = method == null ? "rtn" : method.strip().toLowerCase(Locale.ROOT);
        if (!TYPES.contains(type)) {
            throw new PrunelabException.InvalidArgument("unknown ${quantize} type '" + type + "': choose "
                    + String.join(" or ", TYPES) + " (GGUF's block formats: 8.5 and 4.5 bits per weight)");
        }
        if (!METHODS.contains(method)) {
            throw new PrunelabException.InvalidArgument("unknown ${quant_method} '" + method + "': choose "
                    + String.join(" or ", METHODS));
        }
    }

    /** Whether the quantiser needs calibration data (GPTQ's Hessians). */
    public boolean calibrated() { return method.equals("gptq"); }

    /** {@code q8_0} or {@code q4_0-gptq}: the suffix run names and tables use. */
    public String label() { return method.equals("rtn") ? type : type + "-" + method; }
}
