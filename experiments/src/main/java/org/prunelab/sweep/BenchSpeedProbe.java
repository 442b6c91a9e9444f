package org.prunelab.sweep;

import org.prunelab.bench.ModelBench;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.FormatConversion;
import org.prunelab.model.Linear;
import org.prunelab.model.LlamaModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Prefill and batch-1 decode speed through {@link ModelBench}, with every block linear in the execution format
 * {@code --format auto} would pick ({@link FormatConversion}): packed N:M for N:M-pruned weights, CSR where
 * unstructured sparsity pays, dense otherwise. This is what "regular hardware" gets from the zeros: a
 * masked-dense model would run exactly the dense products. After measuring, the original (dense-stored)
 * linears are put back, so the sweep can restore or re-prune the weights.
 */
public final class BenchSpeedProbe implements SpeedProbe {
    private final SpeedSettings settings;

    public BenchSpeedProbe(SpeedSettings settings) {
        this.settings = settings;
    }

    @Override
    public Speed measure(LlamaModel model) {
        List<Map<String, Linear>> original = new ArrayList<>();
        for (DecoderBlock b : model.blocks()) original.add(Map.copyOf(b.linears()));
        try {
            FormatConversion formats = FormatConversion.apply(model, "auto");
            ModelBench.BenchResult r = ModelBench.run(model,
                    new ModelBench.Options(settings.seqlen(), settings.gen(), settings.repeats(), 1, 0));
            return new Speed(r.prefillTokensPerSecond(), r.decodeTokensPerSecond(), formatName(formats.counts()));
        } finally {
            for (int i = 0; i < original.size(); i++) {
                DecoderBlock b = model.blocks().get(i);
                original.get(i).forEach(b::setLinear);
            }
        }
    }

    /** "dense", "csr", "2:4", or a mix such as "csr 120 + dense 90". */
    private static String formatName(Map<String, Integer> counts) {
        if (counts.size() == 1) return counts.keySet().iterator().next();
        StringBuilder s = new StringBuilder();
        counts.forEach((k, v) -> s.append(s.isEmpty() ? "" : " + ").append(k).append(' ').append(v));
        return s.toString();
    }

    @Override
    public String describe() {
        return "prefill of " + settings.seqlen() + " tokens, then " + settings.gen() + " decode steps at batch 1, median of "
                + settings.repeats() + " runs after 1 warm-up, each linear in the format --format auto picks"
                + " (packed N:M, CSR or dense)";
    }
}
