package org.prunelab.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.data.Window;
import org.prunelab.model.BlockShape;
import org.prunelab.prune.Method;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.prune.PrunedLinear;

import java.util.List;
import java.util.Set;

/**
 * {@code prune_report.json}: what one run did and cost, in one schema for every method and entry point, written by
 * this class only. Keys are the MLflow names ({@link org.prunelab.track.MlflowNames}); the README documents them.
 * Schema {@value #SCHEMA_VERSION}:
 *
 * <ul>
 *   <li>{@code schema_version}, {@code model}, {@code method}, {@code kind} (unstructured, structured, low-rank or
 *       dense), {@code params} (every parameter of the method after defaults), {@code sparsity} (requested, in the
 *       method's terms), {@code sparsity_of} (what that is a share of), {@code pattern}, {@code actual_sparsity} (the
 *       share of the blocks' linear parameters removed, the same quantity for every method);</li>
 *   <li>calibration: {@code calib_dataset}, {@code nsamples}, {@code seqlen}, {@code seed} (null when none),
 *       {@code calibration_windows} (dataset, split, document, offset, tokens and language of each);</li>
 *   <li>size: {@code params_total}, {@code params_nonzero}, {@code params_total_dense}, {@code params_blocks},
 *       {@code params_blocks_dense}, {@code model_bytes}, {@code model_bytes_dense};</li>
 *   <li>measured ({@link #MEASURED}: differ between runs of the same spec): {@code prune_seconds},
 *       {@code peak_rss_bytes}, {@code rss_after_load_bytes}, {@code memory_overhead_ratio};</li>
 *   <li>evaluation: {@code evaluation} (one entry per set: {@code eval_dataset}, {@code language},
 *       {@code eval_seqlen}, {@code eval_windows}, {@code eval_split}, {@code part}, {@code tokens},
 *       {@code perplexity_dense}, {@code perplexity}, {@code ppl_ratio}); the first set's values also at the top level;</li>
 *   <li>{@code warnings} (e.g. calibration text that is also evaluation text);</li>
 *   <li>method details: {@code owl}, {@code owl_block_sparsities} (M-Wanda: {@code cwl_block_sparsities}), {@code linears} (per linear: layer, name, shape,
 *       target and actual sparsity, pruned, dead inputs, percdamp) for mask methods; {@code allocation},
 *       {@code layer_sizes}, {@code removed_layers} for structured ones; any {@code details} a method adds.</li>
 * </ul>
 *
 * @param json the report
 */
public record PruneReport(ObjectNode json) {
    /** The file name. */
    public static final String FILE = "prune_report.json";
    /** Version of the schema above; 1 was the per-entry-point reports before it. */
    public static final int SCHEMA_VERSION = 2;
    /** The keys whose values are measurements of this run (time, memory), not consequences of its spec. */
    public static final Set<String> MEASURED = Set.of("prune_seconds", "peak_rss_bytes", "rss_after_load_bytes",
            "memory_overhead_ratio");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * The report of a run.
     *
     * @param pruning          what the pruner did, or null for a run without pruning
     * @param rssAfterLoad     resident bytes just before pruning, -1 if unknown or not pruned
     * @param modelBytesDense  bytes in memory of the model before pruning, in the formats it was loaded in
     * @param paramsDense      parameters of the model before pruning
     * @param quantization     the round-to-nearest quantisation after pruning, or null
     */
    static PruneReport of(RunResult r, Pipeline.Plan plan, PruneOutcome pruning, List<Window> calibration,
                          long rssAfterLoad, long modelBytesDense, long paramsDense,
                          org.prunelab.format.FormatConversion quantization) {
        RunSpec spec = r.spec();
        ObjectNode o = JSON.createObjectNode();
        o.put("schema_version", SCHEMA_VERSION);
        o.put("model", spec.model());
        o.put("method", spec.method());
        Method method = spec.methodEntry();
        o.put("kind", method == null ? "dense" : method.kind().label());
        ObjectNode params = o.putObject("params");
        spec.params().forEach((k, v) -> params.set(k, JSON.valueToTree(v)));
        o.put("sparsity", r.requestedSparsity());
        o.put("sparsity_of", method == null ? "nothing (no pruning)" : method.sparsityOf());
        o.put("pattern", spec.pattern());
        o.put("actual_sparsity", r.actualSparsity());
        if (spec.params().containsKey("owl")) o.put("owl", Boolean.TRUE.equals(spec.params().get("owl")));
        CalibrationSpec c = spec.calibration();
        o.put("calib_dataset", c == null ? null : c.dataset());
        if (c == null) {
            o.putNull("nsamples");
            o.putNull("seqlen");
        } else {
            o.put("nsamples", c.nsamples());
            o.put("seqlen", c.seqlen());
        }
        o.put("seed", spec.seed());
        o.put("params_total", r.paramsTotal()).put("params_nonzero", r.paramsNonzero());
        if (pruning != null) o.put("params_blocks", pruning.paramsAfter()).put("params_blocks_dense", pruning.paramsBefore());
        o.put("params_total_dense", paramsDense);
        if (spec.quantize() != null) {
            ObjectNode q = o.putObject("quantization").put("type", spec.quantize().type())
                    .put("quant_method", spec.quantize().method());
            if (quantization != null) {
                q.put("linears", quantization.layers().size()).put("bytes_before", quantization.bytesBefore())
                        .put("bytes_after", quantization.bytesAfter()).put("summary", quantization.summary());
            }
        } else {
            o.putNull("quantization");
        }
        o.put("model_bytes", r.modelBytes()).put("model_bytes_dense", modelBytesDense);
        o.put("prune_seconds", r.pruneSeconds());
        o.put("peak_rss_bytes", r.peakRssBytes());
        o.put("rss_after_load_bytes", rssAfterLoad);
        number(o, "memory_overhead_ratio", r.memoryOverheadRatio());
        EvalResult head = r.headline();
        if (head != null) {
            o.put("eval_dataset", head.dataset()).put("eval_seqlen", head.seqlen()).put("eval_windows", head.windows());
            number(o, "perplexity_dense", head.perplexityDense());
            number(o, "perplexity", head.perplexity());
            number(o, "ppl_ratio", head.pplRatio());
            intervals(o, head);
        }
        ArrayNode evals = o.putArray("evaluation");
        for (EvalResult e : r.evals()) {
            ObjectNode n = evals.addObject().put("eval_dataset", e.dataset()).put("language", e.language())
                    .put("eval_seqlen", e.seqlen()).put("eval_windows", e.windows()).put("eval_split", e.split())
                    .put("part", e.part()).put("tokens", e.tokens());
            number(n, "perplexity_dense", e.perplexityDense());
            number(n, "perplexity", e.perplexity());
            number(n, "ppl_ratio", e.pplRatio());
            intervals(n, e);
        }
        ArrayNode warnings = o.putArray("warnings");
        r.warnings().forEach(warnings::add);
        if (pruning != null) details(o, pruning);
        ArrayNode win = o.putArray("calibration_windows");
        List<String> languages = plan == null || plan.calibCorpora().isEmpty() ? null
                : org.prunelab.prune.CalibrationData.languages(calibration, plan.calibCorpora());
        for (int i = 0; i < calibration.size(); i++) {
            Window w = calibration.get(i);
            ObjectNode n = win.addObject().put("dataset", w.dataset()).put("split", w.split().label()).put("document", w.document())
                    .put("offset", w.tokenOffset()).put("tokens", w.tokens().length);
            if (languages != null) n.put("language", languages.get(i)); // what language-aware methods group by
        }
        return new PruneReport(o);
    }

