package org.prunelab.eval.tasks;

import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Document;
import org.prunelab.data.Split;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

/**
 * Multiple-choice tasks built from corpora that {@code ./prunelab setup} fetches, so accuracy can be measured with no
 * benchmark download. Both are "which text comes next" tasks with 4 choices: the true next unit and 3 distractors
 * drawn from other documents by a seeded rule that depends only on the item's id, so the same items (and the same
 * gold positions) come out on every machine and, for UDHR, in every language.
 *
 * <ul>
 *   <li>{@code udhr-next:<code>}: for each paragraph or list item (block) of each article of the UDHR's evaluation
 *       part ({@link #udhrEvaluationSection}), the context is the article's text before it (heading and earlier
 *       blocks, joined with {@code "\n"}), the choices are the block and 3 blocks of other evaluation-part articles of
 *       the same translation, each after {@code "\n"}. Item ids are {@code <section>/<block index>}; ids and
 *       distractors are drawn on the English structure, and an item is dropped in a translation where its article or
 *       a distractor's article has a different number of blocks than in English (the count is reported).</li>
 *   <li>{@code brown-next}: from each document of Brown's evaluation split ({@link Split#everyTenth}), every
 *       {@value #BROWN_STRIDE}th sentence after the first {@value #BROWN_CONTEXT} that has 5 words or more: the context is the
 *       {@value #BROWN_CONTEXT} sentences before it, the choices that sentence and 3 sentences of other evaluation
 *       documents, each after {@code " "}.</li>
 * </ul>
 */
public final class BuiltinTasks {
    private BuiltinTasks() {}

    /** Seed of the distractor draws (mixed with the item id). */
    public static final long SEED = 20_261_206L;
    /** Sentences of context in {@code brown-next}. */
    public static final int BROWN_CONTEXT = 3;
    /** One {@code brown-next} item per this many sentences of a document. */
    public static final int BROWN_STRIDE = 8;
    private static final int DISTRACTORS = 3;

    /** The UDHR evaluation/calibration rule, in words. */
    public static final String UDHR_EVALUATION_RULE =
            "UDHR articles n with n % 3 == 1 (1, 4, ..., 28) are the calibration part; the preamble and all other articles the evaluation part";

    /**
     * Whether a UDHR section ({@code preamble} or {@code article-<n>}, the ids of {@code UdhrCorpus}'s documents) is in
     * the evaluation part: {@value #UDHR_EVALUATION_RULE}. The one place the built-in tasks apply the rule; a UDHR
     * calibration split must use the same one.
     */
    public static boolean udhrEvaluationSection(String sectionId) {
        return !sectionId.equals(org.prunelab.data.UdhrCorpus.CALIBRATION_DOCUMENT)
                && !org.prunelab.data.UdhrCorpus.isCalibrationArticle(sectionId);
    }

    /**
     * A built-in task and how its items were made.
     *
     * @param items the items, in a fixed order (document order)
     * @param note  the source and the items dropped, in words
     */
    public record Built(List<McItem> items, String note) {}

    /** Items per UDHR article in {@code udhr-next}: the article's body cut in thirds, the second and the last third asked for. */
    public static final int UDHR_CUTS = 3;

    /**
     * The {@code udhr-next} items of translation {@code code}: for each article of the UDHR evaluation part and each of
     * its cuts k = 1, 2 (the article's body cut in thirds at the sentence or clause boundary nearest to each third), the
     * context is the heading and the body up to cut k, and the choices are the true next third and the same third of 3
     * other evaluation articles, drawn by a seeded rule from the item id ({@code article-<n>/<k>}) alone. The ids,
     * the distractor articles and the gold positions are therefore the same in every translation: accuracies compare
     * across languages item for item (an article a translation lacks drops its items, counted in the note).
     *
     * @throws PrunelabException.Dataset if UDHR is not fetched, or there is no translation {@code code} (the message
     *         lists close matches)
     */
    public static Built udhrNext(PrunelabHome home, String code) {
        return udhrNext(Datasets.resolve("udhr:" + code, home), code);
    }

