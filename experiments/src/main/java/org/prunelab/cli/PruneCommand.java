package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.arch.PrunedModelWriter;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodParam;
import org.prunelab.prune.Methods;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.Pipeline;
import org.prunelab.run.PruneReport;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * {@code prunelab prune}: any registered method ({@link Methods}) through the {@link Pipeline}, saved as a Hugging Face
 * checkpoint directory with its {@code prune_report.json}, and recorded in MLflow. The method options
 * ({@code --sparsity}, {@code --pattern}, {@code --owl}, {@code --allocation}, {@code --restore}, {@code --layers},
 * {@code --rank-ratio}, {@code --activation-weighted}, ...) are made from the registry's parameter declarations
 * ({@link #addMethodOptions}), so a method added there is offered here with its help text.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Prune a model, optionally quantise it (--quantize q8_0|q4_0), and save it: a Hugging Face folder"
                + " (safetensors, config.json, tokenizer.json) or a GGUF file (--save-format gguf), with prune_report.json.",
                "Method options are listed below with the methods that take them."})
final class PruneCommand implements Callable<Integer>, Spelling.Spelled {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;
    @Mixin TrackingOptions tracking;
    @Mixin SaveOptions save;

    @Option(names = "--quantize",
            description = "After pruning, round the block linears and the LM head to a GGUF block type: q8_0 or q4_0"
                    + " (evaluated in that format; saved as GGUF).")
    String quantize;

    @Option(names = "--quant-method", defaultValue = "rtn",
            description = "rtn: round to nearest, as llama-quantize (no calibration); gptq: GPTQ on the calibration"
                    + " Hessians inside the pruning pass (mask methods; with sparsegpt the joint pass) (default: ${DEFAULT-VALUE}).")
    String quantMethod;

    @Option(names = "--model", defaultValue = "smollm2-135m",
            description = "Registered name, .gguf file, or checkpoint directory (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--method", required = true, description = "A registered method: see above, or './prunelab methods'.")
    String method;

    @Option(names = "--calib", paramLabel = "DATASET[,DATASET...]", description = "Calibration dataset; its calibration split is"
            + " used (default: brown). Several (a comma list, or --calib repeated) make a multilingual calibration set:"
            + " --nsamples is spread evenly over them (the remainder to the first), each window keeps its dataset's language"
            + " (what mwanda needs). UDHR translations calibrate on articles 1, 4, ..., 28 (small: e.g. --nsamples 8 --seqlen 128).")
    List<String> calibs;

    /** The calibration dataset(s) as one spec string (a comma list for several). */
    private String calib() {
        if (calibs == null || calibs.isEmpty()) return "brown";
        return CalibrationSpec.join(calibs.stream().flatMap(c -> java.util.Arrays.stream(c.split(",", -1))).toList());
    }

    @Option(names = "--nsamples", defaultValue = "128", description = "Calibration windows (default: ${DEFAULT-VALUE}).")
    int nsamples;

    @Option(names = "--seqlen", defaultValue = "512", description = "Tokens per calibration window (default: ${DEFAULT-VALUE}).")
    int seqlen;

    @Option(names = "--seed", defaultValue = "0", description = "Calibration sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", description = "Directory to create for the pruned model (must not exist); required unless --dry-run.")
    Path out;

    @Option(names = "--eval", description = "Also report perplexity before and after pruning on this dataset (repeatable: one set each).")
    List<String> eval;

    @Option(names = "--eval-seqlen", defaultValue = "512", description = "Window length for --eval (default: ${DEFAULT-VALUE}).")
    int evalSeqlen;

    @Option(names = "--eval-windows", defaultValue = "0", description = "Evaluate only the first N windows for --eval (default: 0 = all).")
    int evalWindows;

