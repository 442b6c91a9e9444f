package org.prunelab.kernel;

/**
 * Why a cell failed, in a form meant for a person reading the notebook: {@link #name()} is the short type
 * name Jupyter shows in red (e.g. {@code InvalidArgument}), the message says what went wrong. The full
 * original exception, when there is one, stays available as the cause for the kernel log.
 */
final class CellException extends RuntimeException {
    private final String name;

    CellException(String name, String message, Throwable cause) {
        super(message, cause, false, false);
        this.name = name;
    }

    /** The short error name: the exception's simple class name, or a kind such as {@code CompilationError}. */
    String name() {
        return name;
    }
}
