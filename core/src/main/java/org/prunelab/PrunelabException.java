package org.prunelab;

/**
 * A user-facing error: something about the input (a file, a name, a number) is wrong, and the
 * message says what and what to do about it. The CLI prints the message without a stack trace and
 * exits non-zero. Subclasses name the area so callers and tests can tell errors apart.
 */
public class PrunelabException extends RuntimeException {
    public PrunelabException(String message) {
        super(message);
    }

    public PrunelabException(String message, Throwable cause) {
        super(message, cause);
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
