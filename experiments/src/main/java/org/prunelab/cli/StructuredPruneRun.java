package org.prunelab.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.bench.MemoryMeter;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Window;
import org.prunelab.eval.Evaluation;
import org.prunelab.eval.PerplexityResult;
import org.prunelab.model.BlockShape;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.ModelLoader;
import org.prunelab.model.PrunedModelWriter;
import org.prunelab.prune.CalibrationData;
import org.prunelab.prune.structured.LowRank;
import org.prunelab.prune.structured.ShortGpt;
import org.prunelab.prune.structured.StructuredMethod;
import org.prunelab.prune.structured.StructuredPruner;
import org.prunelab.prune.structured.StructuredResult;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The structured branch of {@code prunelab prune} (fasp, flap, shortgpt, lowrank): calibrate, build the smaller model,
 * evaluate it if asked, and save it with {@code prune_report.json}. A uniform result is a standard Hugging Face
 * checkpoint; a non-uniform one lists per-block widths under {@code prunelab_layer_sizes} in config.json; a low-rank one
 * stores {@code <linear>.lowrank_a}/{@code .lowrank_b} factors (both only prunelab loads).
 */
final class StructuredPruneRun {
    /** The --method values handled here. */
    static final Set<String> METHODS = Set.of("fasp", "flap", "shortgpt", "lowrank");

    private final PruneCommand c;

    StructuredPruneRun(PruneCommand command) {
        this.c = command;
    }

    Integer call() throws JsonProcessingException {
        c.common.apply();
        Pruner pruner = pruner();
        if (c.nsamples < 1) {
            throw new PrunelabException.InvalidArgument("--nsamples must be at least 1, got " + c.nsamples);
        }
        PrunedModelWriter.checkWritable(c.out);
        PrunelabHome home = PrunelabHome.fromEnvironment();
        Corpus calibCorpus = Datasets.resolve(c.calib, home);
        Corpus evalCorpus = c.eval != null ? Datasets.resolve(c.eval, home) : null;
        try (LoadedModel loaded = ModelLoader.load(c.model, home)) {
            loaded.checkSeqlen(c.seqlen);
            List<Window> windows = CalibrationData.sample(calibCorpus, loaded.tokenizer()::encode, c.nsamples, c.seqlen, c.seed);
            PerplexityResult dense = evalCorpus == null ? null
                    : Evaluation.perplexity(loaded, evalCorpus, c.evalSeqlen, c.evalWindows, new ConsoleProgress("eval dense"));
            long denseBytes = MemoryMeter.fp32ModelBytes(loaded.model());
            MemoryMeter meter = MemoryMeter.afterLoad();
            meter.startPeak();
            long start = System.nanoTime();
            StructuredResult result = pruner.prune(loaded, windows.stream().map(Window::tokens).toList());
            double seconds = (System.nanoTime() - start) / 1e9;
            long peak = meter.peakBytes();
            meter.close();

            LoadedModel pruned = new LoadedModel(loaded.name(), loaded.path(), result.model(), loaded.tokenizer(), 0, 0);
            PerplexityResult after = evalCorpus == null ? null
                    : Evaluation.perplexity(pruned, evalCorpus, c.evalSeqlen, c.evalWindows, new ConsoleProgress("eval pruned"));
            ObjectNode report = report(result, windows, seconds, meter.baselineBytes(), peak, denseBytes);
            Map<String, String> files = new LinkedHashMap<>();
            files.put("calibration_ids.json", idsJson(windows));
            if (after != null) {
                report.put("eval_dataset", c.eval).put("eval_seqlen", c.evalSeqlen).put("eval_windows", after.windows())
                        .put("perplexity_dense", dense.perplexity()).put("perplexity", after.perplexity())
                        .put("ppl_ratio", after.perplexity() / dense.perplexity());
                files.put("eval_ids.json", idsJson(Evaluation.windows(loaded, evalCorpus, c.evalSeqlen, c.evalWindows)));
            }
            files.put("prune_report.json", JsonOutput.MAPPER.writeValueAsString(report));
            PrunedModelWriter.write(c.out, result.model(), loaded.tokenizer(), files);
            print(report);
        }
        return 0;
    }

    /** One structured method, configured from the options. */
    private interface Pruner {
        StructuredResult prune(LoadedModel model, List<int[]> windows);
    }

