package org.prunelab.sweep;

import java.util.List;

/**
 * What one sweep point measured; field names map to the MLflow metric names of {@link org.prunelab.track.MlflowNames}.
 *
 * @param spec                the point
 * @param actualSparsity      zero weights / all weights of the pruned linears, in [0, 1]
 * @param paramsTotal         parameters of the whole model
 * @param paramsNonzero       parameters that are not zero (embeddings, norms and LM head count as nonzero)
 * @param modelBytes          the model's parameters stored as fp32, bytes (masked-dense: same as dense)
 * @param pruneSeconds        wall time of pruning, seconds (0 for dense)
 * @param peakRssBytes        peak resident memory while pruning, bytes; -1 if unknown
 * @param memoryOverheadRatio (peak RSS while pruning - RSS before) / fp32 model bytes; NaN if unknown
 * @param prefillTokensPerS   prefill speed, tokens/s
 * @param speedupPrefill      prefill speed / the dense model's, measured in the same sweep
 * @param decodeTokensPerS    batch-1 decode speed, tokens/s
 * @param speedupDecode       decode speed / the dense model's, measured in the same sweep
 * @param format              execution format of the block linears while the speed was measured ("dense", "2:4", "csr", ...)
 * @param evals               one result per evaluation set, in spec order
 */
public record PointResult(RunSpec spec, double actualSparsity, long paramsTotal, long paramsNonzero, long modelBytes,
                          double pruneSeconds, long peakRssBytes, double memoryOverheadRatio, double prefillTokensPerS,
                          double speedupPrefill, double decodeTokensPerS, double speedupDecode, String format,
                          List<EvalResult> evals) {
    public PointResult {
        evals = List.copyOf(evals);
    }
}
