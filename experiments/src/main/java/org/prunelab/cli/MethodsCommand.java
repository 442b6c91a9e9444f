package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodParam;
import org.prunelab.prune.Methods;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code prunelab methods}: the method registry — every method with its kind, parameters and paper. */
@Command(name = "methods", mixinStandardHelpOptions = true,
        description = "List the pruning methods: kind, parameters (range, default, meaning), what sparsity is a share of, the paper.")
final class MethodsCommand implements Callable<Integer> {
    /** The README block the registry's table lives in (MethodsCommandTest keeps it equal to the registry). */
    static final String BEGIN = "<!-- methods: begin (generated from the method registry; MethodsCommandTest checks it) -->\n";
    static final String END = "<!-- methods: end -->";

    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @picocli.CommandLine.Option(names = "--readme",
            description = "Rewrite the method table of this checkout's README.md from the registry (after adding a method).")
    boolean readme;

    @Override
    public Integer call() throws java.io.IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (readme) {
            java.nio.file.Path file = java.nio.file.Path.of(System.getProperty("prunelab.root", ".")).resolve("README.md");
            String text = java.nio.file.Files.readString(file);
            int b = text.indexOf(BEGIN);
            int e = text.indexOf(END);
            if (b < 0 || e < b) {
                throw new org.prunelab.PrunelabException.InvalidArgument(file + " has no method table between '" + BEGIN.strip()
                        + "' and '" + END + "'; put those two lines where the table belongs");
            }
            String updated = text.substring(0, b + BEGIN.length()) + Methods.markdownTable() + text.substring(e);
            org.prunelab.io.AtomicFiles.writeString(file, updated);
            out.println((updated.equals(text) ? "unchanged: " : "updated: ") + file);
            out.flush();
            return 0;
        }
        if (common.json) {
            ObjectNode root = JsonOutput.object();
            ArrayNode list = root.putArray("methods");
            for (Method m : Methods.all()) {
                ObjectNode n = list.addObject().put("name", m.name()).put("kind", m.kind().label()).put("summary", m.summary())
                        .put("paper", m.paper()).put("sparsity_of", m.sparsityOf());
                ArrayNode ps = n.putArray("params");
                for (MethodParam p : m.params()) {
                    ObjectNode pn = ps.addObject().put("name", p.name()).put("type", p.type().name().toLowerCase())
                            .put("range", p.range()).put("doc", p.doc());
                    if (p.defaultValue() != null) pn.putPOJO("default", p.defaultValue());
                    else pn.putNull("default");
                }
            }
            JsonOutput.print(out, root);
            return 0;
        }
        for (Method m : Methods.all()) {
            out.printf("%-10s %s: %s%n", m.name(), m.kind().label(), m.summary());
            out.printf("           sparsity is a share of %s%n", m.sparsityOf());
            for (MethodParam p : m.params()) {
                out.printf("           --%-20s %s%s: %s%n", p.name().replace('_', '-'), p.range(),
                        p.defaultValue() != null ? " = " + p.defaultValue() : "", p.doc());
            }
            out.printf("           %s%n%n", m.paper());
        }
        out.flush();
        return 0;
    }
}
