package org.prunelab.prune;

import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.ModelShape;

import java.util.List;

/**
 * A pruning method with its parameters bound, made by the method registry ({@link Method#create}) or directly
 * ({@link LayerwisePruner}, {@link org.prunelab.prune.structured.StructuredPruner}, ...). Every method runs in the one
 * {@link CalibrationLoop} and follows the copy-on-prune rule of {@link PruneOptions}. Pruners never read files,
 * log or print.
 */
public interface Pruner {

    /** The registered method name ({@code wanda}, {@code fasp}, ...). */
    String method();

    /** False if the method ignores calibration windows (magnitude, plain low-rank): none need be sampled. */
    boolean needsCalibration();

    /**
     * Whether this method works block by block in the {@link CalibrationLoop} and nothing else, so it can prune a
     * streamed model ({@link org.prunelab.model.DecoderBlock#isStreamed()}) with a {@link PruneOptions#sink()}: only
     * one input block and its replacement are in memory at a time. False by default.
     */
    default boolean streams() { return false; }

    /**
     * What this method holds while it prunes block {@code layer} of {@code shape} with {@code tokens} calibration tokens,
     * beyond the block's weights and the pruned copy, for the memory model ({@link MemoryModel}): statistics kept
     * through the block step ({@code held}) and the largest allocation of one step within it ({@code transientPeak}).
     * Null when the method has no model (then {@code prune --dry-run} says so and {@code --max-memory} cannot check).
     */
    default BlockMemory blockMemory(ModelShape shape, int layer, long tokens) { return null; }

    /**
     * This pruner told the language of each calibration window, in the order the windows will be given
     * ({@link CalibrationData#languages}). Methods that do not group calibration by language return themselves;
     * language-aware ones (M-Wanda) return a configured copy.
     */
    default Pruner withCalibrationLanguages(List<String> windowLanguages) { return this; }

    /** Whether this method uses the languages of the calibration windows (a run calibrated on one language says so). */
    default boolean languageAware() { return false; }

    /** Bytes a method holds for a block ({@link #blockMemory}). */
    record BlockMemory(long held, long transientPeak) {}

    /**
     * Checks what can be checked from the model's shape alone, before any weight is loaded: N:M against every
     * linear's in_features, a structured ratio that would empty a block, ShortGPT's layer count, FASP's token
     * minimum for restoration.
     *
     * @param calibrationTokens nsamples x seqlen of the planned calibration (0 when none is used)
     * @throws org.prunelab.PrunelabException.InvalidArgument naming the parameter and what to change
     */
    void check(ModelShape shape, long calibrationTokens);

    /**
     * The linears the method gives a bias they may not have had (FLAP's compensation on O and DOWN): saving the result
     * needs a family whose checkpoints hold a bias there, which is checked before a run that saves starts.
     */
    default java.util.Set<org.prunelab.model.LinearRole> addsBiasTo() { return java.util.Set.of(); }

    /**
     * The sparsity this run asks for on a model of this shape, as the share the method's own {@code sparsity}
     * parameter means (ShortGPT with {@code layers}: layers / num_hidden_layers; low-rank with {@code rank_ratio}:
     * the share of the blocks' linear parameters its factors remove).
     */
    double requestedSparsity(ModelShape shape);

    /**
     * Prunes {@code model} (which it does not change, see {@link PruneOptions}) on the calibration windows.
     *
     * @param windows calibration token windows, all seqlen long (may be empty when {@link #needsCalibration()} is false)
     * @return the pruned model and what was removed
     * @throws org.prunelab.PrunelabException.InvalidArgument if the windows or the model do not fit the method
     * @throws org.prunelab.PrunelabException if the method fails numerically
     */
    PruneOutcome prune(DecoderModel model, List<int[]> windows, PruneOptions options);

    /**
     * This pruner followed by quantisation to a GGUF block format in the same calibration loop ({@link QuantSpec}:
     * RTN, or GPTQ on the pruned weights; SparseGPT's joint pass with GPTQ). Only the mask methods
     * ({@link LayerwisePruner}: magnitude, wanda, sparsegpt) support it; a new pruner is returned, this one is
     * unchanged.
     *
     * @param quant the quantisation, or null for none
     * @throws org.prunelab.PrunelabException.InvalidArgument for a method that cannot be quantised in its run
     *         (structured and low-rank ones), naming the methods that can
     */
    default Pruner withQuantization(QuantSpec quant) {
        if (quant == null) return this;
        throw new org.prunelab.PrunelabException.InvalidArgument("${method} " + method() + " cannot be combined with"
                + " ${quantize} yet: quantisation runs after the mask methods ("
                + String.join(", ", Methods.all().stream().filter(m -> m.kind() == Method.Kind.UNSTRUCTURED)
                        .map(Method::name).toList()) + "); drop ${quantize} or use one of them");
    }

    /**
     * Checks that every block linear is a dense matrix, as the methods need.
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument naming the first linear that is not
     */
    static void requireDense(DecoderModel model) {
        for (DecoderBlock block : model.blocks()) {
            // A streamed block is read from its file as dense fp32 linears whenever it is used: nothing to check (and
            // reading every block here would cost a pass over the whole file).
            if (block.isStreamed() && !block.isResident()) continue;
            for (java.util.Map.Entry<String, Linear> e : block.linears().entrySet()) {
                if (!(e.getValue() instanceof DenseLinear)) {
                    throw new org.prunelab.PrunelabException.InvalidArgument("layer " + block.index() + " " + e.getKey()
                            + " is held as " + org.prunelab.format.WeightFormats.label(e.getValue()) + ", not as a dense fp32"
                            + " matrix: pruning reads fp32 weights. A quantised file (GGUF Q8_0, Q4_0, Q4_1, ...) is"
                            + " dequantised to fp32 when it is loaded, so prune the model as loaded (before any format"
                            + " conversion) and quantise the result afterwards (--quantize)");
                }
            }
        }
    }
}
