package org.prunelab.eval.tasks;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.PrunelabException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The published formats of the zero-shot benchmarks prunelab reads, with lm-evaluation-harness's prompt for each
 * (its task YAMLs: {@code hellaswag/hellaswag.yaml} and {@code utils.py}, {@code arc/arc_easy.yaml},
 * {@code piqa/piqa.yaml}, {@code super_glue/boolq/default.yaml}, {@code winogrande/default.yaml} and
 * {@code preprocess_winogrande.py}, {@code glue/rte/default.yaml} and {@code super_glue/rte/default.yaml},
 * {@code openbookqa/openbookqa.yaml}). A file holds one JSON object per line (the Hugging Face datasets' JSON Lines
 * export) or one JSON array of such objects; the field names are the datasets' own.
 *
 * <p>The target delimiter is lm-eval's default {@code " "}: a choice's continuation is {@code " " + choice}.
 */
public enum TaskFormat {
    /** Rowan/hellaswag: ctx_a, ctx_b, activity_label, endings (4), label; lm-eval's query and bracket clean-up. */
    HELLASWAG("hellaswag", "ctx_a (string), ctx_b (string), activity_label (string), endings (array of strings), label (index)") {
        @Override McItem item(Row r) {
            String ctx = r.string("ctx_a") + " " + capitalize(r.string("ctx_b"));
            String query = preprocess(r.string("activity_label") + ": " + ctx);
            List<String> endings = r.strings("endings").stream().map(TaskFormat::preprocess).toList();
            return McItem.sharedContext(r.id("ind"), query, r.nonEmpty("endings", endings), r.index("label", endings.size()));
        }
    },
    /** allenai/ai2_arc (ARC-Easy and ARC-Challenge): "Question: {question}\nAnswer:". */
    ARC("arc", "id, question (string), choices {text: [strings], label: [strings]}, answerKey (one of choices.label)") {
        @Override McItem item(Row r) {
            return labelled(r, "Question: " + r.string("question") + "\nAnswer:", r.string("answerKey"));
        }
    },
    /** piqa: "Question: {goal}\nAnswer:" with sol1, sol2. */
    PIQA("piqa", "goal (string), sol1 (string), sol2 (string), label (0 or 1)") {
        @Override McItem item(Row r) {
            return McItem.sharedContext(r.id("id"), "Question: " + r.string("goal") + "\nAnswer:",
                    r.nonEmpty("sol1/sol2", List.of(r.string("sol1"), r.string("sol2"))), r.index("label", 2));
        }
    },
    /** BoolQ (super_glue label 0/1, or google/boolq answer true/false): "{passage}\nQuestion: {question}?\nAnswer:", no/yes. */
    BOOLQ("boolq", "passage (string), question (string), answer (true/false) or label (0 = no, 1 = yes)") {
        @Override McItem item(Row r) {
            int gold = r.node.has("answer") ? (r.bool("answer") ? 1 : 0) : r.index("label", 2);
            return McItem.sharedContext(r.id("idx"), r.string("passage") + "\nQuestion: " + r.string("question") + "?\nAnswer:",
                    List.of("no", "yes"), gold);
        }
    },
    /**
     * allenai/winogrande: lm-eval's partial scoring — each option fills the blank to give a context, and the text after
     * the blank is the one continuation scored after both. {@code acc_norm} divides by the contexts' lengths, as
     * lm-eval's choice list for this task is the contexts (lm-eval reports only {@code acc} for it).
     */
    WINOGRANDE("winogrande", "sentence (string with one _), option1 (string), option2 (string), answer (\"1\" or \"2\")") {
        @Override McItem item(Row r) {
            String sentence = r.string("sentence");
            int blank = sentence.indexOf('_');
            if (blank < 0) throw r.bad("sentence", "has no _ blank for the options to fill");
            String target = sentence.substring(blank + 1).strip();
            if (target.isEmpty()) throw r.bad("sentence", "has no text after the _ blank to score");
            List<McItem.Choice> choices = new ArrayList<>();
            for (String option : List.of(r.string("option1"), r.string("option2"))) {
                String context = sentence.substring(0, blank) + option;
                choices.add(new McItem.Choice(context, " " + target, context));
            }
            String answer = r.node.path("answer").asText("");
            if (!answer.equals("1") && !answer.equals("2")) throw r.bad("answer", "must be \"1\" or \"2\", got " + r.node.path("answer"));
            return new McItem(r.id("id"), choices, Integer.parseInt(answer) - 1);
        }
    },
    /** RTE (GLUE sentence1/sentence2 or SuperGLUE premise/hypothesis; label 0 = entailment): "... True or False?\nAnswer:". */
    RTE("rte", "sentence1 and sentence2 (GLUE) or premise and hypothesis (SuperGLUE), label (0 = entailment, 1 = not)") {
        @Override McItem item(Row r) {
            boolean glue = r.node.has("sentence1");
            String first = r.string(glue ? "sentence1" : "premise");
            String second = r.string(glue ? "sentence2" : "hypothesis");
            return McItem.sharedContext(r.id("idx"), first + "\nQuestion: " + second + " True or False?\nAnswer:",
                    List.of("True", "False"), r.index("label", 2));
        }
    },
    /** allenai/openbookqa (main): the bare question_stem as context. */
    OPENBOOKQA("openbookqa", "id, question_stem (string), choices {text: [strings], label: [strings]}, answerKey (one of choices.label)") {
        @Override McItem item(Row r) {
            return labelled(r, r.string("question_stem"), r.string("answerKey").stripLeading());
        }
    },
    /**
     * prunelab's own format, which the built-in tasks export: id, context, choices, gold, and an optional
     * target_delimiter (default {@code " "}) put between context and each choice.
     */
    MC("mc", "id (string), context (string), choices (array of strings), gold (index), target_delimiter (optional string, default \" \")") {
        @Override McItem item(Row r) {
            String context = r.string("context");
            String delimiter = r.node.has("target_delimiter") ? r.string("target_delimiter") : " ";
            List<String> texts = r.nonEmpty("choices", r.strings("choices"));
            List<McItem.Choice> choices = texts.stream().map(t -> new McItem.Choice(context, delimiter + t, t)).toList();
            return new McItem(r.id("id"), choices, r.index("gold", texts.size()));
        }
    };

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BRACKETED = Pattern.compile("\\[.*?\\]");

