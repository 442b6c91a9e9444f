package org.prunelab.prune;

import org.prunelab.PrunelabException;

import java.util.List;
import java.util.Locale;

/**
 * One knob of a pruning method, declared once in the method's registry entry: the CLI option ({@code --rank-ratio}),
 * the sweep spec key ({@code rank_ratio:}), the notebook argument and the MLflow param all come from it.
 *
 * @param name         snake_case, the MLflow param name ({@code sparsity}, {@code rank_ratio})
 * @param type         what values it takes
 * @param defaultValue the value when not given (Double, Integer, Boolean or String), or null when the method has
 *                     no default (required, or an alternative to another parameter)
 * @param min          lower bound for numbers
 * @param minInclusive whether {@code min} itself is allowed
 * @param max          upper bound for numbers
 * @param maxInclusive whether {@code max} itself is allowed
 * @param choices      allowed values of a {@link Type#CHOICE}
 * @param doc          one line: what it means, in the field's terms
 */
public record MethodParam(String name, Type type, Object defaultValue, double min, boolean minInclusive, double max,
                          boolean maxInclusive, List<String> choices, String doc) {

    /** The kinds of values a parameter takes. */
    public enum Type {
        /** A real number in a range. */
        NUMBER,
        /** A whole number in a range. */
        INTEGER,
        /** true or false. */
        BOOLEAN,
        /** One of {@link #choices()}. */
        CHOICE,
        /** {@code unstructured} or N:M such as {@code 2:4} ({@link SparsityPattern}). */
        PATTERN
    }

    public MethodParam {
        choices = List.copyOf(choices);
        if (!name.matches("[a-z][a-z0-9_]*")) throw new IllegalArgumentException("parameter names are snake_case: " + name);
    }

    /** A real number in [min, max) or the given bounds. */
    public static MethodParam number(String name, Double defaultValue, double min, boolean minInclusive, double max,
                                     boolean maxInclusive, String doc) {
        return new MethodParam(name, Type.NUMBER, defaultValue, min, minInclusive, max, maxInclusive, List.of(), doc);
    }

    /** A whole number in [min, max]. */
    public static MethodParam integer(String name, Integer defaultValue, int min, int max, String doc) {
        return new MethodParam(name, Type.INTEGER, defaultValue, min, true, max, true, List.of(), doc);
    }

    public static MethodParam bool(String name, boolean defaultValue, String doc) {
        return new MethodParam(name, Type.BOOLEAN, defaultValue, 0, true, 0, true, List.of(), doc);
    }

    public static MethodParam choice(String name, String defaultValue, List<String> choices, String doc) {
        return new MethodParam(name, Type.CHOICE, defaultValue, 0, true, 0, true, choices, doc);
    }

    public static MethodParam pattern(String name, String defaultValue, String doc) {
        return new MethodParam(name, Type.PATTERN, defaultValue, 0, true, 0, true, List.of(), doc);
    }

    /**
     * Reads a value given as text (CLI, YAML scalar) or as a Java value (notebook), checks type and range, and
     * returns it as Double, Integer, Boolean or String.
     *
     * @throws PrunelabException.InvalidArgument naming the parameter ({@code ${name}}), the value and what is allowed
     */
    public Object parse(Object raw) {
        if (raw == null) throw bad("has no value", null);
        return switch (type) {
            case NUMBER -> {
                double v = number(raw);
                boolean lowOk = minInclusive ? v >= min : v > min;
                boolean highOk = maxInclusive ? v <= max : v < max;
                if (!(lowOk && highOk)) throw bad("is outside " + range(), raw);
                yield v;
            }
            case INTEGER -> {
                double v = number(raw);
                if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) throw bad("must be a whole number", raw);
                if (v < min || v > max) throw bad("is outside " + range(), raw);
                yield (int) v;
            }
            case BOOLEAN -> {
                if (raw instanceof Boolean b) yield b;
                String t = raw.toString().strip().toLowerCase(Locale.ROOT);
                if (t.equals("true") || t.equals("yes") || t.equals("on")) yield true;
                if (t.equals("false") || t.equals("no") || t.equals("off")) yield false;
                throw bad("must be true or false", raw);
            }
            case CHOICE -> {
                String t = raw.toString().strip().toLowerCase(Locale.ROOT);
                if (!choices.contains(t)) throw bad("must be one of " + String.join(", ", choices), raw);
                yield t;
            }
            case PATTERN -> {
                String t = raw.toString().strip().toLowerCase(Locale.ROOT);
                if (t.equals("unstructured")) yield t;
                if (!t.contains(":")) throw bad("must be unstructured or n:m such as 2:4 or 4:8", raw);
                try {
                    yield SparsityPattern.parse(t).label();
                } catch (PrunelabException.InvalidArgument e) {
                    throw new PrunelabException.InvalidArgument("${" + name + "} '" + raw + "': " + e.template());
                }
            }
        };
    }

    /** What values are allowed, for help texts: {@code [0, 1)}, {@code true|false}, {@code uniform|global}. */
    public String range() {
        return switch (type) {
            case NUMBER -> (minInclusive ? "[" : "(") + fmt(min) + ", " + fmt(max) + (maxInclusive ? "]" : ")");
            case INTEGER -> "[" + fmt(min) + ", " + (max >= Integer.MAX_VALUE ? "inf" : fmt(max)) + "]";
            case BOOLEAN -> "true|false";
            case CHOICE -> String.join("|", choices);
            case PATTERN -> "unstructured|N:M";
        };
    }

    private double number(Object raw) {
        if (raw instanceof Number n) return n.doubleValue();
        if (raw instanceof Boolean) throw bad("must be a number", raw);
        try {
            return Double.parseDouble(raw.toString().strip());
        } catch (NumberFormatException e) {
            throw bad("must be a number", raw);
        }
    }

    private PrunelabException.InvalidArgument bad(String problem, Object raw) {
        return new PrunelabException.InvalidArgument("${" + name + "}" + (raw == null ? "" : " " + raw) + " " + problem
                + (type == Type.NUMBER || type == Type.INTEGER ? " (" + doc + ")" : ""));
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
    }
}
