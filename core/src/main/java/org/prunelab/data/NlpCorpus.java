package org.prunelab.data;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * nlp-corpus (npm {@code nlp-corpus}): English sentences of mixed register (lyrics, transcripts, legal
 * text, fiction, forum posts), shuffled, in files {@code doc-0.json..doc-99.json}, each a JSON array of
 * strings. One document per file, sentences joined with {@code "\n"}, files in numeric order; split
 * {@link Split#everyTenth} over files (10 evaluation, 90 calibration).
 */
public final class NlpCorpus {
    private NlpCorpus() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** @throws PrunelabException.Dataset if the folder is missing, empty or holds malformed JSON */
    public static Corpus load(Path dir, String name) {
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir)) {
            files = listing.filter(p -> p.getFileName().toString().matches("doc-\\d+\\.json"))
                    .sorted(Comparator.comparingInt(NlpCorpus::number)).toList();
        } catch (IOException e) {
            throw new PrunelabException.Dataset("cannot read the nlp-corpus folder " + dir + ": " + e.getMessage()
                    + " — run ./prunelab setup nlpcorpus", e);
        }
        if (files.isEmpty()) {
            throw new PrunelabException.Dataset("no doc-N.json files in " + dir + " — run ./prunelab setup nlpcorpus");
        }
        List<Corpus.Unit> units = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            try {
                List<String> sentences = JSON.readValue(f.toFile(), new TypeReference<List<String>>() {});
                units.add(new Corpus.Unit(f.getFileName().toString(), String.join("\n", sentences), Split.everyTenth(i)));
            } catch (IOException e) {
                throw new PrunelabException.Dataset("malformed nlp-corpus file " + f + " (expected a JSON array of strings): "
                        + e.getMessage() + " — run ./prunelab setup --verify", e);
            }
        }
        return new Corpus(name, "en", Corpus.number(units), "doc-N.json files in numeric order; " + Split.EVERY_TENTH_RULE);
    }

    private static int number(Path p) {
        String n = p.getFileName().toString();
        return Integer.parseInt(n.substring(4, n.length() - 5));
    }
}