    private final String formatName;
    private final String fields;

    TaskFormat(String formatName, String fields) {
        this.formatName = formatName;
        this.fields = fields;
    }

    /** The name used in {@code --task <name>:<file>}. */
    public String formatName() { return formatName; }

    /** The fields each record must have, in words (error messages, README). */
    public String fields() { return fields; }

    abstract McItem item(Row r);

    /**
     * The format named {@code name} ({@code arc_easy}, {@code arc-challenge} and the like are {@link #ARC}), or empty.
     */
    public static java.util.Optional<TaskFormat> byName(String name) {
        String n = name.toLowerCase(Locale.ROOT).replace('-', '_');
        if (n.equals("arc_easy") || n.equals("arc_challenge")) return java.util.Optional.of(ARC);
        return Arrays.stream(values()).filter(f -> f.formatName.equals(n)).findFirst();
    }

    /** Every accepted format name. */
    public static List<String> names() {
        List<String> out = new ArrayList<>(Arrays.stream(values()).map(TaskFormat::formatName).toList());
        out.addAll(1, List.of("arc_easy", "arc_challenge"));
        return out;
    }

    /**
     * Reads every record of {@code file} as items of this format.
     *
     * @throws PrunelabException.Dataset if the file is missing or unreadable, a line is not JSON, or a record lacks a
     *         field or has one of the wrong type: the message names the file, the line, the field and what this format
     *         expects
     */
    public List<McItem> read(Path file) {
        if (Files.isDirectory(file)) {
            throw new PrunelabException.Dataset("task file " + file + " is a folder; give the file itself: a " + formatName
                    + " task file holds one JSON object per line with " + fields);
        }
        if (!Files.isRegularFile(file)) {
            throw new PrunelabException.Dataset("task file " + file + " does not exist; a " + formatName
                    + " task file holds one JSON object per line with " + fields);
        }
        String text;
        try {
            text = org.prunelab.Utf8Text.read(file, "task file", PrunelabException.Dataset::new);
        } catch (IOException e) {
            throw new PrunelabException.Dataset("cannot read task file " + file + ": " + e.getMessage(), e);
        }
        List<McItem> items = new ArrayList<>();
        if (text.stripLeading().startsWith("[")) {
            try (JsonParser p = JSON.createParser(text)) {
                p.nextToken();
                while (p.nextToken() != JsonToken.END_ARRAY && p.currentToken() != null) {
                    int line = p.currentTokenLocation().getLineNr();
                    JsonNode node = JSON.readTree(p);
                    items.add(parse(file, line, node));
                }
            } catch (IOException e) {
                throw new PrunelabException.Dataset(file + ": not a JSON array of " + formatName + " records: "
                        + e.getMessage().lines().findFirst().orElse(""), e);
            }
        } else {
            String[] lines = text.split("\r?\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (lines[i].isBlank()) continue;
                JsonNode node;
                try {
                    node = JSON.readTree(lines[i]);
                } catch (IOException e) {
                    throw new PrunelabException.Dataset(file + " line " + (i + 1) + ": not a JSON object ("
                            + e.getMessage().lines().findFirst().orElse("") + "); a " + formatName
                            + " task file holds one JSON object per line with " + fields, e);
                }
                items.add(parse(file, i + 1, node));
            }
        }
        if (items.isEmpty()) throw new PrunelabException.Dataset("task file " + file + " holds no " + formatName + " records");
        return items;
    }