    @Option(names = "--streaming",
            description = "Prune a model larger than memory: blocks are dequantised from the memory-mapped file one at a"
                    + " time, each pruned block is written to its shard of --out (sharded safetensors) and dropped, --eval"
                    + " runs layer by layer. Same masks and perplexities as without it. For block-by-block methods"
                    + " (magnitude, wanda, sparsegpt, fasp, flap); no --quantize or --save-format gguf/sparse-bitmask.")
    boolean streaming;
    @Option(names = "--scratch", paramLabel = "DIR",
            description = "Folder for the calibration activations' temporary file (nsamples x seqlen x hidden fp32; --dry-run"
                    + " says how large), checked before anything loads (default: java.io.tmpdir).")
    Path scratch;
    @Option(names = "--dry-run",
            description = "Check everything and print the predicted peak memory (RSS) with its terms, then stop: no weights are"
                    + " read and nothing is written.")
    boolean dryRun;
    @Option(names = "--max-memory", paramLabel = "SIZE",
            description = "Refuse the run, before anything loads, if its predicted peak memory is above SIZE (e.g. 8G),"
                    + " naming settings that fit (--streaming, shorter --seqlen).")
    String maxMemory;
    @Option(names = "--eval-split", defaultValue = "evaluation",
            description = "evaluation (the dataset's evaluation split) or all (its whole text: for a file used only to evaluate) (default: ${DEFAULT-VALUE}).")
    String evalSplit;

    @Override
    public UnaryOperator<String> spelling() {
        return Spelling.PRUNE;
    }

    /**
     * Adds an option per registry parameter to the {@code prune} command: {@code --name} (snake_case as kebab-case),
     * booleans negatable ({@code --no-restore}), the help listing range, default and the methods that take it.
     */
    static void addMethodOptions(CommandSpec prune) {
        List<String> description = new ArrayList<>(List.of(prune.usageMessage().description()));
        description.add(1, "Methods (--method): " + Methods.listing() + ".");
        prune.usageMessage().description(description.toArray(String[]::new));
        for (String name : Methods.paramNames()) {
            List<String> takers = Methods.methodsWith(name);
            MethodParam p = Methods.byName(takers.getFirst()).param(name);
            boolean sameDoc = takers.stream().allMatch(t -> Methods.byName(t).param(name).doc().equals(p.doc()));
            // A parameter several methods take with their own meaning (sparsity) says so instead of one method's doc.
            String text = sameDoc ? p.doc() : "what it means is each method's own: ./prunelab methods";
            StringBuilder doc = new StringBuilder(text).append(", ").append(p.range());
            for (String t : takers) {
                Object d = Methods.byName(t).param(name).defaultValue();
                if (d != null) doc.append("; ").append(t).append(" default ").append(d);
            }
            doc.append(" (").append(String.join(", ", takers)).append(")");
            OptionSpec.Builder b = OptionSpec.builder(Spelling.flag(name)).description(doc.toString());
            if (p.type() == MethodParam.Type.BOOLEAN) {
                b.type(boolean.class).negatable(true).arity("0..1").fallbackValue("true");
            } else {
                b.type(String.class).paramLabel("<" + name + ">");
            }
            prune.addOption(b.build());
        }
    }

    /** The method options given on the command line, by registry name (booleans as Boolean, others as text). */
    private Map<String, Object> givenMethodParams() {
        CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        Map<String, Object> given = new LinkedHashMap<>();
        for (String name : Methods.paramNames()) {
            OptionSpec option = spec.findOption(Spelling.flag(name));
            if (option != null && parsed.hasMatchedOption(option)) given.put(name, option.getValue());
        }
        return given;
    }

