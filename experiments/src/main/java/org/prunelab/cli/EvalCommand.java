package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.TaskSpec;
import org.prunelab.eval.tasks.McResult;
import com.fasterxml.jackson.databind.node.ArrayNode;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * {@code prunelab eval}: perplexity of a model on a dataset and/or zero-shot multiple-choice accuracy on tasks, a run
 * without pruning through the {@link Pipeline}.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Perplexity on the evaluation split of a dataset (or its whole text, --split all).",
                "Protocol of the Wanda/SparseGPT reference code:",
                "documents joined with a blank line, tokenised once, cut into non-overlapping windows of --seqlen.",
                "With --task: zero-shot multiple-choice accuracy scored as lm-evaluation-harness does (sum of the",
                "continuation's token log-probabilities; acc = argmax, acc_norm = argmax of loglik / characters),",
                "with 95%% bootstrap intervals over items. Give --dataset, --task (repeatable), or both."})
final class EvalCommand implements Callable<Integer>, Spelling.Spelled {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;
    @Mixin TrackingOptions tracking;

    @Option(names = "--model", defaultValue = "smollm2-135m",
            description = "Registered name, .gguf file, or directory with config.json + safetensors (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--dataset",
            description = "brown, udhr:<code>, europarl:<lang>, nlpcorpus, wikitext2:<path>, or a text file.")
    String dataset;

    @Option(names = "--task", paramLabel = "TASK",
            description = {"Multiple-choice task (repeatable): udhr-next:<code> (UDHR, e.g. udhr-next:swh), brown-next,",
                    "or <format>:<file> for a file in a published format: hellaswag, arc_easy, arc_challenge, piqa, boolq,",
                    "winogrande, rte, openbookqa (the Hugging Face datasets' JSON Lines), or mc (prunelab's own)."})
    List<String> tasks = new ArrayList<>();

    @Option(names = "--items", defaultValue = "0",
            description = "Score only the first N items of each task (default: 0 = all).")
    int items;

    @Option(names = "--seqlen", defaultValue = "512", description = "Tokens per window (default: ${DEFAULT-VALUE}).")
    int seqlen;

    @Option(names = "--windows", defaultValue = "0", description = "Evaluate only the first N windows (default: 0 = all).")
    int windows;

    @Option(names = "--streaming",
            description = "Evaluate a model larger than memory: layer by layer, one block dequantised from the memory-mapped"
                    + " file at a time (fp32; same perplexity as without it).")
    boolean streaming;

    @Option(names = "--split", defaultValue = "evaluation",
            description = "evaluation: the dataset's evaluation split (every 10th document of a corpus or text file; for"
                    + " UDHR the preamble and the 20 articles not in its calibration part); all: its whole text, calibration"
                    + " part included (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--format", defaultValue = "dense",
            description = "Execution format of the weights: auto (per layer and phase) or a registered format (dense, csr, nm, q8_0, q4_0, nm-q8, ...; `prunelab formats` lists them) (default: ${DEFAULT-VALUE}; "
                    + "lossless formats give the same perplexity up to float rounding; q8_0/q4_0 quantise the block linears and the LM head).")
    String format;

    @Override
    public UnaryOperator<String> spelling() {
        return Spelling.EVAL;
    }

    @Override
    public Integer call() {
        common.apply();
        boolean whole = switch (split) {
            case "evaluation" -> false;
            case "all" -> true;
            default -> throw new PrunelabException.InvalidArgument("--split must be evaluation or all, got " + split);
        };
        if (dataset == null && tasks.isEmpty()) {
            throw new PrunelabException.InvalidArgument("give --dataset (perplexity), --task (accuracy), or both");
        }
        RunSpec run = RunSpec.dense(Pipeline.modelArgument(model),
                dataset == null ? List.of() : List.of(new EvalSpec(dataset, seqlen, windows, whole)), format, null)
                .withTasks(tasks.stream().map(t -> new TaskSpec(t, items)).toList());
        PrintWriter err = spec.commandLine().getErr();
        CliRun.Result r = CliRun.run("eval", run, tracking, false, err, o -> {
            if (!format.strip().equalsIgnoreCase("dense") && o.evalFormat() != null) {
                err.println("eval: " + o.evalFormat().summary());
                err.flush();
            }
        }, streaming, null, null);
        try {
            return print(r);
        } finally {
            if (streaming) r.outcome().model().close(); // the streamed file
        }
    }