    private McItem parse(Path file, int line, JsonNode node) {
        Row r = new Row(this, file, line, node);
        if (node == null || !node.isObject()) throw r.bad(null, "is not a JSON object");
        try {
            return item(r);
        } catch (PrunelabException.InvalidArgument e) { // an item that McItem refuses (e.g. an empty choice)
            throw new PrunelabException.Dataset(r.where() + ": " + e.getMessage() + "; a " + formatName + " record has " + fields, e);
        }
    }

    /** lm-eval's HellaSwag clean-up: strip, " [title]" to ". ", drop [bracketed] text, "  " to " ". */
    static String preprocess(String text) {
        String t = text.strip().replace(" [title]", ". ");
        t = BRACKETED.matcher(t).replaceAll("");
        return t.replace("  ", " ");
    }

    /** Python's {@code str.capitalize()}: first character in title case, the rest in lower case. */
    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int first = s.codePointAt(0);
        int n = Character.charCount(first);
        return new String(Character.toChars(Character.toTitleCase(first))) + s.substring(n).toLowerCase(Locale.ROOT);
    }

    /** ARC and OpenBookQA: choices {text, label} and an answerKey naming one label. */
    private static McItem labelled(Row r, String context, String answerKey) {
        JsonNode choices = r.node.get("choices");
        if (choices == null || !choices.isObject()) throw r.bad("choices", "must be an object {text: [...], label: [...]}");
        List<String> texts = r.strings(choices, "choices.text");
        List<String> labels = r.strings(choices, "choices.label");
        if (texts.size() != labels.size()) throw r.bad("choices", "has " + texts.size() + " texts but " + labels.size() + " labels");
        int gold = labels.indexOf(answerKey);
        if (gold < 0) throw r.bad("answerKey", "is \"" + answerKey + "\", not one of the labels " + labels);
        return McItem.sharedContext(r.id("id"), context, r.nonEmpty("choices.text", texts), gold);
    }

    /** One record with its place in the file, for error messages. */
    record Row(TaskFormat format, Path file, int line, JsonNode node) {
        String where() {
            return file + " line " + line;
        }

        PrunelabException.Dataset bad(String field, String problem) {
            return new PrunelabException.Dataset(where() + (field == null ? "" : ": field '" + field + "'") + " " + problem
                    + "; a " + format.formatName + " record has " + format.fields);
        }

        String string(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) throw bad(field, "is missing");
            if (!v.isTextual()) throw bad(field, "must be a string, got " + v.getNodeType().toString().toLowerCase(Locale.ROOT));
            return v.asText();
        }

        List<String> strings(String field) {
            return strings(node, field);
        }

        List<String> strings(JsonNode parent, String field) {
            String key = field.contains(".") ? field.substring(field.lastIndexOf('.') + 1) : field;
            JsonNode v = parent.get(key);
            if (v == null || v.isNull()) throw bad(field, "is missing");
            if (!v.isArray() || v.size() < 2) throw bad(field, "must be an array of at least 2 strings, got " + v);
            List<String> out = new ArrayList<>();
            for (JsonNode e : v) {
                if (!e.isTextual()) throw bad(field, "must hold strings only, got " + e);
                out.add(e.asText());
            }
            return out;
        }

        List<String> nonEmpty(String field, List<String> texts) {
            for (String t : texts) if (t.isBlank()) throw bad(field, "holds an empty choice");
            return texts;
        }

        /** An index in [0, n): a JSON integer or a string of digits (HellaSwag's labels are strings). */
        int index(String field, int n) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) throw bad(field, "is missing");
            int value;
            if (v.isInt()) value = v.asInt();
            else if (v.isTextual() && v.asText().matches("[0-9]{1,9}")) value = Integer.parseInt(v.asText());
            else throw bad(field, "must be an integer index, got " + v);
            if (value < 0 || value >= n) throw bad(field, "is " + value + ", outside [0, " + n + ") (unlabelled test split?)");
            return value;
        }

        boolean bool(String field) {
            JsonNode v = node.get(field);
            if (v == null || !v.isBoolean()) throw bad(field, "must be true or false, got " + v);
            return v.asBoolean();
        }

        /** The record's own id field if it has one, else its line number. */
        String id(String field) {
            JsonNode v = node.get(field);
            return v != null && (v.isTextual() || v.isNumber()) && !v.asText().isEmpty() ? v.asText() : "line-" + line;
        }
    }
}
