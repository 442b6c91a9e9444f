package org.prunelab.data;

/**
 * Text to token ids, supplied by the caller (normally the model's tokenizer). Whether special tokens
 * such as BOS are added is the encoder's decision; the evaluation protocol calls it once on the whole
 * joined text, as the reference code does.
 */
@FunctionalInterface
public interface Encoder {
    /** Token ids of {@code text}, in order. */
    int[] encode(String text);
}
