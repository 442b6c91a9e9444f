package org.prunelab.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.bench.MemoryMeter;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Window;
import org.prunelab.eval.Evaluation;
import org.prunelab.eval.PerplexityResult;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.ModelLoader;
import org.prunelab.model.PrunedModelWriter;
import org.prunelab.prune.CalibrationData;
import org.prunelab.prune.LayerwisePruner;
import org.prunelab.prune.LayerwiseResult;
import org.prunelab.prune.OwlAllocator;
import org.prunelab.prune.PruneReport;
import org.prunelab.prune.PruningMethod;
import org.prunelab.prune.PruningMethods;
import org.prunelab.prune.SparsityPattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code prunelab prune}: unstructured or N:M pruning of every block's linears with sequential
 * calibration ({@link LayerwisePruner}), saved as a Hugging Face checkpoint directory with a
 * {@code prune_report.json}.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Prune a model and save it (safetensors, config.json, tokenizer.json, prune_report.json).",
                "Magnitude, Wanda or SparseGPT (unstructured or N:M, optionally OWL), or structured FASP, FLAP, ShortGPT,"
                        + " low-rank; block by block on calibration windows."})
final class PruneCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--model", defaultValue = "smollm2-135m",
            description = "Registered name, .gguf file, or checkpoint directory (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--method", required = true, description = "magnitude, wanda, sparsegpt, or structured: fasp, flap, shortgpt, lowrank.")
    String method;

    @Option(names = "--sparsity", description = "Fraction of weights to remove, in [0, 1); implied (1 - N/M) for N:M patterns.")
    Double sparsity;

    @Option(names = "--pattern", defaultValue = "unstructured", description = "unstructured, 2:4 or 4:8 (any N:M) (default: ${DEFAULT-VALUE}).")
    String pattern;

    @Option(names = "--owl", description = "Outlier-weighted layer-wise sparsity (OWL, M=5, lambda=0.08) on top of wanda or sparsegpt.")
    boolean owl;

    @Option(names = "--calib", defaultValue = "brown", description = "Calibration dataset; its calibration split is used (default: ${DEFAULT-VALUE}).")
    String calib;

    @Option(names = "--nsamples", defaultValue = "128", description = "Calibration windows (default: ${DEFAULT-VALUE}).")
    int nsamples;

    @Option(names = "--seqlen", defaultValue = "512", description = "Tokens per calibration window (default: ${DEFAULT-VALUE}).")
    int seqlen;

    @Option(names = "--seed", defaultValue = "0", description = "Calibration sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, description = "Directory to create for the pruned model (must not exist).")
    Path out;

    @Option(names = "--eval", description = "Also report perplexity before and after pruning on this dataset's evaluation split.")
    String eval;

    @Option(names = "--eval-seqlen", defaultValue = "512", description = "Window length for --eval (default: ${DEFAULT-VALUE}).")
    int evalSeqlen;

    @Option(names = "--eval-windows", defaultValue = "0", description = "Evaluate only the first N windows for --eval (default: all).")
    int evalWindows;

    @Option(names = "--allocation",
            description = "fasp, flap: uniform (same share of channels and heads in every block) or global (ranked across blocks); default uniform for fasp, global for flap.")
    String allocation;

    @Option(names = "--no-restore", description = "fasp: skip the least-squares restoration of o_proj/down_proj.")
    boolean noRestore;

    @Option(names = "--layers", description = "shortgpt: number of decoder blocks to remove.")
    Integer layers;

    @Option(names = "--rank-ratio", description = "lowrank: kept rank as a share of min(in, out) of each linear, in (0, 1].")
    Double rankRatio;

    @Option(names = "--activation-weighted", description = "lowrank: scale columns by input norms before the SVD.")
    boolean activationWeighted;

    @Override
    public Integer call() throws JsonProcessingException {
        if (StructuredPruneRun.METHODS.contains(method)) return new StructuredPruneRun(this).call();
        common.apply();
        // Everything that can be checked without the model is checked before seconds of loading.
        PruningMethod<?> m;
        try {
            m = PruningMethods.byName(method);
        } catch (PrunelabException.InvalidArgument e) {
            throw new PrunelabException.InvalidArgument("unknown pruning method '" + method + "': use one of "
                    + String.join(", ", PruningMethods.NAMES) + " (unstructured, N:M) or "
                    + String.join(", ", new java.util.TreeSet<>(StructuredPruneRun.METHODS)) + " (structured)");
        }
        SparsityPattern p = sparsityPattern();
        LayerwisePruner pruner = new LayerwisePruner(m, p, owl ? new OwlAllocator() : null);
        if (nsamples < 1) {
            throw new PrunelabException.InvalidArgument("--nsamples must be at least 1, got " + nsamples
                    + ": the reference calibrates on 128 windows");
        }
        PrunedModelWriter.checkWritable(out);
        PrunelabHome home = PrunelabHome.fromEnvironment();
        Corpus calibCorpus = m.needsCalibration() ? Datasets.resolve(calib, home) : null;
        Corpus evalCorpus = eval != null ? Datasets.resolve(eval, home) : null;

        try (LoadedModel loaded = ModelLoader.load(model, home)) {
            List<Window> windows = List.of();
            if (m.needsCalibration()) {
                loaded.checkSeqlen(seqlen);
                windows = CalibrationData.sample(calibCorpus, loaded.tokenizer()::encode, nsamples, seqlen, seed);
            }
            PerplexityResult dense = evalCorpus == null ? null
                    : Evaluation.perplexity(loaded, evalCorpus, evalSeqlen, evalWindows, new ConsoleProgress("eval dense"));
            // Baseline just before pruning: after loading and, with --eval, after the dense evaluation, whose
            // logits buffers would otherwise be charged to the pruning method.
            MemoryMeter meter = MemoryMeter.afterLoad();

            meter.startPeak();
            long start = System.nanoTime();
            LayerwiseResult result = pruner.prune(loaded.model(), windows.stream().map(Window::tokens).toList(),
                    new ConsoleProgress("prune " + m.name()));
            double seconds = (System.nanoTime() - start) / 1e9;
            long peak = meter.peakBytes();
            meter.close();

            PerplexityResult after = evalCorpus == null ? null
                    : Evaluation.perplexity(loaded, evalCorpus, evalSeqlen, evalWindows, new ConsoleProgress("eval pruned"));
            PruneReport report = new PruneReport(modelForReport(model), result, m.needsCalibration() ? calib : null, nsamples, seqlen,
                    seed, windows, seconds, meter.baselineBytes(), peak, MemoryMeter.fp32ModelBytes(loaded.model()));
            Map<String, String> files = new LinkedHashMap<>();
            ObjectNode reportJson = report.toJsonNode();
            if (!windows.isEmpty()) files.put("calibration_ids.json", idsJson(windows));
            if (after != null) {
                reportJson.put("eval_dataset", eval).put("eval_seqlen", evalSeqlen).put("eval_windows", after.windows())
                        .put("perplexity_dense", dense.perplexity()).put("perplexity", after.perplexity())
                        .put("ppl_ratio", after.perplexity() / dense.perplexity());
                files.put("eval_ids.json", idsJson(Evaluation.windows(loaded, evalCorpus, evalSeqlen, evalWindows)));
            }
            files.put("prune_report.json", JsonOutput.MAPPER.writeValueAsString(reportJson));
            PrunedModelWriter.write(out, loaded.model(), loaded.tokenizer(), files);
            print(report, dense, after);
        }
        return 0;
    }

    /** Token ids of windows as a JSON list of lists: what tools/reference/compare_unstructured.py replays. */
    private static String idsJson(List<Window> windows) throws JsonProcessingException {
        return JsonOutput.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(windows.stream().map(Window::tokens).toList());
    }

    private SparsityPattern sparsityPattern() {
        if (pattern.equalsIgnoreCase("unstructured")) {
            if (sparsity == null) {
                throw new PrunelabException.InvalidArgument("--sparsity is required for --pattern unstructured, e.g. --sparsity 0.5");
            }
            return SparsityPattern.unstructured(sparsity);
        }
        if (!pattern.contains(":")) {
            throw new PrunelabException.InvalidArgument("unknown --pattern '" + pattern + "': use unstructured, 2:4 or 4:8");
        }
        SparsityPattern nm = SparsityPattern.parse(pattern);
        if (sparsity != null && Math.abs(sparsity - nm.sparsity()) > 1e-9) {
            SparsityPattern.unstructured(sparsity); // a value outside [0, 1) is reported as such first
            throw new PrunelabException.InvalidArgument("--sparsity " + sparsity + " contradicts --pattern " + nm.label()
                    + ", which always removes " + nm.sparsity() + " of the weights: drop --sparsity");
        }
        return nm;
    }

    private void print(PruneReport r, PerplexityResult dense, PerplexityResult after) {
        PrintWriter o = spec.commandLine().getOut();
        if (common.json) {
            ObjectNode j = r.toJsonNode();
            j.remove("linears");
            j.remove("calibration_windows");
            j.put("out", out.toAbsolutePath().toString()).put("threads", common.threads());
            if (dense != null) {
                j.put("eval_dataset", eval).put("eval_seqlen", evalSeqlen).put("eval_windows", after.windows())
                        .put("perplexity_dense", dense.perplexity()).put("perplexity", after.perplexity())
                        .put("ppl_ratio", after.perplexity() / dense.perplexity());
            }
            JsonOutput.print(o, j);
            return;
        }
        LayerwiseResult res = r.result();
        o.printf("model                  %s%n", model);
        o.printf("method                 %s, %s, target sparsity %.4f%s%n", res.method(), res.pattern().label(),
                res.pattern().sparsity(), res.owl() ? ", OWL" : "");
        if (r.calibDataset() != null) {
            o.printf("calibration            %s, %d x %d tokens, seed %d%n", r.calibDataset(), r.nsamples(), r.seqlen(), r.seed());
        }
        o.printf("actual sparsity        %.6f over %d pruned linears (embeddings and LM head untouched)%n",
                res.actualSparsity(), res.linears().size());
        o.printf("prune_seconds          %.2f%n", r.pruneSeconds());
        o.printf("memory_overhead_ratio  %.4f (peak RSS %.1f MB, after load %.1f MB, fp32 model %.1f MB)%n",
                r.memoryOverheadRatio(), r.peakRssBytes() / 1e6, r.rssAfterLoadBytes() / 1e6, r.modelBytes() / 1e6);
        if (dense != null) {
            o.printf("perplexity             %.4f dense -> %.4f pruned (%s evaluation split, %d x %d tokens)%n",
                    dense.perplexity(), after.perplexity(), eval, after.windows(), evalSeqlen);
        }
        o.printf("saved                  %s%n", out.toAbsolutePath());
        o.flush();
    }

    /**
     * The model as prune_report.json records it: a registered name as given, a file or folder as an absolute path,
     * so `bench --vs dense` finds the dense model from any working directory.
     */
    static String modelForReport(String model) {
        try {
            java.nio.file.Path p = java.nio.file.Path.of(model);
            return java.nio.file.Files.exists(p) ? p.toAbsolutePath().normalize().toString() : model;
        } catch (java.nio.file.InvalidPathException e) {
            return model;
        }
    }
}
