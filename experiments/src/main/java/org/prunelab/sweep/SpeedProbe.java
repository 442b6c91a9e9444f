package org.prunelab.sweep;

import org.prunelab.model.LlamaModel;

/**
 * Measures how fast a model runs, for {@code prefill_tokens_per_s} / {@code decode_tokens_per_s} and the
 * speedups over dense. An interface so a richer benchmark (decode, sparse kernels) can replace
 * {@link BenchSpeedProbe} without touching the sweep.
 */
public interface SpeedProbe {
    /**
     * Tokens per second of the model as it is now.
     *
     * @param prefillTokensPerS prompt processing, tokens/s (NaN if not measured)
     * @param decodeTokensPerS  generation one token at a time, tokens/s (NaN if not measured)
     * @param format            execution format(s) of the block linears while measured, e.g. "dense", "2:4", "csr"
     */
    record Speed(double prefillTokensPerS, double decodeTokensPerS, String format) {}

    Speed measure(LlamaModel model);

    /** One line saying what is measured, for result files. */
    String describe();
}
