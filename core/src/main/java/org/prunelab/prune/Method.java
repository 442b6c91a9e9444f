package org.prunelab.prune;

import org.prunelab.PrunelabException;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A pruning method as the registry ({@link Methods}) lists it: its name, kind, paper, what its {@code sparsity} is a
 * share of, its parameters, and a factory for a configured {@link Pruner}. Every entry point (CLI options and help,
 * sweep spec validation, the notebook facade, the README's method table) reads methods from here, so a method
 * added to the registry is offered everywhere at once.
 *
 * @param name       the name used everywhere ({@code --method}, {@code method:} in a sweep, MLflow {@code method})
 * @param kind       unstructured (masks, including N:M), structured (removes units, a smaller model) or low-rank
 * @param summary    one line: what it does
 * @param paper      the paper it follows, as authors, title, venue and year
 * @param sparsityOf what the requested {@code sparsity} is a share of, for this method
 * @param params     its parameters, in the order help texts list them
 * @param factory    builds the configured method from checked parameters; may throw
 *                   {@link PrunelabException.InvalidArgument} for combinations the parameters cannot express
 */
public record Method(String name, Kind kind, String summary, String paper, String sparsityOf, List<MethodParam> params,
                     Function<MethodArgs, Pruner> factory) {

    /** How a method removes parameters. */
    public enum Kind {
        /** Zeroes single weights by a mask (any position, or N:M groups); the matrices keep their shapes. */
        UNSTRUCTURED,
        /** Removes whole units (channels, heads, blocks): a smaller dense model. */
        STRUCTURED,
        /** Replaces each matrix by two thin factors. */
        LOW_RANK;

        /** Lower-case label ({@code unstructured}, {@code structured}, {@code low-rank}). */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    public Method {
        params = List.copyOf(params);
        Set<String> names = new LinkedHashSet<>();
        for (MethodParam p : params) {
            if (!names.add(p.name())) throw new IllegalArgumentException(name + " declares " + p.name() + " twice");
        }
    }

    /**
     * The declared parameter {@code name}.
     *
     * @throws PrunelabException.InvalidArgument if this method has no such parameter (the message lists its parameters)
     */
    public MethodParam param(String name) {
        for (MethodParam p : params) if (p.name().equals(name)) return p;
        List<String> takers = Methods.methodsWith(name);
        throw new PrunelabException.InvalidArgument("${method} " + this.name + " has no parameter ${" + name + "}"
                + (takers.isEmpty() ? "" : " (" + String.join(", ", takers) + (takers.size() == 1 ? " takes" : " take") + " it)")
                + "; its parameters are " + String.join(", ", paramNames().stream().map(n -> "${" + n + "}").toList()));
    }

    /** Whether this method declares {@code name}. */
    public boolean hasParam(String name) {
        return params.stream().anyMatch(p -> p.name().equals(name));
    }

    public List<String> paramNames() {
        return params.stream().map(MethodParam::name).toList();
    }

    /**
     * Checks {@code given} (parameter name -> value as text or Java value; null values are ignored) against the
     * declarations, fills in defaults, and checks the combination by building the method once (milliseconds, no
     * model needed).
     *
     * @throws PrunelabException.InvalidArgument for an unknown parameter, a value of the wrong type or outside its
     *         range, or a combination the method cannot run (each names the parameter)
     */
    public MethodArgs args(Map<String, ?> given) {
        Map<String, Object> values = new LinkedHashMap<>();
        Set<String> explicit = new LinkedHashSet<>();
        given.forEach((k, v) -> {
            if (v == null) return;
            param(k); // unknown parameters are named first
        });
        for (MethodParam p : params) {
            Object raw = given.get(p.name());
            if (raw != null) {
                values.put(p.name(), p.parse(raw));
                explicit.add(p.name());
            } else if (p.defaultValue() != null) {
                values.put(p.name(), p.defaultValue());
            }
        }
        MethodArgs args = new MethodArgs(this, values, explicit);
        factory.apply(args);
        return args;
    }

    /** The configured method for checked parameters. */
    public Pruner create(MethodArgs args) {
        if (args.method() != this) throw new IllegalArgumentException("parameters of " + args.method().name() + " given to " + name);
        return factory.apply(args);
    }
}
