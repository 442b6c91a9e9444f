package org.prunelab.data;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * WikiText-2 (raw) from the user's own copy: a folder holding {@code wiki.test.raw} and/or
 * {@code wiki.train.raw}, or one raw file (then used as the test file).
 *
 * <p>Follows the protocol of the Wanda/SparseGPT reference code exactly. Their rows come from the
 * Hugging Face {@code wikitext-2-raw-v1} dataset, whose loader yields each line of the raw file with
 * its trailing {@code "\n"}, or {@code ""} for a whitespace-only line. Evaluation documents are those
 * test rows, so {@link Windows#evaluation} joining them with {@code "\n\n"} rebuilds the reference's
 * {@code "\n\n".join(testdata['text'])}. Calibration is one document, the train rows joined with a
 * space ({@code " ".join(traindata['text'])}), so {@link Windows#calibration} reduces to the
 * reference's random starts in the train stream. The parts are the dataset's own test and train splits.
 */
public final class WikiText2 {
    private WikiText2() {}

    /** @throws PrunelabException.Dataset if the path holds neither raw file */
    public static Corpus load(Path path, String name) {
        Path test;
        Path train;
        if (Files.isDirectory(path)) {
            test = path.resolve("wiki.test.raw");
            train = path.resolve("wiki.train.raw");
        } else {
            test = path;
            train = null;
        }
        boolean hasTest = Files.isRegularFile(test);
        boolean hasTrain = train != null && Files.isRegularFile(train);
        if (!hasTest && !hasTrain) {
            throw new PrunelabException.Dataset("no WikiText-2 raw files at " + path + ": expected a folder with wiki.test.raw"
                    + " and/or wiki.train.raw (from wikitext-2-raw-v1), or the path of wiki.test.raw itself");
        }
        List<Corpus.Unit> units = new ArrayList<>();
        if (hasTrain) units.add(new Corpus.Unit("wiki.train.raw", String.join(" ", rows(train)), Split.CALIBRATION));
        if (hasTest) {
            List<String> rows = rows(test);
            for (int i = 0; i < rows.size(); i++) units.add(new Corpus.Unit("wiki.test.raw row " + i, rows.get(i), Split.EVALUATION));
        }
        return new Corpus(name, "en", Corpus.number(units),
                "WikiText-2's own splits: wiki.train.raw -> calibration (rows joined with ' '), wiki.test.raw -> evaluation");
    }

    /**
     * The rows the Hugging Face loader yields for a raw file: each line with its {@code "\n"} (line ends
     * normalised as Python's text mode does), or {@code ""} when the line is whitespace only.
     */
    static List<String> rows(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8).replace("\r\n", "\n").replace('\r', '\n');
        } catch (IOException e) {
            throw new PrunelabException.Dataset("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<String> rows = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int nl = text.indexOf('\n', start);
            int end = nl < 0 ? text.length() : nl + 1;
            String row = text.substring(start, end);
            rows.add(isPythonBlank(row) ? "" : row);
            start = end;
        }
        return rows;
    }

    /** Python's {@code not row.strip()}: whitespace in Python's sense (Java whitespace plus Unicode space separators). */
    private static boolean isPythonBlank(String row) {
        return row.codePoints().allMatch(c -> Character.isWhitespace(c) || Character.isSpaceChar(c));
    }
}
