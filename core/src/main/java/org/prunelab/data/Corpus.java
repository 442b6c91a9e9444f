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
 */
public record Corpus(String name, String language, List<Document> documents, String splitRule) {
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
