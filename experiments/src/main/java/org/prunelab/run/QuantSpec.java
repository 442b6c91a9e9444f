package org.prunelab.run;

import java.util.List;
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
    /** The types {@code --quantize} accepts (the block formats {@link org.prunelab.prune.QuantSpec} knows). */
    public static final List<String> TYPES = java.util.Arrays.stream(org.prunelab.tensor.quant.QuantType.values())
            .map(org.prunelab.prune.QuantSpec::label).toList();

    /**
     * @throws PrunelabException.InvalidArgument for an unknown type or method; the message lists the known ones
     */
    public QuantSpec {
        type = org.prunelab.prune.QuantSpec.label(org.prunelab.prune.QuantSpec.type(type));
        method = org.prunelab.prune.QuantSpec.Algorithm.of(method == null ? "rtn" : method).label();
    }

    /** The core's spec, which the pruners and quantisers take. */
    public org.prunelab.prune.QuantSpec toCore() {
        return new org.prunelab.prune.QuantSpec(org.prunelab.prune.QuantSpec.type(type),
                org.prunelab.prune.QuantSpec.Algorithm.of(method));
    }

    /** Whether the quantiser needs calibration data (GPTQ's Hessians). */
    public boolean calibrated() { return method.equals("gptq"); }

    /** {@code q8_0} or {@code q4_0-gptq}: the suffix run names and tables use. */
    public String label() { return method.equals("rtn") ? type : type + "-" + method; }
}
