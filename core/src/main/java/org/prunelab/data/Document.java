package org.prunelab.data;

import java.util.Objects;

/**
 * One document of a corpus.
 *
 * @param index position in {@link Corpus#documents()} (stable for a given corpus version and loader)
 * @param id    a readable source reference: a file name ({@code ca01}), an article ({@code article-25}),
 *              a line range ({@code lines 10-190})
 * @param text  the text, never null
 * @param split which part it belongs to
 */
public record Document(int index, String id, String text, Split split) {
    public Document {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(split, "split");
    }
}
