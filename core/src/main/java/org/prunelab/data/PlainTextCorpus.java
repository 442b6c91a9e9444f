package org.prunelab.data;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Any UTF-8 text file. Paragraphs (separated by blank lines) are the units of the split:
 * {@link Split#everyTenth} over paragraph order, so a file with at least one paragraph has an
 * evaluation part and one with two or more has a calibration part. Within each part, consecutive
 * paragraphs are packed into documents of at least {@value #PACK_CHARS} characters joined with
 * {@code "\n\n"}, so that calibration can find documents longer than seqlen.
 */
public final class PlainTextCorpus {
    private PlainTextCorpus() {}

    static final int PACK_CHARS = 16_000;

    /** @throws PrunelabException.Dataset if the file cannot be read or holds no text */
    public static Corpus load(Path file, String name) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8).replace("\r\n", "\n");
        } catch (IOException e) {
            throw new PrunelabException.Dataset("cannot read text file " + file + ": " + e.getMessage()
                    + " — pass an existing UTF-8 .txt file", e);
        }
        List<String> paragraphs = new ArrayList<>();
        for (String p : text.split("\\n[ \\t]*\\n")) if (!p.isBlank()) paragraphs.add(p.strip());
        if (paragraphs.isEmpty()) throw new PrunelabException.Dataset(file + " holds no text");
        List<Corpus.Unit> units = new ArrayList<>();
        for (Split split : Split.values()) {
            StringBuilder doc = new StringBuilder();
            int first = -1;
            for (int i = 0; i < paragraphs.size(); i++) {
                if (Split.everyTenth(i) != split) continue;
                if (doc.isEmpty()) first = i;
                else doc.append(Windows.JOIN);
                doc.append(paragraphs.get(i));
                if (doc.length() >= PACK_CHARS) {
                    units.add(new Corpus.Unit("paragraphs " + first + "-" + i, doc.toString(), split));
                    doc.setLength(0);
                }
            }
            if (!doc.isEmpty()) units.add(new Corpus.Unit("paragraphs " + first + "-", doc.toString(), split));
        }
        return new Corpus(name, "und", Corpus.number(units),
                "paragraphs of the file: " + Split.EVERY_TENTH_RULE + "; packed into documents of >= " + PACK_CHARS + " characters",
                String.join(Windows.JOIN, paragraphs));
    }
}