    private Pruner pruner() {
        ConsoleProgress progress = new ConsoleProgress("prune " + c.method);
        switch (c.method) {
            case "shortgpt" -> {
                if (c.layers == null) {
                    throw new PrunelabException.InvalidArgument("--method shortgpt needs --layers K, the number of blocks to remove");
                }
                ShortGpt s = new ShortGpt(c.layers);
                return (m, w) -> s.prune(m.model(), w, progress);
            }
            case "lowrank" -> {
                if (c.rankRatio == null) {
                    throw new PrunelabException.InvalidArgument("--method lowrank needs --rank-ratio r, the kept rank as a share"
                            + " of min(in, out), e.g. --rank-ratio 0.3");
                }
                LowRank lr = new LowRank(c.rankRatio, c.activationWeighted);
                return (m, w) -> lr.prune(m.model(), w, progress);
            }
            case "fasp", "flap" -> {
                if (c.sparsity == null) {
                    throw new PrunelabException.InvalidArgument("--method " + c.method + " needs --sparsity S, the share of "
                            + "MLP channels and attention heads to remove, e.g. --sparsity 0.25");
                }
                String alloc = c.allocation != null ? c.allocation : c.method.equals("flap") ? "global" : "uniform";
                StructuredPruner.Allocation a = switch (alloc) {
                    case "uniform" -> StructuredPruner.Allocation.UNIFORM;
                    case "global" -> StructuredPruner.Allocation.GLOBAL;
                    default -> throw new PrunelabException.InvalidArgument("unknown --allocation '" + alloc + "': use uniform or global");
                };
                if (c.noRestore && !c.method.equals("fasp")) {
                    throw new PrunelabException.InvalidArgument("--no-restore applies to fasp only");
                }
                StructuredMethod method = c.method.equals("fasp") ? new StructuredMethod.Fasp(!c.noRestore) : new StructuredMethod.Flap();
                StructuredPruner p = new StructuredPruner(method, c.sparsity, a);
                return (m, w) -> p.prune(m.model(), w, progress);
            }
            default -> throw new IllegalStateException(c.method);
        }
    }

    private ObjectNode report(StructuredResult r, List<Window> windows, double seconds, long baseline, long peak, long denseBytes) {
        ObjectNode o = JsonOutput.object();
        o.put("model", PruneCommand.modelForReport(c.model)).put("method", r.method()).put("pattern", "structured").put("allocation", r.allocation());
        if (c.method.equals("shortgpt")) o.put("layers", c.layers);
        else if (c.method.equals("lowrank")) o.put("rank_ratio", c.rankRatio).put("activation_weighted", c.activationWeighted);
        else o.put("sparsity", r.requested());
        o.put("actual_sparsity", r.actualRatio());
        o.put("calib_dataset", c.calib).put("nsamples", c.nsamples).put("seqlen", c.seqlen).put("seed", c.seed);
        long bytes = MemoryMeter.fp32ModelBytes(r.model());
        o.put("params_total", bytes / 4).put("params_total_dense", denseBytes / 4)
                .put("params_blocks", r.paramsAfter()).put("params_blocks_dense", r.paramsBefore());
        o.put("model_bytes", bytes).put("prune_seconds", seconds).put("peak_rss_bytes", peak).put("rss_after_load_bytes", baseline);
        if (peak < 0 || baseline < 0) o.putNull("memory_overhead_ratio");
        else o.put("memory_overhead_ratio", (double) (peak - baseline) / denseBytes);
        ArrayNode removed = o.putArray("removed_layers");
        r.removedLayers().forEach(removed::add);
        ArrayNode shapes = o.putArray("layer_sizes");
        for (BlockShape s : r.shapes()) {
            shapes.addObject().put("intermediate_size", s.intermediateSize()).put("num_attention_heads", s.numAttentionHeads())
                    .put("num_key_value_heads", s.numKeyValueHeads());
        }
        ArrayNode win = o.putArray("calibration_windows");
        for (Window w : windows) {
            win.addObject().put("dataset", w.dataset()).put("split", w.split().label()).put("document", w.document())
                    .put("offset", w.tokenOffset()).put("tokens", w.tokens().length);
        }
        return o;
    }

    private static String idsJson(List<Window> windows) throws JsonProcessingException {
        return JsonOutput.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(windows.stream().map(Window::tokens).toList());
    }

    private void print(ObjectNode report) {
        PrintWriter o = c.spec.commandLine().getOut();
        if (c.common.json) {
            ObjectNode j = report.deepCopy();
            j.remove("calibration_windows");
            j.remove("layer_sizes");
            j.put("out", c.out.toAbsolutePath().toString()).put("threads", c.common.threads());
            JsonOutput.print(o, j);
            return;
        }
        o.printf("model                  %s%n", c.model);
        o.printf("method                 %s (%s)%n", report.get("method").asText(), report.get("allocation").asText());
        o.printf("calibration            %s, %d x %d tokens, seed %d%n", c.calib, c.nsamples, c.seqlen, c.seed);
        o.printf("removed                %.4f of the blocks' linear parameters (%d -> %d)%n", report.get("actual_sparsity").asDouble(),
                report.get("params_blocks_dense").asLong(), report.get("params_blocks").asLong());
        o.printf("params_total           %d (dense %d)%n", report.get("params_total").asLong(), report.get("params_total_dense").asLong());
        o.printf("prune_seconds          %.2f%n", report.get("prune_seconds").asDouble());
        o.printf("memory_overhead_ratio  %s%n", report.get("memory_overhead_ratio"));
        if (report.has("perplexity")) {
            o.printf("perplexity             %.4f dense -> %.4f pruned (%s, %d x %d tokens)%n", report.get("perplexity_dense").asDouble(),
                    report.get("perplexity").asDouble(), c.eval, report.get("eval_windows").asInt(), c.evalSeqlen);
        }
        o.printf("saved                  %s%n", c.out.toAbsolutePath());
        o.flush();
    }
}
