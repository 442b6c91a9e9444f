package org.prunelab.track;

/**
 * The tracking server could not be reached or failed (connection refused, timeout, HTTP 5xx or 429).
 * The call may or may not have taken effect on the server. Callers send the record to the
 * {@link Outbox}; this never reaches the user.
 */
final class TrackingUnavailableException extends RuntimeException {
    TrackingUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
