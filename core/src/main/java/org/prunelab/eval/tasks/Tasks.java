package org.prunelab.eval.tasks;

import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;

import java.nio.file.Path;
import java.util.List;

/**
 * Resolves a task argument ({@code --task}) to its items: {@code <format>:<file>} for a file in a published format
 * ({@link TaskFormat}: hellaswag, arc_easy, arc_challenge, piqa, boolq, winogrande, rte, openbookqa, mc), or a built-in
 * task ({@link BuiltinTasks}): {@code udhr-next:<code>}, {@code brown-next}.
 */
public final class Tasks {
    private Tasks() {}

    /** The valid forms, in words (error messages, --help). */
    public static final String VALID = "udhr-next:<code> (e.g. udhr-next:swh), brown-next, or <format>:<file> with format one of "
            + String.join(", ", TaskFormat.names());

    /**
     * A resolved task.
     *
     * @param name  the argument as given (stripped)
     * @param items its items, at most the limit asked for, in task order
     * @param note  where the items came from, in words
     */
    public record Task(String name, List<McItem> items, String note) {}

    /**
     * Loads task {@code spec}.
     *
     * @param limit the first this many items (0 = all)
     * @throws PrunelabException.Dataset for an unknown task (the message lists the valid ones), a bad file (file, line,
     *         field), a UDHR code with no translation (close matches listed), or a corpus setup has not fetched
     * @throws PrunelabException.InvalidArgument for a negative limit
     */
    public static Task load(String spec, PrunelabHome home, int limit) {
        if (limit < 0) throw new PrunelabException.InvalidArgument("an item limit must be 0 (all) or positive, got " + limit);
        String s = spec.strip();
        int colon = s.indexOf(':');
        String kind = colon > 0 ? s.substring(0, colon) : s;
        String arg = colon > 0 ? s.substring(colon + 1).strip() : "";
        List<McItem> items;
        String note;
        switch (kind) {
            case "udhr-next" -> {
                if (arg.isEmpty()) throw new PrunelabException.Dataset("task '" + s + "' needs a UDHR code, e.g. udhr-next:swh");
                BuiltinTasks.Built b = BuiltinTasks.udhrNext(home, arg);
                items = b.items();
                note = b.note();
            }
            case "brown-next" -> {
                if (!arg.isEmpty()) throw new PrunelabException.Dataset("task '" + s + "' takes no argument; valid: " + VALID);
                BuiltinTasks.Built b = BuiltinTasks.brownNext(home);
                items = b.items();
                note = b.note();
            }
            default -> {
                TaskFormat format = TaskFormat.byName(kind).orElseThrow(() -> new PrunelabException.Dataset(
                        "unknown task '" + s + "'; valid: " + VALID));
                if (arg.isEmpty()) {
                    throw new PrunelabException.Dataset("task '" + s + "' needs a file after ':', e.g. " + kind + ":/data/"
                            + format.formatName() + ".jsonl (one JSON object per line with " + format.fields() + ")");
                }
                Path file = Path.of(arg);
                items = format.read(file);
                note = format.formatName() + " records from " + file.toAbsolutePath() + " (" + items.size() + " items)";
            }
        }
        if (limit > 0 && items.size() > limit) {
            note += "; the first " + limit + " used";
            items = items.subList(0, limit);
        }
        return new Task(s, List.copyOf(items), note);
    }
}
