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
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
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