    /** {@link #udhrNext(PrunelabHome, String)} from a loaded translation. */
    static Built udhrNext(Corpus translation, String code) {
        Map<String, String[]> parts = new LinkedHashMap<>(); // article id -> {heading, third 1, third 2, third 3, separator}
        int missing = 0;
        for (Map.Entry<String, List<String>> s : sections(translation).entrySet()) {
            if (!s.getKey().startsWith("article-")) continue; // the preamble is long and has no one heading
            String[] cut = thirds(s.getValue());
            if (cut == null) missing++;
            else parts.put(s.getKey(), cut);
        }
        List<String> ids = new ArrayList<>(parts.keySet());
        List<McItem> items = new ArrayList<>();
        for (String article : ids) {
            String[] own = parts.get(article);
            for (int k = 1; k < UDHR_CUTS; k++) {
                String id = article + "/" + k;
                SplittableRandom rng = new SplittableRandom(SEED ^ id.hashCode());
                // Distractors by article number over the 20 evaluation articles, not over what this translation has:
                // the same articles in every language.
                List<String> pool = EVALUATION_ARTICLES.stream().filter(a -> !a.equals(article)).toList();
                List<String> picks = new ArrayList<>();
                while (picks.size() < DISTRACTORS) {
                    String p = pool.get(rng.nextInt(pool.size()));
                    if (!picks.contains(p)) picks.add(p);
                }
                int gold = rng.nextInt(DISTRACTORS + 1);
                if (!picks.stream().allMatch(parts::containsKey)) {
                    missing++;
                    continue;
                }
                StringBuilder context = new StringBuilder(own[0]).append('\n').append(own[1]);
                if (k == 2) context.append(own[4]).append(own[2]);
                List<String> texts = new ArrayList<>();
                for (String p : picks) texts.add(parts.get(p)[k + 1]);
                texts.add(gold, own[k + 1]);
                if (texts.stream().distinct().count() < texts.size()) {
                    missing++;
                    continue;
                }
                String sep = own[4];
                String ctx = context.toString();
                items.add(new McItem(id, texts.stream().map(t -> new McItem.Choice(ctx, sep + t, t)).toList(), gold));
            }
        }
        if (items.isEmpty()) {
            throw new PrunelabException.Dataset("udhr-next:" + code + " has no items: none of its evaluation articles could be"
                    + " cut in thirds (" + missing + " items dropped)");
        }
        return new Built(items, "udhr-next:" + code + ": " + items.size() + " of " + (EVALUATION_ARTICLES.size() * (UDHR_CUTS - 1))
                + " items (the 20 articles of the UDHR evaluation part, each cut in thirds at the boundaries nearest to"
                + " them; " + UDHR_EVALUATION_RULE + "); " + missing + " dropped (an article missing or too short to cut)");
    }

    /** The article ids of the UDHR evaluation part: article-2, -3, -5, -6, ..., -30 (20 articles). */
    static final List<String> EVALUATION_ARTICLES = java.util.stream.IntStream.rangeClosed(1, 30)
            .mapToObj(n -> "article-" + n).filter(BuiltinTasks::udhrEvaluationSection).toList();

    /** Boundaries after which a third may end: sentence and clause punctuation of the scripts UDHR uses. */
    private static final String CUT_AFTER = ".!?;:,。！？；：，、।॥።፣፤፥"
            + "؛،؟۔၊။";

    /**
     * An article's heading and its body in thirds, cut at the punctuation-plus-space (or, in scripts without spaces,
     * the punctuation) nearest to one and two thirds of its characters, else at the nearest space, else at the
     * character; the fifth entry is the separator that began the second third (" " or ""). Null if the body is shorter
     * than 3 characters or a third would be empty.
     */
    static String[] thirds(List<String> blocks) {
        if (blocks.size() < 2) return null;
        String heading = blocks.getFirst().strip();
        String body = String.join("\n", blocks.subList(1, blocks.size())).strip();
        int n = body.length();
        if (n < 3 || heading.isEmpty()) return null;
        int c1 = cut(body, n / 3, 1, 2 * n / 3);
        int c2 = cut(body, 2 * n / 3, c1 + 1, n - 1);
        if (c1 <= 0 || c2 <= c1 || c2 >= n) return null;
        String a = body.substring(0, c1).strip();
        String b = body.substring(c1, c2).strip();
        String c = body.substring(c2).strip();
        if (a.isEmpty() || b.isEmpty() || c.isEmpty()) return null;
        String sep = Character.isWhitespace(body.charAt(c1)) ? " " : "";
        return new String[]{heading, a, b, c, sep};
    }

