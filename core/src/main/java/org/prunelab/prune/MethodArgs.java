package org.prunelab.prune;

import org.prunelab.PrunelabException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A method's parameters after checking ({@link Method#args}): every declared parameter that was given or has a
 * default, by name, as Double, Integer, Boolean or String. Immutable.
 */
public final class MethodArgs {
    private final Method method;
    private final Map<String, Object> values;
    private final Set<String> given;

    MethodArgs(Method method, Map<String, Object> values, Set<String> given) {
        this.method = method;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.given = Collections.unmodifiableSet(new LinkedHashSet<>(given));
    }

    /** The method these are the parameters of. */
    public Method method() { return method; }

    /** Every value (given or default) by parameter name, in declaration order. */
    public Map<String, Object> values() { return values; }

    /** Names of the parameters that were given explicitly. */
    public Set<String> given() { return given; }

    /** Whether {@code name} was given explicitly (not a default). */
    public boolean isGiven(String name) { return given.contains(name); }

    /** Whether {@code name} has a value (given or default). */
    public boolean has(String name) { return values.containsKey(name); }

    public double number(String name) { return ((Number) require(name)).doubleValue(); }

    public int integer(String name) { return ((Number) require(name)).intValue(); }

    public boolean bool(String name) { return (Boolean) require(name); }

    public String text(String name) { return require(name).toString(); }

    /** The pattern parameter as a {@link SparsityPattern}, with {@code sparsity} for an unstructured one. */
    public SparsityPattern pattern() {
        String p = has("pattern") ? text("pattern") : "unstructured";
        if (!p.equals("unstructured")) {
            SparsityPattern nm = SparsityPattern.parse(p);
            if (isGiven("sparsity") && Math.abs(number("sparsity") - nm.sparsity()) > 1e-9) {
                throw new PrunelabException.InvalidArgument("${sparsity} " + number("sparsity") + " contradicts ${pattern} "
                        + nm.label() + ", which always removes " + nm.sparsity() + " of the weights: drop ${sparsity}");
            }
            return nm;
        }
        return SparsityPattern.unstructured(number("sparsity"));
    }

    /**
     * Checks that exactly one of two alternative parameters was given (ShortGPT's {@code layers} or {@code sparsity}).
     *
     * @param example a placeholder-spelled example, e.g. {@code "${layers} 8"}
     * @throws PrunelabException.InvalidArgument naming both, with their docs
     */
    public void requireOneOf(String a, String b, String example) {
        if (isGiven(a) != isGiven(b)) return;
        throw new PrunelabException.InvalidArgument("${method} " + method.name() + " needs exactly one of ${" + a + "} ("
                + method.param(a).doc() + ") or ${" + b + "} (" + method.param(b).doc() + ")"
                + (isGiven(a) ? "; drop one" : ", e.g. " + example));
    }

    private Object require(String name) {
        Object v = values.get(name);
        if (v == null) {
            throw new PrunelabException.InvalidArgument("${method} " + method.name() + " needs ${" + name + "}: "
                    + method.param(name).doc());
        }
        return v;
    }

    @Override
    public String toString() {
        return method.name() + values;
    }
}