    @Override
    public Integer call() {
        common.apply();
        if (out == null && !dryRun) throw new PrunelabException.InvalidArgument("--out is required: the folder to create for the pruned model");
        Method m = Methods.byName(method);
        Map<String, Object> given = givenMethodParams();
        for (String name : given.keySet()) m.param(name); // names a flag the method does not take
        List<EvalSpec> evaluation = new ArrayList<>();
        boolean whole = switch (evalSplit) {
            case "evaluation" -> false;
            case "all" -> true;
            default -> throw new PrunelabException.InvalidArgument("--eval-split must be evaluation or all, got " + evalSplit);
        };
        if (eval != null) for (String e : eval) evaluation.add(new EvalSpec(e, evalSeqlen, evalWindows, whole));
        RunSpec run = RunSpec.pruning(Pipeline.modelArgument(model), method, given, new CalibrationSpec(calib(), nsamples, seqlen),
                evaluation, "dense", null, seed);
        if (quantize != null) {
            run = run.withQuantize(new org.prunelab.run.QuantSpec(quantize, quantMethod), new CalibrationSpec(calib(), nsamples, seqlen), seed);
        } else if (spec.commandLine().getParseResult().hasMatchedOption("--quant-method")) {
            throw new PrunelabException.InvalidArgument("--quant-method needs --quantize q8_0|q4_0");
        }
        java.util.Set<org.prunelab.model.LinearRole> biasOn = run.methodEntry().create(run.methodArgs()).addsBiasTo();
        // A method/architecture pair whose result cannot be saved is refused before anything loads or runs.
        if (out != null) save.check(run, out, biasOn, "global".equals(run.params().get("allocation")));
        if (!save.gguf() && out != null) {
            PrunedModelWriter.checkSavable(org.prunelab.arch.ModelLoader.inspect(run.model(),
                            org.prunelab.cache.PrunelabHome.fromEnvironment()).config(), biasOn, method, out);
        }
        PrintWriter err = spec.commandLine().getErr();
        if (run.calibration() == null) {
            List<String> ignored = new ArrayList<>();
            for (String flag : List.of("--calib", "--nsamples", "--seqlen", "--seed")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(flag)) ignored.add(flag);
            }
            if (!ignored.isEmpty()) {
                err.println("warning: " + method + " reads no calibration data: " + String.join(", ", ignored)
                        + (ignored.size() == 1 ? " is" : " are") + " not used");
                err.flush();
            }
        }
        if (dryRun || maxMemory != null) {
            long max = maxMemory == null ? -1 : org.prunelab.prune.MemoryModel.parseSize(maxMemory);
            org.prunelab.prune.MemoryModel.Estimate e;
            org.prunelab.model.ModelShape shape;
            try (org.prunelab.run.Pipeline pipeline = new org.prunelab.run.Pipeline(org.prunelab.cache.PrunelabHome.fromEnvironment())
                    .scratchDir(scratch)) {
                org.prunelab.run.Pipeline.Plan plan = pipeline.plan(run);
                if (streaming) org.prunelab.run.Pipeline.checkStreamable(plan);
                int n = run.calibration() == null ? 0 : run.calibration().nsamples();
                int len = run.calibration() == null ? 0 : run.calibration().seqlen();
                shape = plan.shape();
                long headBytes = streaming ? org.prunelab.arch.ModelLoader.storedLmHeadBytes(run.model(),
                        org.prunelab.cache.PrunelabHome.fromEnvironment()) : 0;
                e = org.prunelab.prune.MemoryModel.predict(plan.shape(), plan.pruner(), n, len, streaming, headBytes);
                if (max >= 0) org.prunelab.prune.MemoryModel.check(e, max, plan.shape(), plan.pruner(), n, Math.max(len, 64));
            }
            if (dryRun) {
                printEstimate(e, max, shape);
                return 0;
            }
        }
        ObjectNode[] saved = new ObjectNode[1];
        if (streaming && run.quantize() != null) {
            throw new PrunelabException.InvalidArgument("--streaming writes the pruned fp32 blocks as they are made; --quantize"
                    + " is not supported with it yet: prune with --streaming, then quantize the saved model (prunelab quantize)");
        }
        if (streaming && !save.format().equals("safetensors")) {
            throw new PrunelabException.InvalidArgument("--streaming writes sharded safetensors as it prunes; --save-format "
                    + save.format() + " needs the whole model: drop --save-format, or drop --streaming");
        }
        CliRun.Result r = streaming
                ? CliRun.run("prune", run, tracking, true, err, o -> saved[0] = JsonOutput.object()
                        .put("save_format", "safetensors-sharded").put("out", out.toAbsolutePath().toString()), true, out, scratch)
                : CliRun.run("prune", run, tracking, true, err, o -> saved[0] = save.save(out, o, new ConsoleProgress("save gguf")),
                        false, null, scratch);
        print(r.outcome(), r.tracking(), saved[0]);
        return 0;
    }

    /** {@code --dry-run}: the prediction and its terms. */
    private void printEstimate(org.prunelab.prune.MemoryModel.Estimate e, long max, org.prunelab.model.ModelShape shape) {
        PrintWriter p = spec.commandLine().getOut();
        if (common.json) {
            ObjectNode j = JsonOutput.object().put("dry_run", true).put("model", model).put("method", method)
                    .put("streaming", e.streaming()).put("nsamples", nsamples).put("seqlen", seqlen)
                    .put("predicted_peak_rss_bytes", e.peakBytes()).put("activation_cache_file_bytes", e.scratchBytes())
                    .put("num_hidden_layers", shape.blocks().size()).put("hidden_size", shape.config().hiddenSize())
                    .put("block_linear_parameters", shape.blockLinearParameters() / Math.max(1, shape.blocks().size()));
            if (max >= 0) j.put("max_memory_bytes", max);
            ObjectNode terms = j.putObject("terms");
            e.terms().forEach(terms::put);
            JsonOutput.print(p, j);
            return;
        }
        p.printf("predicted peak RSS     %s%n", org.prunelab.prune.MemoryModel.gb(e.peakBytes()));
        e.terms().forEach((k, v) -> p.printf("  %-20s %s%n", k, org.prunelab.prune.MemoryModel.gb(v)));
        p.printf("activation cache file  %s on disk (java.io.tmpdir), not in the RSS%n", org.prunelab.prune.MemoryModel.gb(e.scratchBytes()));
        p.printf("mode                   %s%n", e.streaming() ? "streamed (--streaming)" : "in memory");
        if (max >= 0) p.printf("max memory             %s: fits%n", org.prunelab.prune.MemoryModel.gb(max));
        p.printf("dry run                nothing loaded or written%n");
        p.flush();
    }

    private void print(Pipeline.Outcome o, String tracked, ObjectNode saved) {
        PrintWriter p = spec.commandLine().getOut();
        RunResult r = o.result();
        if (common.json) {
            ObjectNode j = o.report().json().deepCopy();
            j.remove("linears");
            j.remove("calibration_windows");
            j.remove("layer_sizes");
            j.put("out", out.toAbsolutePath().toString()).put("threads", common.threads()).put("tracking", tracked);
            j.setAll(saved);
            JsonOutput.print(p, j);
            return;
        }
        ObjectNode rep = o.report().json();
        p.printf("model                  %s%n", model);
        p.printf("method                 %s (%s%s), requested sparsity %.4f of %s%n", method, rep.get("kind").asText(),
                r.spec().pattern().equals(rep.get("kind").asText()) || r.spec().pattern().equals("structured") ? ""
                        : ", pattern " + r.spec().pattern(), r.requestedSparsity(), rep.get("sparsity_of").asText());
        if (!r.spec().params().isEmpty()) p.printf("parameters             %s%n", r.spec().params());
        if (r.spec().calibration() != null) {
            p.printf("calibration            %s, %d x %d tokens, seed %d%n", calib(), nsamples, seqlen, seed);
        }
        p.printf("actual sparsity        %.6f of the blocks' linear parameters removed (embeddings and LM head not pruned)%n",
                r.actualSparsity());
        p.printf("params_total           %d (nonzero %d)%n", r.paramsTotal(), r.paramsNonzero());
        p.printf("prune_seconds          %.2f%n", r.pruneSeconds());
        p.printf("memory_overhead_ratio  %s (peak RSS %.1f MB)%n", Double.isNaN(r.memoryOverheadRatio()) ? "unknown"
                : String.format("%.4f", r.memoryOverheadRatio()), r.peakRssBytes() / 1e6);
        for (EvalResult e : r.evals()) {
            p.printf("perplexity             %.4f dense -> %.4f pruned (%s: %s, %d x %d tokens)%n", e.perplexityDense(),
                    e.perplexity(), e.dataset(), e.part(), e.windows(), e.seqlen());
            p.printf("                       %s%n", CliRun.intervals(e, true));
        }
        for (String w : r.warnings()) p.printf("warning                %s%n", w);
        if (r.spec().quantize() != null) {
            p.printf("quantized              %s by %s (block linears and the LM head)%n", r.spec().quantize().type(),
                    r.spec().quantize().method());
        }
        p.printf("saved                  %s (%s%s)%n", saved.has("gguf_file") ? saved.get("gguf_file").asText() : out.toAbsolutePath(),
                saved.has("gguf_file") ? String.format(java.util.Locale.ROOT, "GGUF %s, %.1f MB; ", saved.get("gguf_type").asText(),
                        saved.get("gguf_bytes").asLong() / 1e6) : "", PruneReport.FILE + " schema " + PruneReport.SCHEMA_VERSION);
        p.printf("tracking               %s%n", tracked);
        p.flush();
    }
}
