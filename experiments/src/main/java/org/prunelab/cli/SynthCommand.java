package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.arch.ModelLoader;
import org.prunelab.arch.SyntheticGguf;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.GgmlType;
import org.prunelab.io.GgufFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code prunelab synth}: a GGUF file of seeded random weights in a real model's shape ({@link SyntheticGguf}), for
 * memory and time measurements at scales no real model here reaches (tools/scale/). Never for quality numbers.
 */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = {"Write a GGUF file of seeded random weights in a real model's shape (llama2-7b, qwen2-7b, llama-1b,"
                + " or any sizes): for memory and time measurements only, never quality numbers."})
final class SynthCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--shape", defaultValue = "llama-1b", description = "llama2-7b, qwen2-7b or llama-1b; the size options below override its sizes (default: ${DEFAULT-VALUE}).")
    String shape;
    @Option(names = "--type", defaultValue = "q8_0", description = "Block weights' type: q8_0, q4_0, f16 or f32 (default: ${DEFAULT-VALUE}).")
    String type;
    @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--out", required = true, description = "The .gguf file to create (must not exist).")
    Path out;
    @Option(names = "--tokenizer-from", defaultValue = "smollm2-135m",
            description = "GGUF model whose byte-level BPE tokenizer is cut or padded to the vocabulary (default: ${DEFAULT-VALUE}).")
    String tokenizerFrom;
    @Option(names = "--hidden-size", description = "hidden_size (default: the shape's).") Integer hidden;
    @Option(names = "--layers", description = "num_hidden_layers, the decoder blocks (default: the shape's).") Integer layers;
    @Option(names = "--intermediate-size", description = "intermediate_size of the MLP (default: the shape's).") Integer intermediate;
    @Option(names = "--heads", description = "num_attention_heads (default: the shape's).") Integer heads;
    @Option(names = "--kv-heads", description = "num_key_value_heads (default: the shape's).") Integer kvHeads;
    @Option(names = "--vocab-size", description = "vocab_size (default: the shape's).") Integer vocab;

    @Override
    public Integer call() {
        common.apply();
        SyntheticGguf.Shape base = SyntheticGguf.shape(shape);
        SyntheticGguf.Shape s = new SyntheticGguf.Shape(base.family(), or(hidden, base.hiddenSize()), or(layers, base.layers()),
                or(intermediate, base.intermediate()), or(heads, base.heads()), or(kvHeads, base.kvHeads()),
                or(vocab, base.vocab()), base.context(), base.ropeTheta(), base.tied(), base.qkvBias());
        s.check(); // before the donor is opened or anything is written
        GgmlType t;
        try {
            t = GgmlType.valueOf(type.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new PrunelabException.InvalidArgument("--type " + type + " is not known: use q8_0, q4_0, f16 or f32");
        }
        Path donor = ModelLoader.resolve(tokenizerFrom, PrunelabHome.fromEnvironment());
        long bytes;
        try (GgufFile f = GgufFile.open(donor)) {
            bytes = SyntheticGguf.write(out, s, t, seed, f.metadata(), new ConsoleProgress("synth " + shape));
        }
        PrintWriter p = spec.commandLine().getOut();
        ObjectNode j = JsonOutput.object().put("out", out.toAbsolutePath().toString()).put("bytes", bytes)
                .put("type", t.name().toLowerCase(Locale.ROOT)).put("family", s.family()).put("hidden_size", s.hiddenSize())
                .put("num_hidden_layers", s.layers()).put("intermediate_size", s.intermediate())
                .put("num_attention_heads", s.heads()).put("num_key_value_heads", s.kvHeads()).put("vocab_size", s.vocab())
                .put("parameters", s.parameters()).put("seed", seed);
        if (common.json) {
            JsonOutput.print(p, j);
        } else {
            p.printf("wrote %s: %s %dx%d, MLP %d, heads %d/%d, vocab %d, %.2fB parameters, %s, %.2f GB (random weights: memory and time only)%n",
                    out, s.family(), s.hiddenSize(), s.layers(), s.intermediate(), s.heads(), s.kvHeads(), s.vocab(),
                    s.parameters() / 1e9, t, bytes / 1e9);
            p.flush();
        }
        return 0;
    }

    private static int or(Integer v, int d) { return v == null ? d : v; }
}
