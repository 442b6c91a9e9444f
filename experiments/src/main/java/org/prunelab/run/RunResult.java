package org.prunelab.run;

import org.prunelab.eval.tasks.McResult;

import java.util.List;

/**
 * What one run measured; field names map to the MLflow metric names ({@link org.prunelab.track.MlflowNames.Metric}).
 *
 * @param spec                the run
 * @param requestedSparsity   the sparsity asked for, in the method's own terms (0 for dense)
 * @param actualSparsity      share of the blocks' linear parameters removed (zeroed or deleted), in [0, 1]
 * @param paramsTotal         parameters of the whole model after the run
 * @param paramsNonzero       of those, the ones that are not zero (embeddings, norms and LM head count as nonzero)
 * @param modelBytes          the model's parameters stored as fp32, bytes (masked-dense: same as dense)
 * @param pruneSeconds        wall time of pruning, seconds (0 for dense)
 * @param peakRssBytes        peak resident memory while pruning, bytes; -1 if unknown or not pruned
 * @param memoryOverheadRatio (peak RSS while pruning - RSS before) / fp32 model bytes; NaN if unknown
 * @param prefillTokensPerS   prefill speed, tokens/s (NaN if not measured)
 * @param speedupPrefill      prefill speed / the dense model's, measured in the same process (NaN if not measured)
 * @param decodeTokensPerS    batch-1 decode speed, tokens/s (NaN if not measured)
 * @param speedupDecode       decode speed / the dense model's, measured in the same process (NaN if not measured)
 * @param format              execution format of the block linears while the speed was measured ("dense", "2:4", "csr", ...)
 * @param evals               one result per evaluation set, in spec order
 * @param warnings            what the run warned about (calibration text that is also evaluation text, ...)
 * @param tasks               one result per multiple-choice task, in spec order, with every item's scores (for paired
 *                            accuracy differences between runs on the same items)
 */
public record RunResult(RunSpec spec, double requestedSparsity, double actualSparsity, long paramsTotal, long paramsNonzero,
                        long modelBytes, double pruneSeconds, long peakRssBytes, double memoryOverheadRatio,
                        double prefillTokensPerS, double speedupPrefill, double decodeTokensPerS, double speedupDecode,
                        String format, List<EvalResult> evals, List<String> warnings, List<McResult> tasks) {
    public RunResult {
        evals = List.copyOf(evals);
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
        tasks = tasks == null ? List.of() : List.copyOf(tasks);
    }

    /** A result without multiple-choice tasks. */
    public RunResult(RunSpec spec, double requestedSparsity, double actualSparsity, long paramsTotal, long paramsNonzero,
                     long modelBytes, double pruneSeconds, long peakRssBytes, double memoryOverheadRatio,
                     double prefillTokensPerS, double speedupPrefill, double decodeTokensPerS, double speedupDecode,
                     String format, List<EvalResult> evals, List<String> warnings) {
        this(spec, requestedSparsity, actualSparsity, paramsTotal, paramsNonzero, modelBytes, pruneSeconds, peakRssBytes,
                memoryOverheadRatio, prefillTokensPerS, speedupPrefill, decodeTokensPerS, speedupDecode, format, evals,
                warnings, List.of());
    }

    /** The headline evaluation (the first set), or null when the run evaluated nothing. */
    public EvalResult headline() {
        return evals.isEmpty() ? null : evals.getFirst();
    }
}
