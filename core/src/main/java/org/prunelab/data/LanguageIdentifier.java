package org.prunelab.data;

import org.prunelab.PrunelabException;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Identifies the language of a text among a fixed set, with a character n-gram naive Bayes model
 * (n = 1..3 over lower-cased letters, each word padded with a space on both sides; add-one smoothing
 * over the union vocabulary), in the spirit of Cavnar &amp; Trenkle (1994) and Dunning (1994).
 * N-grams unseen in every training text are ignored. Only the first {@value #MAX_CHARS} characters of a
 * text are scored, which keeps classifying all 17,597 Europarl lines to about a second.
 *
 * <p>{@link #europarlFromUdhr} trains it on the UDHR translations of the 21 Europarl languages: an
 * independent, parallel source (same content in every language), so the model learns the languages
 * and not the topics. Accuracy is measured in {@code LanguageIdentifierTest} on held-out UDHR articles
 * and on hand-labelled Europarl lines.
 */
public final class LanguageIdentifier {
    /** Characters of a text that are scored. */
    static final int MAX_CHARS = 1000;

    /** Europarl's 21 languages (ISO 639-1) and the UDHR translation each is learned from. */
    public static final Map<String, String> EUROPARL_UDHR_CODES = europarlCodes();

    private final List<String> languages;
    private final NgramIndex index;
    /** logProb[g * languages + l] = log P(n-gram g | language l). */
    private final float[] logProb;

    private LanguageIdentifier(List<String> languages, NgramIndex index, float[] logProb) {
        this.languages = languages;
        this.index = index;
        this.logProb = logProb;
    }

    /**
     * Trains on one text per language.
     *
     * @param textByLanguage language code to training text, at least two languages
     */
    public static LanguageIdentifier train(Map<String, String> textByLanguage) {
        if (textByLanguage.size() < 2) throw new IllegalArgumentException("need at least two languages");
        List<String> languages = List.copyOf(textByLanguage.keySet());
        int nl = languages.size();
        NgramIndex index = new NgramIndex();
        int[][] counts = new int[nl][];
        for (int l = 0; l < nl; l++) {
            int[] c = new int[16];
            int[][] holder = {c};
            forEachNgram(textByLanguage.get(languages.get(l)), Integer.MAX_VALUE, key -> {
                int g = index.add(key);
                if (g >= holder[0].length) holder[0] = Arrays.copyOf(holder[0], Math.max(g + 1, holder[0].length * 2));
                holder[0][g]++;
            });
            counts[l] = holder[0];
        }
        int vocabulary = index.size();
        float[] logProb = new float[vocabulary * nl];
        for (int l = 0; l < nl; l++) {
            long total = vocabulary;
            for (int g = 0; g < Math.min(vocabulary, counts[l].length); g++) total += counts[l][g];
            for (int g = 0; g < vocabulary; g++) {
                int n = g < counts[l].length ? counts[l][g] : 0;
                logProb[g * nl + l] = (float) Math.log((n + 1.0) / total);
            }
        }
        return new LanguageIdentifier(languages, index, logProb);
    }

    /**
     * The identifier for Europarl, trained on the UDHR files in {@code udhrDir} for the languages of
     * {@link #EUROPARL_UDHR_CODES}.
     *
     * @throws PrunelabException.Dataset if a UDHR file is missing (run setup for udhr)
     */
    public static LanguageIdentifier europarlFromUdhr(Path udhrDir) {
        Map<String, String> texts = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : EUROPARL_UDHR_CODES.entrySet()) {
            Corpus c = UdhrCorpus.load(udhrDir, e.getValue(), "udhr:" + e.getValue());
            texts.put(e.getKey(), String.join("\n", c.documents().stream().map(Document::text).toList()));
        }
        return train(texts);
    }

    /** The languages it chooses among, in training order. */
    public List<String> languages() {
        return languages;
    }

    /** The most probable language of {@code text}, judged on its first {@value #MAX_CHARS} characters. */
    public String identify(String text) {
        int nl = languages.size();
        double[] score = new double[nl];
        forEachNgram(text, MAX_CHARS, key -> {
            int g = index.find(key);
            if (g >= 0) for (int l = 0, base = g * nl; l < nl; l++) score[l] += logProb[base + l];
        });
        int best = 0;
        for (int l = 1; l < nl; l++) if (score[l] > score[best]) best = l;
        return languages.get(best);
    }

    /**
     * Calls {@code sink} with a key for every 1-, 2- and 3-gram of each letter run in the first
     * {@code maxChars} characters, the run padded with spaces; the lone-space 1-gram is skipped. Keys
     * pack up to three UTF-16 units and the length into a long.
     */
    static void forEachNgram(String text, int maxChars, LongConsumer sink) {
        int end = Math.min(text.length(), maxChars);
        char prev2 = 0;
        char prev1 = ' ';
        boolean inWord = false;
        for (int i = 0; i <= end; i++) {
            char raw = i < end ? text.charAt(i) : ' ';
            boolean letter = Character.isLetter(raw);
            if (!letter && !inWord) continue; // collapse runs of non-letters
            char ch = letter ? Character.toLowerCase(raw) : ' ';
            if (letter) sink.accept(key(ch, (char) 0, (char) 0, 1));
            sink.accept(key(prev1, ch, (char) 0, 2));
            if (prev2 != 0) sink.accept(key(prev2, prev1, ch, 3));
            if (!letter) { // word ended: restart at the padding space
                prev2 = 0;
                prev1 = ' ';
                inWord = false;
            } else {
                prev2 = prev1;
                prev1 = ch;
                inWord = true;
            }
        }
    }

    private static long key(char a, char b, char c, int n) {
        return ((long) n << 48) | ((long) a << 32) | ((long) b << 16) | c;
    }

    /** Open-addressing map from n-gram key to a dense index 0..size-1. */
    private static final class NgramIndex {
        private long[] keys = new long[1 << 12];
        private int[] values = new int[1 << 12];
        private int size;

        int size() {
            return size;
        }

        int find(long key) {
            int mask = keys.length - 1;
            for (int slot = mix(key) & mask; ; slot = (slot + 1) & mask) {
                if (keys[slot] == key) return values[slot];
                if (keys[slot] == 0) return -1;
            }
        }

        int add(long key) {
            int found = find(key);
            if (found >= 0) return found;
            if ((size + 1) * 2 > keys.length) grow();
            insert(key, size);
            return size++;
        }

        private void insert(long key, int value) {
            int mask = keys.length - 1;
            int slot = mix(key) & mask;
            while (keys[slot] != 0) slot = (slot + 1) & mask;
            keys[slot] = key;
            values[slot] = value;
        }

        private void grow() {
            long[] oldKeys = keys;
            int[] oldValues = values;
            keys = new long[oldKeys.length * 2];
            values = new int[oldKeys.length * 2];
            for (int i = 0; i < oldKeys.length; i++) if (oldKeys[i] != 0) insert(oldKeys[i], oldValues[i]);
        }

        private static int mix(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }
    }

    private static Map<String, String> europarlCodes() {
        Map<String, String> m = new LinkedHashMap<>();
        String[][] pairs = {{"bg", "bul"}, {"cs", "ces"}, {"da", "dan"}, {"de", "deu_1996"}, {"el", "ell_monotonic"},
                {"en", "eng"}, {"es", "spa"}, {"et", "est"}, {"fi", "fin"}, {"fr", "fra"}, {"hu", "hun"}, {"it", "ita"},
                {"lt", "lit"}, {"lv", "lav"}, {"nl", "nld"}, {"pl", "pol"}, {"pt", "por_PT"}, {"ro", "ron_2006"},
                {"sk", "slk"}, {"sl", "slv"}, {"sv", "swe"}};
        for (String[] p : pairs) m.put(p[0], p[1]);
        return Collections.unmodifiableMap(m);
    }
}
