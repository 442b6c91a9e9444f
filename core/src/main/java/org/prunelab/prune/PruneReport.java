package org.prunelab.prune;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.data.Window;

import java.util.List;

/**
 * What one pruning run did and cost, saved as {@code prune_report.json} beside the pruned model. Keys use
 * the MLflow names (listed in experiments' {@code org.prunelab.track.MlflowNames}: {@code method}, {@code sparsity}, {@code pattern}, {@code prune_seconds},
 * {@code peak_rss_bytes}, {@code model_bytes}, {@code memory_overhead_ratio}, {@code actual_sparsity}).
 *
 * @param model               the model argument (registered name or path)
 * @param result              the loop's outcome
 * @param calibDataset        calibration dataset argument; null for magnitude, which uses none
 * @param nsamples            calibration windows requested
 * @param seqlen              tokens per calibration window
 * @param seed                calibration sampling seed
 * @param windows             the exact calibration windows used (empty for magnitude)
 * @param pruneSeconds        wall time of the pruning loop, seconds
 * @param rssAfterLoadBytes   resident memory after loading (after a GC), bytes; -1 if unknown
 * @param peakRssBytes        peak resident memory while pruning, bytes; -1 if unknown
 * @param modelBytes          the model's parameters in fp32, bytes
 */
public record PruneReport(String model, LayerwiseResult result, String calibDataset, int nsamples, int seqlen, long seed,
                          List<Window> windows, double pruneSeconds, long rssAfterLoadBytes, long peakRssBytes,
                          long modelBytes) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public PruneReport {
        windows = List.copyOf(windows);
    }

    /** {@code (peak - after load) / model bytes}; NaN if memory could not be read. */
    public double memoryOverheadRatio() {
        if (peakRssBytes < 0 || rssAfterLoadBytes < 0 || modelBytes <= 0) return Double.NaN;
        return (double) (peakRssBytes - rssAfterLoadBytes) / modelBytes;
    }

    /** The report as a JSON object (MLflow key names); NaN ratios are written as null. */
    public ObjectNode toJsonNode() {
        ObjectNode o = JSON.createObjectNode();
        o.put("model", model);
        o.put("method", result.method());
        o.put("sparsity", result.pattern().sparsity());
        o.put("pattern", result.pattern().label());
        o.put("owl", result.owl());
        o.put("calib_dataset", calibDataset);
        o.put("nsamples", nsamples);
        o.put("seqlen", seqlen);
        o.put("seed", seed);
        o.put("actual_sparsity", result.actualSparsity());
        o.put("prune_seconds", pruneSeconds);
        o.put("peak_rss_bytes", peakRssBytes);
        o.put("rss_after_load_bytes", rssAfterLoadBytes);
        o.put("model_bytes", modelBytes);
        double ratio = memoryOverheadRatio();
        if (Double.isNaN(ratio)) o.putNull("memory_overhead_ratio"); else o.put("memory_overhead_ratio", ratio);
        if (result.owl()) {
            ArrayNode owl = o.putArray("owl_block_sparsities");
            for (double s : result.blockSparsities()) owl.add(s);
        }
        ArrayNode lin = o.putArray("linears");
        for (PrunedLinear l : result.linears()) {
            ObjectNode n = lin.addObject();
            n.put("layer", l.layer()).put("name", l.name());
            n.putArray("shape").add(l.outFeatures()).add(l.inFeatures());
            n.put("target_sparsity", l.targetSparsity()).put("actual_sparsity", l.actualSparsity())
                    .put("pruned", l.pruned()).put("dead_inputs", l.deadInputs()).put("percdamp", l.percdamp());
        }
        ArrayNode win = o.putArray("calibration_windows");
        for (Window w : windows) {
            win.addObject().put("dataset", w.dataset()).put("split", w.split().label()).put("document", w.document())
                    .put("offset", w.tokenOffset()).put("tokens", w.tokens().length);
        }
        return o;
    }

    /** {@link #toJsonNode()} as indented text with a trailing newline. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(toJsonNode()) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("serialising a JSON tree cannot fail", e);
        }
    }
}