    private int print(CliRun.Result r) {
        EvalResult e = r.outcome().result().headline();
        List<McResult> accuracy = r.outcome().result().tasks();
        PrintWriter out = spec.commandLine().getOut();
        if (e == null) { // tasks only
            if (common.json) {
                ObjectNode o = JsonOutput.object();
                o.put("model", model).put("threads", common.threads()).put("format", format).put("tracking", r.tracking())
                        .put("add_bos_token", r.outcome().model().tokenizer().addBosToken());
                putTasks(o, accuracy);
                JsonOutput.print(out, o);
            } else {
                out.printf("model       %s%n", model);
                printTasks(out, accuracy);
                out.printf("tracking    %s%n", r.tracking());
                out.flush();
            }
            return 0;
        }
        if (common.json) {
            ObjectNode o = JsonOutput.object();
            o.put("model", model).put("dataset", dataset).put("split", e.split()).put("part", e.part())
                    .put("language", e.language()).put("seqlen", seqlen)
                    .put("perplexity", e.perplexity()).put("mean_nll", e.meanNll())
                    .put("perplexity_lo", e.perplexityInterval().lo()).put("perplexity_hi", e.perplexityInterval().hi())
                    .put("tokens", e.tokens()).put("windows", e.windows())
                    .put("seconds", e.seconds()).put("tokens_per_s", e.tokensPerSecond())
                    .put("threads", common.threads()).put("format", format).put("tracking", r.tracking())
                    // whether the stream began with the model's BOS (its tokenizer's default, REFERENCE.md protocol)
                    .put("add_bos_token", r.outcome().model().tokenizer().addBosToken());
            ObjectNode counts = o.putObject("format_counts");
            if (r.outcome().evalFormat() != null) {
                r.outcome().evalFormat().counts().forEach(counts::put);
            } else {
                counts.put("dense", 7 * r.outcome().model().model().blocks().size()); // streamed: read as fp32
            }
            o.put("streaming", streaming);
            if (!accuracy.isEmpty()) putTasks(o, accuracy);
            JsonOutput.print(out, o);
        } else {
            out.printf("model       %s%ndataset     %s (%s, %s)%nperplexity  %.4f%ninterval    %s%ntokens      %d%nwindows     %d x %d%nseconds     %.2f%ntokens/s    %.1f%ntracking    %s%n",
                    model, dataset, e.part(), e.language(), e.perplexity(), CliRun.intervals(e, false), e.tokens(), e.windows(),
                    seqlen, e.seconds(), e.tokensPerSecond(), r.tracking());
            printTasks(out, accuracy);
            out.flush();
        }
        return 0;
    }

    /** {@code "tasks": [{task, items, acc, acc_lo, acc_hi, acc_norm, ..., seconds, tokens_per_s, note}]}. */
    private static void putTasks(ObjectNode o, List<McResult> results) {
        ArrayNode a = o.putArray("tasks");
        for (McResult t : results) {
            ObjectNode x = a.addObject();
            x.put("task", t.task()).put("items", t.items().size())
                    .put("acc", t.acc().estimate()).put("acc_lo", t.acc().lo()).put("acc_hi", t.acc().hi())
                    .put("acc_norm", t.accNorm().estimate()).put("acc_norm_lo", t.accNorm().lo()).put("acc_norm_hi", t.accNorm().hi())
                    .put("level", t.acc().level()).put("tokens", t.tokens()).put("seconds", t.seconds())
                    .put("tokens_per_s", t.tokensPerSecond()).put("note", t.note());
        }
    }

    private static void printTasks(PrintWriter out, List<McResult> results) {
        for (McResult t : results) {
            out.printf("task        %s (%d items, %.1f s, %.0f tokens/s)%n  acc       %s%n  acc_norm  %s%n  items     %s%n",
                    t.task(), t.items().size(), t.seconds(), t.tokensPerSecond(), t.acc().format(4), t.accNorm().format(4), t.note());
        }
    }
}