    /** The cut position nearest to {@code target} within [lo, hi): after punctuation, else at a space, else target. */
    private static int cut(String body, int target, int lo, int hi) {
        int best = -1;
        for (int i = Math.max(lo, 1); i < hi; i++) {
            if (CUT_AFTER.indexOf(body.charAt(i - 1)) >= 0 && (Character.isWhitespace(body.charAt(i)) || !hasSpaces(body))
                    && (best < 0 || Math.abs(i - target) < Math.abs(best - target))) best = i;
        }
        if (best > 0 && Math.abs(best - target) <= body.length() / 4) return best;
        for (int d = 0; d < body.length(); d++) {
            for (int i : new int[]{target - d, target + d}) {
                if (i >= Math.max(lo, 1) && i < hi && Character.isWhitespace(body.charAt(i))) return i;
            }
        }
        return Math.max(lo, Math.min(target, hi - 1));
    }

    private static boolean hasSpaces(String text) {
        int spaces = 0;
        for (int i = 0; i < text.length(); i++) if (text.charAt(i) == ' ') spaces++;
        return spaces * 20 > text.length(); // more than one space per 20 characters: a script that separates words
    }

    /** The evaluation-part sections of a UDHR corpus: id to blocks (a document's text is its blocks joined by "\n"). */
    private static Map<String, List<String>> sections(Corpus udhr) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Document d : udhr.documents()) {
            if (udhrEvaluationSection(d.id())) {
                out.put(d.id(), java.util.Arrays.stream(d.text().split("\n")).filter(b -> !b.isBlank()).toList());
            }
        }
        return out;
    }

    /** After . ! ? (and a closing quote or bracket), not after an initial or a common abbreviation, before a capital. */
    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?][\"')]?)(?<!\\b(?:[A-Z]|Mr|Mrs|Ms|Dr|St|Jr|Sr"
            + "|Gov|Sen|Rep|Gen|Col|Lt|Mt|No|Co|Inc|Corp|Ltd|Jan|Feb|Aug|Sept|Oct|Nov|Dec|U\\.S)\\.)\\s+(?=[\"'(]?[A-Z0-9])");
    /** Words a sentence needs to be a {@code brown-next} target or distractor (not a dateline or "211 pages."). */
    private static final int MIN_WORDS = 5;

    /**
     * The {@code brown-next} items.
     *
     * @throws PrunelabException.Dataset if the Brown corpus is not fetched
     */
    public static Built brownNext(PrunelabHome home) {
        return brownNext(Datasets.resolve("brown", home));
    }

    static Built brownNext(Corpus brown) {
        List<Document> docs = brown.part(Split.EVALUATION);
        List<List<String>> sentences = docs.stream().map(d -> sentences(d.text())).toList();
        List<McItem> items = new ArrayList<>();
        for (int d = 0; d < docs.size(); d++) {
            List<String> own = sentences.get(d);
            for (int i = BROWN_CONTEXT; i < own.size(); i += BROWN_STRIDE) {
                if (words(own.get(i)) < MIN_WORDS) continue;
                String id = docs.get(d).id() + "/" + i;
                SplittableRandom rng = new SplittableRandom(SEED ^ id.hashCode());
                List<String> texts = new ArrayList<>();
                texts.add(own.get(i));
                while (texts.size() < DISTRACTORS + 1) {
                    int other = rng.nextInt(docs.size());
                    List<String> s = sentences.get(other);
                    if (other == d || s.isEmpty()) continue;
                    String pick = s.get(rng.nextInt(s.size()));
                    if (words(pick) >= MIN_WORDS && !texts.contains(pick)) texts.add(pick);
                }
                int gold = rng.nextInt(texts.size());
                String goldText = texts.remove(0);
                texts.add(gold, goldText);
                String context = String.join(" ", own.subList(i - BROWN_CONTEXT, i));
                items.add(McItem.sharedContext(id, context, texts, gold));
            }
        }
        return new Built(items, "brown-next: " + items.size() + " items from the " + docs.size() + " documents of Brown's"
                + " evaluation split (" + Split.EVERY_TENTH_RULE + "), " + BROWN_CONTEXT + " sentences of context, every "
                + BROWN_STRIDE + "th sentence");
    }

    private static int words(String sentence) {
        return sentence.split("\\s+").length;
    }

    /** Sentences of a Brown document: paragraphs split after . ! ? (and a closing quote) before a capital or digit. */
    static List<String> sentences(String text) {
        List<String> out = new ArrayList<>();
        for (String paragraph : text.split("\n")) {
            for (String s : SENTENCE_END.split(paragraph.strip())) if (!s.isBlank()) out.add(s.strip());
        }
        return out;
    }
}
