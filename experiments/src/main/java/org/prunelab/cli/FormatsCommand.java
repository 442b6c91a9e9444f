package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.prunelab.format.WeightFormat;
import org.prunelab.format.WeightFormats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code prunelab formats}: the execution-format registry — what each stores, bytes per weight, its GGUF type. */
@Command(name = "formats", mixinStandardHelpOptions = true,
        description = "List the weight execution formats (--format): what each stores, whether it is lossless, bytes per"
                + " weight of a 576x576 layer with every weight nonzero and with half of them (the N:M formats hold 2:4 in"
                + " both), the GGUF type its bytes are written as.")
final class FormatsCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    /** The reference layer the bytes-per-weight columns describe: SmolLM2's q_proj. */
    private static final int ROWS = 576, COLS = 576;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long weights = (long) ROWS * COLS;
        if (common.json) {
            ObjectNode root = JsonOutput.object();
            ArrayNode list = root.putArray("formats");
            for (WeightFormat f : WeightFormats.all()) {
                ObjectNode n = list.addObject().put("name", f.name()).put("lossless", f.lossless())
                        .put("description", f.description())
                        .put("bytes_per_weight_dense", (double) f.weightBytes(ROWS, COLS, weights) / weights)
                        .put("bytes_per_weight_half_zero", (double) f.weightBytes(ROWS, COLS, weights / 2) / weights);
                f.ggufType().ifPresentOrElse(t -> n.put("gguf_type", t), () -> n.putNull("gguf_type"));
                f.lmHeadFormat().ifPresentOrElse(t -> n.put("lm_head_format", t), () -> n.putNull("lm_head_format"));
            }
            root.put("auto", "per layer and phase: lossless formats only (packed N:M where every group fits, CSR from "
                    + Math.round(100 * WeightFormats.CSR_MIN_SPARSITY) + "% zeros, else dense); quantised layers are kept");
            JsonOutput.print(out, root);
            return 0;
        }
        out.printf("%-8s %-8s %10s %10s %-6s  %s%n", "format", "lossless", "B/w dense", "B/w 50%", "gguf", "stores");
        for (WeightFormat f : WeightFormats.all()) {
            out.printf("%-8s %-8s %10.3f %10.3f %-6s  %s%n", f.name(), f.lossless() ? "yes" : "no",
                    (double) f.weightBytes(ROWS, COLS, weights) / weights,
                    (double) f.weightBytes(ROWS, COLS, weights / 2) / weights, f.ggufType().orElse("-"), f.description());
        }
        out.printf("%nauto: per layer and phase, lossless formats only (packed N:M where every group fits, CSR from %d%%"
                + " zeros, else dense); a quantised layer keeps its format.%nBytes per weight are for a %dx%d layer"
                + " (nm: 2:4; lowrank: parameters stored as given).%n", Math.round(100 * WeightFormats.CSR_MIN_SPARSITY), ROWS, COLS);
        out.flush();
        return 0;
    }
}
