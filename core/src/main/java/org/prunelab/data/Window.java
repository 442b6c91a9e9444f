package org.prunelab.data;

/**
 * A run of {@code seqlen} consecutive tokens, with enough provenance to name exactly which text a run used.
 *
 * @param dataset     the corpus name ({@link Corpus#name()})
 * @param split       the part it came from
 * @param document    {@link Document#index()} of the source document for calibration windows;
 *                    {@link #JOINED} for evaluation windows, which are cut from the joined part
 * @param tokenOffset index of the first token within the document's (or the joined text's) tokenisation
 * @param tokens      the token ids, length seqlen (not copied; do not modify)
 */
public record Window(String dataset, Split split, int document, int tokenOffset, int[] tokens) {
    /** {@link #document()} of evaluation windows: the part's documents joined with "\n\n". */
    public static final int JOINED = -1;

    /** E.g. {@code brown/calibration/doc 12@340+128} or {@code brown/evaluation/joined@256+128}. */
    @Override
    public String toString() {
        String where = document == JOINED ? "joined" : "doc " + document;
        return dataset + "/" + split.label() + "/" + where + "@" + tokenOffset + "+" + tokens.length;
    }
}
