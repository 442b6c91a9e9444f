package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.run.EvalResult;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/** {@code prunelab eval}: perplexity of a model on a dataset, a run without pruning through the {@link Pipeline}. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Perplexity on the evaluation split of a dataset (or its whole text, --split all).",
                "Protocol of the Wanda/SparseGPT reference code:",
                "documents joined with a blank line, tokenised once, cut into non-overlapping windows of --seqlen."})
final class EvalCommand implements Callable<Integer>, Spelling.Spelled {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;
    @Mixin TrackingOptions tracking;

    @Option(names = "--model", defaultValue = "smollm2-135m",
            description = "Registered name, .gguf file, or directory with config.json + safetensors (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--dataset", required = true,
            description = "brown, udhr:<code>, europarl:<lang>, nlpcorpus, wikitext2:<path>, or a text file.")
    String dataset;

    @Option(names = "--seqlen", defaultValue = "512", description = "Tokens per window (default: ${DEFAULT-VALUE}).")
    int seqlen;

    @Option(names = "--windows", defaultValue = "0", description = "Evaluate only the first N windows (default: 0 = all).")
    int windows;

    @Option(names = "--streaming",
            description = "Evaluate a model larger than memory: layer by layer, one block dequantised from the memory-mapped"
                    + " file at a time (fp32; same perplexity as without it).")
    boolean streaming;

    @Option(names = "--split", defaultValue = "evaluation",
            description = "evaluation: the dataset's evaluation split (every 10th document of a corpus or text file; all of"
                    + " UDHR); all: its whole text, calibration part included (for your own file) (default: ${DEFAULT-VALUE}).")
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
        RunSpec run = RunSpec.dense(Pipeline.modelArgument(model),
                List.of(new EvalSpec(dataset, seqlen, windows, whole)), format, null);
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
        PrintWriter out = spec.commandLine().getOut();
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
            JsonOutput.print(out, o);
        } else {
            out.printf("model       %s%ndataset     %s (%s, %s)%nperplexity  %.4f%ninterval    %s%ntokens      %d%nwindows     %d x %d%nseconds     %.2f%ntokens/s    %.1f%ntracking    %s%n",
                    model, dataset, e.part(), e.language(), e.perplexity(), CliRun.intervals(e, false), e.tokens(), e.windows(),
                    seqlen, e.seconds(), e.tokensPerSecond(), r.tracking());
            out.flush();
        }
        return 0;
    }
}
