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
        if (!sectionId.startsWith("article-")) return true;
        try {
            return Integer.parseInt(sectionId.substring("article-".length())) % 3 != 1;
        } catch (NumberFormatException e) {
            return true;
        }
    }

    /**
     * A built-in task and how its items were made.
     *
     * @param items the items, in a fixed order (document order)
     * @param note  the source and the items dropped, in words
     */
    public record Built(List<McItem> items, String note) {}

    /**
     * The {@code udhr-next} items of translation {@code code}.
     *
     * @throws PrunelabException.Dataset if UDHR is not fetched, or there is no translation {@code code} (the message
     *         lists close matches)
     */
    public static Built udhrNext(PrunelabHome home, String code) {
        Corpus lang = Datasets.resolve("udhr:" + code, home);
        Corpus eng = code.equals("eng") ? lang : Datasets.resolve("udhr:eng", home);
        return udhrNext(eng, lang, code);
    }

    /** {@link #udhrNext(PrunelabHome, String)} from loaded corpora (English for the structure, the translation for the text). */
    static Built udhrNext(Corpus english, Corpus translation, String code) {
        Map<String, List<String>> engBlocks = sections(english);
        Map<String, List<String>> blocks = sections(translation);
        List<String[]> pool = new ArrayList<>(); // (section, block index) of every target block, English structure
        for (Map.Entry<String, List<String>> s : engBlocks.entrySet()) {
            for (int b = headings(s.getKey()); b < s.getValue().size(); b++) pool.add(new String[]{s.getKey(), String.valueOf(b)});
        }
        List<McItem> items = new ArrayList<>();
        int dropped = 0;
        for (String[] target : pool) {
            String section = target[0];
            int b = Integer.parseInt(target[1]);
            String id = section + "/" + b;
            SplittableRandom rng = new SplittableRandom(SEED ^ id.hashCode());
            List<String[]> others = pool.stream().filter(p -> !p[0].equals(section)).toList();
            List<String[]> picks = new ArrayList<>();
            while (picks.size() < DISTRACTORS) {
                String[] p = others.get(rng.nextInt(others.size()));
                if (picks.stream().noneMatch(q -> q[0].equals(p[0]) && q[1].equals(p[1]))) picks.add(p);
            }
            boolean sameShape = sameBlocks(engBlocks, blocks, section)
                    && picks.stream().allMatch(p -> sameBlocks(engBlocks, blocks, p[0]));
            if (!sameShape) {
                dropped++;
                continue;
            }
            List<String> own = blocks.get(section);
            String context = String.join("\n", own.subList(0, b));
            List<String> texts = new ArrayList<>();
            texts.add(own.get(b));
            for (String[] p : picks) texts.add(blocks.get(p[0]).get(Integer.parseInt(p[1])));
            if (texts.stream().distinct().count() < texts.size()) {
                dropped++;
                continue;
            }
            int gold = rng.nextInt(texts.size());
            String goldText = texts.remove(0);
            texts.add(gold, goldText);
            items.add(new McItem(id, texts.stream().map(t -> new McItem.Choice(context, "\n" + t, t)).toList(), gold));
        }
        if (items.isEmpty()) {
            throw new PrunelabException.Dataset("udhr-next:" + code + " has no items: its articles' block structure differs"
                    + " from the English text's everywhere (" + dropped + " items dropped)");
        }
        return new Built(items, "udhr-next:" + code + ": " + items.size() + " of " + pool.size() + " items (blocks of the"
                + " UDHR evaluation part: " + UDHR_EVALUATION_RULE + "); " + dropped + " dropped where the translation's"
                + " block structure differs from English's or choices repeat");
    }

    /** Preamble: the title and its heading; an article: its heading. */
    private static int headings(String section) {
        return section.equals("preamble") ? 2 : 1;
    }

    private static boolean sameBlocks(Map<String, List<String>> english, Map<String, List<String>> translation, String section) {
        List<String> t = translation.get(section);
        return t != null && t.size() == english.get(section).size();
    }

    /** The evaluation-part sections of a UDHR corpus: id to blocks (a document's text is its blocks joined by "\n"). */
    private static Map<String, List<String>> sections(Corpus udhr) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Document d : udhr.documents()) {
            if (udhrEvaluationSection(d.id())) out.put(d.id(), List.of(d.text().split("\n")));
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
