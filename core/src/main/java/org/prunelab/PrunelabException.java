package org.prunelab;

import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A user-facing error: something about the input (a file, a name, a number) is wrong, and the
 * message says what and what to do about it. The CLI prints the message without a stack trace and
 * exits non-zero. Subclasses name the area so callers and tests can tell errors apart.
 *
 * <p><b>Parameters in messages.</b> Core code names a parameter by its field name in a placeholder,
 * {@code ${name}}, qualified where the same word means two things: {@code ${calib.seqlen}},
 * {@code ${eval.windows}}, {@code ${bench.gen}}; method parameters are plain ({@code ${sparsity}},
 * {@code ${rank_ratio}}). {@link #getMessage()} spells each placeholder by its unqualified name (what a notebook
 * call or the Java API takes: {@code seqlen}, {@code windows}); an entry point with its own spelling renders the
 * message with {@link #message(UnaryOperator)} (the CLI: {@code --eval-windows} for {@code prune},
 * {@code --windows} for {@code eval}; the sweep spec: {@code evaluation.windows}).
 */
public class PrunelabException extends RuntimeException {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([a-z][a-z0-9_]*(?:\\.[a-z][a-z0-9_]*)?)}");

    /** The spelling of {@link #getMessage()}: the parameter's own name without its qualifier. */
    public static final UnaryOperator<String> PLAIN = PrunelabException::plainName;

    private final String template;

    /** @param message the message; may contain {@code ${param}} placeholders (see the class comment) */
    public PrunelabException(String message) {
        super(message);
        this.template = message;
    }

    public PrunelabException(String message, Throwable cause) {
        super(message, cause);
        this.template = message;
    }

    /** The message with every placeholder spelled by its plain name ({@code ${eval.windows}} -> {@code windows}). */
    @Override
    public String getMessage() {
        return message(PLAIN);
    }

    /**
     * The message with each placeholder {@code ${name}} replaced by {@code spelling.apply(name)}; a spelling that
     * answers null for a name leaves the plain name.
     */
    public String message(UnaryOperator<String> spelling) {
        return render(template, spelling);
    }

    /** The message as written, placeholders included. */
    public String template() {
        return template;
    }

    /** Renders {@code ${name}} placeholders in any text (see {@link #message}). */
    public static String render(String text, UnaryOperator<String> spelling) {
        if (text == null || text.indexOf("${") < 0) return text;
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String spelled = spelling.apply(m.group(1));
            m.appendReplacement(out, Matcher.quoteReplacement(spelled != null ? spelled : plainName(m.group(1))));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** {@code eval.windows} -> {@code windows}; {@code sparsity} -> {@code sparsity}. */
    public static String plainName(String name) {
        int dot = name.indexOf('.');
        return dot < 0 ? name : name.substring(dot + 1);
    }

    /** A model file (GGUF, safetensors, config.json) that is malformed, truncated or unsupported. */
    public static class ModelFormat extends PrunelabException {
        public ModelFormat(String message) { super(message); }
        public ModelFormat(String message, Throwable cause) { super(message, cause); }
    }

    /** Tokenizer data that is missing or cannot be turned into a working tokenizer. */
    public static class Tokenizer extends PrunelabException {
        public Tokenizer(String message) { super(message); }
        public Tokenizer(String message, Throwable cause) { super(message, cause); }
    }

    /** An unknown dataset name, a missing corpus, or text too short for what was asked. */
    public static class Dataset extends PrunelabException {
        public Dataset(String message) { super(message); }
        public Dataset(String message, Throwable cause) { super(message, cause); }
    }

    /** A bad argument: a seqlen above the context, a sparsity outside [0, 1), an unknown model name. */
    public static class InvalidArgument extends PrunelabException {
        public InvalidArgument(String message) { super(message); }
    }

    /** Fetching or verifying models and corpora failed (network, checksum, missing tool). */
    public static class Setup extends PrunelabException {
        public Setup(String message) { super(message); }
        public Setup(String message, Throwable cause) { super(message, cause); }
    }
}
