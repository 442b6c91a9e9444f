package org.prunelab.cli;

import org.prunelab.PrunelabException;
import org.prunelab.prune.Methods;

import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * How each CLI subcommand spells the parameters that core messages name with {@code ${param}} placeholders
 * ({@link PrunelabException}): {@code prune} evaluates with {@code --eval-windows}, {@code eval} with {@code --windows};
 * every method parameter is its registry name as a flag ({@code rank_ratio} is {@code --rank-ratio}).
 */
final class Spelling {
    private Spelling() {}

    /** A command whose messages spell parameters its own way. */
    interface Spelled {
        UnaryOperator<String> spelling();
    }

    /** {@code rank_ratio} -> {@code --rank-ratio}. */
    static String flag(String name) {
        return "--" + name.replace('_', '-');
    }

    static final UnaryOperator<String> PRUNE = of(Map.of(
            "calib.dataset", "--calib", "calib.nsamples", "--nsamples", "calib.seqlen", "--seqlen", "calib.seed", "--seed",
            "eval.dataset", "--eval", "eval.seqlen", "--eval-seqlen", "eval.windows", "--eval-windows", "eval.split", "--eval-split"));

    static final UnaryOperator<String> EVAL = of(Map.of(
            "eval.dataset", "--dataset", "eval.seqlen", "--seqlen", "eval.windows", "--windows", "eval.split", "--split"));

    static final UnaryOperator<String> BENCH = of(Map.of(
            "bench.prompt_len", "--prompt-len", "bench.gen", "--gen", "bench.repeat", "--repeat", "bench.warmup", "--warmup",
            "bench.format", "--format", "bench.vs_format", "--vs-format"));

    /** Flags for the names in {@code map}; every other unqualified name (method parameters, model, out) as {@code --name}. */
    private static UnaryOperator<String> of(Map<String, String> map) {
        return name -> {
            String spelled = map.get(name);
            if (spelled != null) return spelled;
            if (!name.contains(".")) return flag(name);
            return Methods.paramNames().contains(PrunelabException.plainName(name)) ? flag(PrunelabException.plainName(name)) : null;
        };
    }
}
