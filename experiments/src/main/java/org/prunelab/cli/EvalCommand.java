package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Split;
import org.prunelab.eval.Evaluation;
import org.prunelab.eval.PerplexityResult;
import org.prunelab.model.FormatConversion;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.ModelLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;

/** {@code prunelab eval}: perplexity of a model on a dataset's evaluation split. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Perplexity on the evaluation split of a dataset.",
                "Protocol of the Wanda/SparseGPT reference code:",
                "documents joined with a blank line, tokenised once, cut into non-overlapping windows of --seqlen."})
final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--model", defaultValue = "smollm2-135m",
            description = "Registered name, .gguf file, or directory with config.json + safetensors (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--dataset", required = true,
            description = "brown, udhr:<code>, europarl:<lang>, nlpcorpus, wikitext2:<path>, or a text file.")
    String dataset;

    @Option(names = "--seqlen", defaultValue = "512", description = "Tokens per window (default: ${DEFAULT-VALUE}).")
    int seqlen;

    @Option(names = "--windows", description = "Evaluate only the first N windows, N >= 1 (default: all).")
    Integer windows;

    @Option(names = "--format", defaultValue = "dense",
            description = "Weight format of the block linears: auto, dense, csr or nm (default: ${DEFAULT-VALUE}; "
                    + "sparse formats give the same perplexity up to float rounding, faster on sparse models).")
    String format;

    @Override
    public Integer call() {
        common.apply();
        if (windows != null && windows < 1) {
            throw new PrunelabException.InvalidArgument("--windows must be at least 1, got " + windows + "; leave it out to evaluate every window");
        }
        PrunelabHome home = PrunelabHome.fromEnvironment();
        Corpus corpus = Datasets.resolve(dataset, home);
        try (LoadedModel loaded = ModelLoader.load(model, home)) {
            FormatConversion conversion = FormatConversion.apply(loaded.model(), format);
            if (!format.strip().equalsIgnoreCase("dense")) {
                spec.commandLine().getErr().println("eval: " + conversion.summary());
                spec.commandLine().getErr().flush();
            }
            PerplexityResult r = Evaluation.perplexity(loaded, corpus, seqlen, windows == null ? 0 : windows, new ConsoleProgress("eval"));
            var out = spec.commandLine().getOut();
            if (common.json) {
                ObjectNode o = JsonOutput.object();
                o.put("model", model).put("dataset", dataset).put("split", Split.EVALUATION.label())
                        .put("language", corpus.language()).put("seqlen", seqlen)
                        .put("perplexity", r.perplexity()).put("mean_nll", r.meanLoss())
                        .put("tokens", r.tokens()).put("windows", r.windows())
                        .put("seconds", r.seconds()).put("tokens_per_s", r.tokensPerSecond())
                        .put("threads", common.threads()).put("format", conversion.requested());
                ObjectNode counts = o.putObject("format_counts");
                conversion.counts().forEach(counts::put);
                JsonOutput.print(out, o);
            } else {
                out.printf("model       %s%ndataset     %s (%s split, %s)%nperplexity  %.4f%ntokens      %d%nwindows     %d x %d%nseconds     %.2f%ntokens/s    %.1f%n",
                        model, dataset, Split.EVALUATION.label(), corpus.language(), r.perplexity(), r.tokens(),
                        r.windows(), seqlen, r.seconds(), r.tokensPerSecond());
                out.flush();
            }
        }
        return 0;
    }
}
