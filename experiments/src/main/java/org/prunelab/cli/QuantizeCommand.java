package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.prunelab.PrunelabException;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.Pipeline;
import org.prunelab.run.QuantSpec;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prunelab quantize}: a model as it is (a registered one, a GGUF file, or a folder {@code prune} wrote) rounded
 * to a GGUF block type and saved as {@code DIR/model.gguf}, through the same {@link Pipeline} as {@code prune}; or,
 * with {@code --type f32|f16}, exported to GGUF unchanged. Tracked in MLflow like every run.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Quantise a model (pruned or not) to a GGUF block type and save DIR/model.gguf for llama.cpp / Ollama.",
                "--type q8_0|q4_0 rounds the block linears and the LM head (rtn as llama-quantize, or gptq on calibration"
                        + " data); f32|f16 only converts the file."})
final class QuantizeCommand implements Callable<Integer>, Spelling.Spelled {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;
    @Mixin TrackingOptions tracking;

    @Option(names = "--model", defaultValue = "smollm2-135m",
            description = "Registered name, .gguf file, or a folder prune wrote (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--type", required = true, description = "q8_0, q4_0 (quantise), f16 or f32 (export only).")
    String type;

    @Option(names = "--quant-method", defaultValue = "rtn",
            description = "rtn (round to nearest, as llama-quantize) or gptq (needs --calib) (default: ${DEFAULT-VALUE}).")
    String quantMethod;

    @Option(names = "--calib", defaultValue = "brown", description = "Calibration dataset for gptq (default: ${DEFAULT-VALUE}).")
    String calib;

    @Option(names = "--nsamples", defaultValue = "128", description = "Calibration windows for gptq (default: ${DEFAULT-VALUE}).")
    int nsamples;

    @Option(names = "--seqlen", defaultValue = "512", description = "Tokens per calibration window (default: ${DEFAULT-VALUE}).")
    int seqlen;

    @Option(names = "--seed", defaultValue = "0", description = "Calibration sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, description = "Directory to create (must not exist): DIR/model.gguf and the report.")
    Path out;

    @Option(names = "--eval", description = "Also report perplexity before and after on this dataset (repeatable).")
    List<String> eval;

    @Option(names = "--eval-seqlen", defaultValue = "512", description = "Window length for --eval (default: ${DEFAULT-VALUE}).")
    int evalSeqlen;

    @Option(names = "--eval-windows", defaultValue = "0", description = "Evaluate only the first N windows (default: 0 = all).")
    int evalWindows;

    @Override
    public UnaryOperator<String> spelling() {
        return name -> switch (name) {
            case "quantize" -> "--type";
            default -> Spelling.PRUNE.apply(name);
        };
    }

    @Override
    public Integer call() {
        common.apply();
        String t = type.strip().toLowerCase(Locale.ROOT);
        boolean exportOnly = t.equals("f32") || t.equals("f16");
        List<EvalSpec> evaluation = new ArrayList<>();
        if (eval != null) for (String e : eval) evaluation.add(new EvalSpec(e, evalSeqlen, evalWindows, false));
        RunSpec run = RunSpec.dense(Pipeline.modelArgument(model), evaluation, "dense", null);
        if (!exportOnly) {
            run = run.withQuantize(new QuantSpec(t, quantMethod), new CalibrationSpec(calib, nsamples, seqlen), seed);
        } else if (!quantMethod.equals("rtn")) {
            throw new PrunelabException.InvalidArgument("--quant-method " + quantMethod + " rounds weights, but --type " + t
                    + " does not: use --type q8_0 or q4_0");
        }
        SaveOptions save = new SaveOptions();
        save.saveFormat = "gguf";
        save.ggufType = exportOnly ? t : null;
        save.check(run, out, java.util.Set.of(), false);
        ObjectNode[] saved = new ObjectNode[1];
        PrintWriter err = spec.commandLine().getErr();
        CliRun.Result r = CliRun.run("quantize", run, tracking, false, err,
                o -> saved[0] = save.save(out, o, new ConsoleProgress("save gguf")));
        print(r.outcome(), r.tracking(), saved[0]);
        return 0;
    }

    private void print(Pipeline.Outcome o, String tracked, ObjectNode saved) {
        PrintWriter p = spec.commandLine().getOut();
        RunResult r = o.result();
        if (common.json) {
            ObjectNode j = o.report().json().deepCopy();
            j.remove("linears");
            j.remove("calibration_windows");
            j.remove("layer_sizes");
            j.put("threads", common.threads()).put("tracking", tracked);
            j.setAll(saved);
            JsonOutput.print(p, j);
            return;
        }
        p.printf("model                  %s%n", model);
        p.printf("type                   %s%s%n", type, r.spec().quantize() != null ? " by " + r.spec().quantize().method() : " (export only)");
        for (EvalResult e : r.evals()) {
            p.printf("perplexity             %.4f before -> %.4f after (%s: %s, %d x %d tokens)%n", e.perplexityDense(),
                    e.perplexity(), e.dataset(), e.part(), e.windows(), e.seqlen());
            p.printf("                       %s%n", CliRun.intervals(e, true));
        }
        for (String w : r.warnings()) p.printf("warning                %s%n", w);
        p.printf("saved                  %s (GGUF %s, %.1f MB)%n", saved.get("gguf_file").asText(),
                saved.get("gguf_type").asText(), saved.get("gguf_bytes").asLong() / 1e6);
        p.printf("tracking               %s%n", tracked);
        p.flush();
    }
}
