package org.prunelab.data;

import org.prunelab.PrunelabException;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A loaded text corpus: documents in a fixed order, each assigned to calibration or evaluation.
 *
 * @param name      the dataset spec it was loaded from ({@code brown}, {@code europarl:de}, {@code udhr:swh}, ...)
 * @param language  language of the text (ISO 639 code; {@code und} when unknown)
 * @param documents all documents, {@code documents.get(i).index() == i}
 * @param splitRule how documents were assigned to the parts, for run logs
 * @param sourceText the whole text in its original order when the documents are a repacking of it (a plain text
 *                   file's paragraphs, packed per part), else null: then {@link #wholeText()} joins the documents
 */
public record Corpus(String name, String language, List<Document> documents, String splitRule, String sourceText) {

    /** A corpus whose documents, in order, are its text. */
    public Corpus(String name, String language, List<Document> documents, String splitRule) {
        this(name, language, documents, splitRule, null);
    }

    public Corpus {
        Objects.requireNonNull(name, "name");
        documents = List.copyOf(documents);
        for (int i = 0; i < documents.size(); i++) {
            if (documents.get(i).index() != i) throw new IllegalArgumentException("document " + i + " has index " + documents.get(i).index());
        }
    }

    /**
     * The documents of one part, in corpus order.
     *
     * @throws PrunelabException.Dataset if that part is empty; the message gives the split rule
     */
    public List<Document> part(Split split) {
        List<Document> part = documents.stream().filter(d -> d.split() == split).toList();
        if (part.isEmpty()) {
            throw new PrunelabException.Dataset(name + " has no " + split.label() + " part (split rule: " + splitRule
                    + "); choose another dataset for " + split.label());
        }
        return part;
    }

    /**
     * The whole corpus as one text, calibration and evaluation parts together, in the source's order: what
     * {@code eval --split all} evaluates (for a user's own file that is not also used for calibration).
     */
    public String wholeText() {
        if (sourceText != null) return sourceText;
        return String.join(Windows.JOIN, documents.stream().map(Document::text).toList());
    }

    /**
     * One line saying which part of the corpus an evaluation read, e.g. {@code "evaluation split: 2 of 18
     * documents (paragraphs of the file: unit index % 10 == 0 -> evaluation, ...)"} or {@code "whole text: 18 documents"}.
     */
    public String describePart(boolean whole) {
        if (whole) return "whole text (" + documents.size() + " documents, calibration and evaluation parts together)";
        return "evaluation split: " + size(Split.EVALUATION) + " of " + documents.size() + " documents (" + splitRule + ")";
    }

    /** Total characters in a part (0 if it is empty). */
    public long characters(Split split) {
        return documents.stream().filter(d -> d.split() == split).mapToLong(d -> d.text().length()).sum();
    }

    /** Number of documents in a part. */
    public int size(Split split) {
        return (int) documents.stream().filter(d -> d.split() == split).count();
    }

    /** Builds documents from (id, text, split) triples in order, numbering them. */
    static List<Document> number(List<Unit> units) {
        List<Document> docs = new ArrayList<>(units.size());
        for (Unit u : units) docs.add(new Document(docs.size(), u.id(), u.text(), u.split()));
        return docs;
    }

    /** A document before numbering. */
    record Unit(String id, String text, Split split) {}
}
