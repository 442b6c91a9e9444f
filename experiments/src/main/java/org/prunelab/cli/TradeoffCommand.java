package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.cache.Setup;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.eval.Evaluation;
import org.prunelab.eval.PerplexityResult;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.ModelLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code prunelab tradeoff}: the main job. The pruning sweep is not built yet, so for now it runs setup and
 * the <em>dense</em> baseline that every pruned number will be compared with, on Brown and UDHR slices,
 * writes {@code results/dense-baseline.md}, and says plainly that no pruning was run.
 */
@Command(name = "tradeoff", mixinStandardHelpOptions = true,
        description = {"The trade-off study (for now: setup and the dense baseline only).",
                "NOTE: pruning sweeps are not implemented yet; this runs setup and the",
                "dense baseline (Brown, UDHR eng/swh) and writes results/dense-baseline.md."})
final class TradeoffCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--model", defaultValue = "smollm2-135m", description = "Model (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--out", description = "Table to write (default: results/dense-baseline.md in the prunelab folder).")
    Path out;

    /** Datasets of the baseline and their seqlen: UDHR slices are ~2.5k tokens, so they use shorter windows. */
    private static final List<String[]> BASELINE = List.of(
            new String[] {"brown", "512"}, new String[] {"udhr:eng", "256"}, new String[] {"udhr:swh", "256"});

    @Override
    public Integer call() {
        common.apply();
        if (out == null) out = Path.of(System.getProperty("prunelab.root", ".")).resolve("results/dense-baseline.md");
        checkWritable(out);
        var err = spec.commandLine().getErr();
        err.println("tradeoff: pruning sweeps are not implemented yet; running setup and the dense baseline only.");
        err.flush();
        Setup.system().ensure(List.of(), line -> { err.println("setup: " + line); err.flush(); });
        PrunelabHome home = PrunelabHome.fromEnvironment();
        List<Row> rows = new ArrayList<>();
        try (LoadedModel loaded = ModelLoader.load(model, home)) {
            for (String[] d : BASELINE) {
                Corpus corpus = Datasets.resolve(d[0], home);
                int seqlen = Integer.parseInt(d[1]);
                PerplexityResult r = Evaluation.perplexity(loaded, corpus, seqlen, 0, new ConsoleProgress("dense " + d[0]));
                rows.add(new Row(d[0], corpus.language(), r));
            }
        }
        writeTable(rows);
        var o = spec.commandLine().getOut();
        if (common.json) {
            ObjectNode root = JsonOutput.object().put("model", model).put("pruning", "not implemented yet")
                    .put("table", out.toString());
            ArrayNode list = root.putArray("dense");
            for (Row r : rows) {
                list.addObject().put("eval_dataset", r.dataset).put("language", r.language).put("seqlen", r.result.seqlen())
                        .put("perplexity", r.result.perplexity()).put("windows", r.result.windows())
                        .put("tokens_per_s", r.result.tokensPerSecond());
            }
            JsonOutput.print(o, root);
        } else {
            o.println(table(rows));
            o.println("wrote " + out + " (dense baseline only; the pruning sweep is not implemented yet)");
            o.flush();
        }
        return 0;
    }

    private record Row(String dataset, String language, PerplexityResult result) {}

    private String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder("| eval_dataset | language | seqlen | windows | perplexity | tokens/s |\n|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format("| %s | %s | %d | %d | %.3f | %.0f |%n", r.dataset, r.language, r.result.seqlen(),
                    r.result.windows(), r.result.perplexity(), r.result.tokensPerSecond()));
        }
        return sb.toString();
    }

    /** Fails before minutes of evaluation if the table could not be written afterwards. */
    private static void checkWritable(Path table) {
        Path dir = table.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(Files.createTempFile(dir, ".tradeoff", ".check"));
        } catch (IOException | RuntimeException e) {
            throw new PrunelabException.InvalidArgument("cannot write --out " + table + " (" + e.getMessage()
                    + "); choose a writable location");
        }
    }

    private void writeTable(List<Row> rows) {
        String text = "# Dense baseline: " + model + "\n\n"
                + "Made by `./prunelab tradeoff` (threads: " + common.threads() + "). Perplexity on each dataset's evaluation\n"
                + "split, non-overlapping windows of `seqlen` tokens (the Wanda/SparseGPT protocol described in README.md).\n"
                + "The pruning sweep is not implemented yet; these are the dense numbers every pruned run will be\n"
                + "compared with.\n\n" + table(rows);
        try {
            Path abs = out.toAbsolutePath();
            Files.createDirectories(abs.getParent());
            Path tmp = Files.createTempFile(abs.getParent(), ".tradeoff", ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out, e);
        }
    }
}