    private static void details(ObjectNode o, PruneOutcome p) {
        if (p.owl()) {
            // Per-block sparsities: OWL's, or M-Wanda's cross-lingual (CWL) allocation.
            ArrayNode owl = o.putArray("mwanda".equals(p.method()) ? "cwl_block_sparsities" : "owl_block_sparsities");
            for (double s : p.blockSparsities()) owl.add(s);
        }
        if (!p.linears().isEmpty()) {
            ArrayNode lin = o.putArray("linears");
            for (PrunedLinear l : p.linears()) {
                ObjectNode n = lin.addObject();
                n.put("layer", l.layer()).put("name", l.name());
                n.putArray("shape").add(l.outFeatures()).add(l.inFeatures());
                n.put("target_sparsity", l.targetSparsity()).put("actual_sparsity", l.actualSparsity())
                        .put("pruned", l.pruned()).put("dead_inputs", l.deadInputs()).put("percdamp", l.percdamp());
            }
        }
        if (p.allocation() != null) {
            o.put("allocation", p.allocation());
            ArrayNode removed = o.putArray("removed_layers");
            p.removedLayers().forEach(removed::add);
            ArrayNode shapes = o.putArray("layer_sizes");
            for (BlockShape s : p.shapes()) {
                shapes.addObject().put("intermediate_size", s.intermediateSize()).put("num_attention_heads", s.numAttentionHeads())
                        .put("num_key_value_heads", s.numKeyValueHeads());
            }
        }
        if (!p.extra().isEmpty()) {
            ObjectNode d = o.putObject("details");
            new java.util.TreeMap<>(p.extra()).forEach((k, v) -> d.set(k, JSON.valueToTree(v)));
        }
    }

    /**
     * Puts the 95% bootstrap intervals of {@code e} as {@code perplexity_lo}, {@code perplexity_hi}, {@code ppl_ratio_lo},
     * {@code ppl_ratio_hi} (null where undefined: fewer than 2 windows, or no dense per-window losses) and the windows
     * they rest on as {@code interval_windows}.
     */
    public static void intervals(ObjectNode o, EvalResult e) {
        number(o, "perplexity_lo", e.perplexityInterval().lo());
        number(o, "perplexity_hi", e.perplexityInterval().hi());
        number(o, "ppl_ratio_lo", e.ratioInterval().lo());
        number(o, "ppl_ratio_hi", e.ratioInterval().hi());
        o.put("interval_windows", e.perplexityInterval().units());
    }

    private static void number(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v);
        else o.putNull(key);
    }

    /** The report without the {@link #MEASURED} keys: equal for two runs of the same spec on the same inputs. */
    public ObjectNode withoutMeasurements() {
        ObjectNode copy = json.deepCopy();
        MEASURED.forEach(copy::remove);
        return copy;
    }

    /** Indented JSON with a trailing newline. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(json) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("serialising a JSON tree cannot fail", e);
        }
    }

    /** Reads a report's JSON (of any schema version) as a tree. */
    public static JsonNode read(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new org.prunelab.PrunelabException.InvalidArgument("not a prune report (" + e.getOriginalMessage() + ")");
        }
    }
}
