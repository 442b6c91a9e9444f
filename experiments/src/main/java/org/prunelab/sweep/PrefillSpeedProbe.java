package org.prunelab.sweep;

import org.prunelab.bench.ForwardTiming;
import org.prunelab.model.LlamaModel;

/**
 * Prefill speed via {@link ForwardTiming#prefill}: median of {@code repeats} timed {@code logits} passes over
 * {@code seqlen} tokens after two warm-up passes. The weights are used as they are stored: a masked-dense
 * pruned model runs the same dense products as the unpruned one, which is exactly what "regular hardware
 * without sparse kernels" means. Decode is not measured (NaN).
 */
public final class PrefillSpeedProbe implements SpeedProbe {
    private final SpeedSettings settings;

    public PrefillSpeedProbe(SpeedSettings settings) {
        this.settings = settings;
    }

    @Override
    public Speed measure(LlamaModel model) {
        return new Speed(ForwardTiming.prefill(model, settings.seqlen(), settings.repeats()).tokensPerSecondMedian(), Double.NaN);
    }

    @Override
    public String describe() {
        return "prefill of " + settings.seqlen() + " tokens (dense products on the stored weights), median of "
                + settings.repeats() + " passes after 2 warm-up passes";
    }
}
