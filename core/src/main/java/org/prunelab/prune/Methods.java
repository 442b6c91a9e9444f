package org.prunelab.prune;

import org.prunelab.PrunelabException;
import org.prunelab.prune.structured.Fasp;
import org.prunelab.prune.structured.Flap;
import org.prunelab.prune.structured.LowRank;
import org.prunelab.prune.structured.ShortGpt;

import java.util.List;

/**
 * The method registry: every pruning method prunelab offers, one line each. The CLI ({@code prune --method} and
 * its options), the sweep spec ({@code method:} and the parameter keys), the notebook facade and the README's
 * method table all come from this list, and a test keeps them in step. To add a method, write its file (a
 * {@link PruningMethod} score or a structured {@link Pruner}, with a {@code METHOD} entry) and add that entry here
 * (see the README's "Add a method").
 */
public final class Methods {
    /** The name of "no pruning": the dense model as loaded, the baseline every ratio divides by. Not a method. */
    public static final String DENSE = "dense";

    private static final List<Method> ALL = List.of(
            MagnitudePruner.METHOD,
            WandaPruner.METHOD,
            SparseGptPruner.METHOD,
            MWandaPruner.METHOD,
            Fasp.METHOD,
            Flap.METHOD,
            ShortGpt.METHOD,
            LowRank.METHOD);

    private Methods() {}

    /** Every registered method, in the order help texts list them. */
    public static List<Method> all() {
        return ALL;
    }

    /** Every method name. */
    public static List<String> names() {
        return ALL.stream().map(Method::name).toList();
    }

    /**
     * The method called {@code name}.
     *
     * @throws PrunelabException.InvalidArgument for an unknown name; the message lists the methods by kind
     */
    public static Method byName(String name) {
        for (Method m : ALL) if (m.name().equals(name)) return m;
        throw new PrunelabException.InvalidArgument("unknown pruning method '" + name + "': use one of " + listing());
    }

    /** Whether {@code name} is registered. */
    public static boolean isKnown(String name) {
        return ALL.stream().anyMatch(m -> m.name().equals(name));
    }

    /** "magnitude, wanda, sparsegpt (unstructured, N:M), fasp, flap, shortgpt (structured), lowrank (low-rank)". */
    public static String listing() {
        StringBuilder s = new StringBuilder();
        for (Method.Kind kind : Method.Kind.values()) {
            List<String> names = ALL.stream().filter(m -> m.kind() == kind).map(Method::name).toList();
            if (names.isEmpty()) continue;
            if (!s.isEmpty()) s.append("; ");
            s.append(String.join(", ", names)).append(" (").append(kind == Method.Kind.UNSTRUCTURED ? "unstructured, N:M" : kind.label()).append(")");
        }
        return s.toString();
    }

    /** Every parameter name any method declares, in first-declared order. */
    public static List<String> paramNames() {
        return ALL.stream().flatMap(m -> m.paramNames().stream()).distinct().toList();
    }

    /** The methods that declare parameter {@code name}. */
    public static List<String> methodsWith(String name) {
        return ALL.stream().filter(m -> m.hasParam(name)).map(Method::name).toList();
    }

    /**
     * The method table of the README: one row per method with its kind, parameters (range, default), what its
     * sparsity is a share of, and the paper. A test keeps the README's copy equal to this.
     */
    public static String markdownTable() {
        StringBuilder t = new StringBuilder("| method | kind | parameters (range, default) | `sparsity` is a share of | paper |\n"
                + "|---|---|---|---|---|\n");
        for (Method m : ALL) {
            List<String> ps = m.params().stream().map(p -> "`" + p.name() + "` " + p.range()
                    + (p.defaultValue() != null ? " = " + p.defaultValue() : "")).toList();
            t.append("| `").append(m.name()).append("` | ").append(m.kind().label()).append(" | ")
                    .append(cell(String.join(", ", ps))).append(" | ").append(cell(m.sparsityOf())).append(" | ")
                    .append(cell(m.paper())).append(" |\n");
        }
        return t.toString();
    }

    /** A Markdown table cell: a literal '|' would end it. */
    private static String cell(String text) {
        return text.replace("|", "\\|");
    }
}
