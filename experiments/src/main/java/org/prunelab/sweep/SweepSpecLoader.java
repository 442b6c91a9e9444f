package org.prunelab.sweep;

import org.prunelab.PrunelabException;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodArgs;
import org.prunelab.prune.Methods;
import org.prunelab.run.BenchSpec;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.TaskSpec;
import org.prunelab.run.RunSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a sweep spec (YAML) and expands its grid into {@link RunSpec}s. Every mistake is a
 * {@link PrunelabException.InvalidArgument} that names the file and line. The format, with
 * {@code experiments/sweeps/tradeoff.yaml} as the full example:
 *
 * <pre>{@code
 * name: tradeoff                      # parent run name
 * experiment: prunelab-tradeoff       # MLflow experiment
 * model: smollm2-135m                 # axis: one value or a list
 * seed: 0                             # axis
 * calibration: {dataset: brown, nsamples: 128, seqlen: 512}   # axis: one mapping or a list of them
 * evaluation:
 *   seqlen: 512
 *   windows: 0                        # 0 = all windows
 *   datasets: [brown, udhr:swh, {dataset: udhr:yor, seqlen: 256}]
 *   tasks: [udhr-next:eng]            # optional: multiple-choice accuracy (eval --task), scored after perplexity
 *   task_items: 30                    # optional: the first N items of each task (default 0 = all)
 * speed: {seqlen: 128, repeats: 5, gen: 16}   # or none: no speed measurement
 * report: tradeoff                    # or languages: which report `prunelab tradeoff` writes (default tradeoff)
 * grid:                               # each entry is a cartesian product; top-level axes are defaults
 *   - method: dense
 *   - method: [magnitude, wanda, sparsegpt]
 *     sparsity: [0.3, 0.5]            # pattern defaults to unstructured
 *   - method: [wanda, sparsegpt]
 *     pattern: "2:4"                  # N:M implies its sparsity; do not give one
 *     quantize: [none, q8_0, q4_0]    # axis: GGUF block type after pruning (default none)
 *     quant_method: rtn               # axis: rtn (default) or gptq
 * profiles:                           # optional: --profile NAME lays this mapping over the top level
 *   quick: {calibration: {nsamples: 16, seqlen: 256}}
 * }</pre>
 * Methods that read no calibration data (dense, magnitude) get no calibration and seed 0, so they are
 * not repeated across calibration sets or seeds; points with the same key are kept once.
 */
public final class SweepSpecLoader {
    private static final Set<String> TOP_KEYS = Set.of("name", "experiment", "model", "seed", "calibration", "evaluation",
            "speed", "grid", "profiles", "report");
    /** Grid entry keys: the run's axes, and every parameter a registered method declares ({@link Methods#paramNames()}). */
    private static final Set<String> GRID_KEYS;

    static {
        Set<String> keys = new java.util.TreeSet<>(Set.of("method", "model", "seed", "calibration", "evaluation", "quantize",
                "quant_method"));
        keys.addAll(Methods.paramNames());
        GRID_KEYS = java.util.Collections.unmodifiableSet(keys);
    }

    /** How a sweep spec spells the parameters core names in its messages. */
    static final java.util.function.UnaryOperator<String> SPELLING = name -> {
        if (name.startsWith("calib.")) return "calibration." + name.substring("calib.".length());
        if (name.startsWith("eval.")) return "evaluation." + name.substring("eval.".length());
        if (name.startsWith("bench.")) return "speed." + name.substring("bench.".length());
        return name;
    };

    /** Checks a model or dataset name against what exists (throws a {@link PrunelabException} if it cannot be used). */
    public interface Checks {
        void model(String name);

        void dataset(String name);

        /** Checks nothing (syntax only). */
        Checks NONE = new Checks() {
            @Override public void model(String name) {}
            @Override public void dataset(String name) {}
        };
    }

    private final String source;
    private final Checks checks;
    private final Map<String, Integer> datasetLines = new LinkedHashMap<>();
    private final Map<String, Integer> pointLines = new LinkedHashMap<>();
    private final Set<String> modelsChecked = new LinkedHashSet<>();

    private SweepSpecLoader(String source, Checks checks) {
        this.source = source;
        this.checks = checks;
    }

    /**
     * Loads the spec in {@code file}.
     *
     * @param profile a name under {@code profiles:}, or null for none
     * @throws PrunelabException.InvalidArgument if the file cannot be read or the spec is wrong (line named)
     */
    public static SweepSpec load(Path file, String profile, Checks checks) {
        String text;
        try {
            text = org.prunelab.Utf8Text.read(file, "sweep spec", PrunelabException.InvalidArgument::new);
        } catch (IOException e) {
            throw new PrunelabException.InvalidArgument("cannot read sweep spec " + file + " (" + e.getMessage()
                    + "); pass an existing YAML file with --spec");
        }
        return parse(text, file.getFileName().toString(), profile, checks);
    }

    /** Like {@link #load} for spec text; {@code source} names it in messages. */
    public static SweepSpec parse(String text, String source, String profile, Checks checks) {
        return new SweepSpecLoader(source, checks).read(text, profile);
    }

    private SweepSpec read(String text, String profile) {
        YamlTree root = YamlTree.parse(text, source);
        if (!root.isMap()) throw error(root, "a sweep spec is a mapping with keys " + TOP_KEYS);
        checkKeys(root, TOP_KEYS);
        YamlTree top = applyProfile(root, profile);
        String name = string(top, "name", "sweep");
        String experiment = string(top, "experiment", "prunelab-" + name);
        YamlTree grid = top.map().get("grid");
        if (grid == null || !grid.isList() || grid.list().isEmpty()) {
            throw error(grid != null ? grid : top, "'grid' must be a non-empty list of entries such as"
                    + " '- method: [wanda, sparsegpt]' with 'sparsity: [0.5]'");
        }
        BenchSpec bench = speed(top.map().get("speed"));
        Set<String> keys = new LinkedHashSet<>();
        List<RunSpec> points = new ArrayList<>();
        for (YamlTree entry : grid.list()) {
            if (!entry.isMap()) throw error(entry, "each grid entry is a mapping, e.g. '- method: wanda'");
            checkKeys(entry, GRID_KEYS);
            for (RunSpec p : expand(top, entry, bench)) {
                if (keys.add(p.key())) points.add(p);
            }
        }
        String report = string(top, "report", SweepSpec.TRADEOFF);
        if (!report.equals(SweepSpec.TRADEOFF) && !report.equals(SweepSpec.LANGUAGES)) {
            throw error(top.map().get("report"), "report must be " + SweepSpec.TRADEOFF + " or " + SweepSpec.LANGUAGES + ", got '" + report + "'");
        }
        return new SweepSpec(name, experiment, profile, points, bench, text, datasetLines, pointLines, report);
    }

    private YamlTree applyProfile(YamlTree root, String profile) {
        YamlTree profiles = root.map().get("profiles");
        Map<String, YamlTree> stripped = new LinkedHashMap<>(root.map());
        stripped.remove("profiles");
        YamlTree top = new YamlTree(stripped, root.line());
        if (profile == null) return top;
        if (profiles == null || !profiles.isMap() || !profiles.map().containsKey(profile)) {
            throw error(profiles != null ? profiles : root, "no profile '" + profile + "' in the spec; it has "
                    + (profiles != null && profiles.isMap() ? profiles.map().keySet() : "none"));
        }
        YamlTree overlay = profiles.map().get(profile);
        if (!overlay.isMap()) throw error(overlay, "profile '" + profile + "' must be a mapping of top-level keys");
        checkKeys(overlay, TOP_KEYS);
        return top.mergedWith(overlay);
    }

    private List<RunSpec> expand(YamlTree top, YamlTree entry, BenchSpec bench) {
        YamlTree methods = entry.map().get("method");
        if (methods == null) throw error(entry, "grid entry has no 'method'; use one of " + methodNames());
        List<RunSpec> out = new ArrayList<>();
        for (YamlTree model : axis(top, entry, "model")) {
            String modelName = scalarString(model, "model");
            if (modelsChecked.add(modelName)) check(model, () -> checks.model(modelName));
            for (YamlTree m : nonEmptyAxis(methods, "method")) {
                String method = scalarString(m, "method");
                if (!method.equals(Methods.DENSE) && !Methods.isKnown(method)) {
                    throw error(m, "unknown method '" + method + "'; use one of " + methodNames());
                }
                List<EvalSpec> evaluation = evaluation(pick(top, entry, "evaluation"));
                List<TaskSpec> tasks = tasks(pick(top, entry, "evaluation"));
                if (method.equals(Methods.DENSE)) {
                    for (String k : entry.map().keySet()) {
                        if (Methods.paramNames().contains(k)) {
                            throw error(entry.map().get(k), "method dense prunes nothing: drop '" + k + "'");
                        }
                    }
                    RunSpec dense = RunSpec.dense(modelName, evaluation, "dense", bench).withTasks(tasks);
                    for (RunSpec q : quantized(top, entry, dense)) {
                        pointLines.putIfAbsent(q.key(), m.line());
                        out.add(q);
                    }
                    continue;
                }
                Method entryMethod = Methods.byName(method);
                for (Map<String, YamlTree> combo : paramCombinations(entry, entryMethod)) {
                    Map<String, Object> raw = new LinkedHashMap<>();
                    combo.forEach((k, v) -> raw.put(k, check(v, () -> entryMethod.param(k).parse(v.value()))));
                    MethodArgs args = checkCombination(m, combo, () -> entryMethod.args(raw));
                    boolean calibrated = entryMethod.create(args).needsCalibration();
                    List<YamlTree> calibs = calibrated ? axis(top, entry, "calibration") : java.util.Collections.singletonList(null);
                    List<YamlTree> seeds = calibrated ? axis(top, entry, "seed", 0) : List.of(new YamlTree(0, entry.line()));
                    for (YamlTree c : calibs) {
                        CalibrationSpec calib = calibrated ? calibration(c) : null;
                        for (YamlTree seed : seeds) {
                            RunSpec point = RunSpec.pruning(modelName, method, raw, calib, evaluation, "dense", bench,
                                    integer(seed, "seed", Long.MIN_VALUE)).withTasks(tasks);
                            for (RunSpec q : quantized(top, entry, point)) {
                                pointLines.putIfAbsent(q.key(), m.line());
                                out.add(q);
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * The entry's {@code quantize} axis ({@code none}, {@code q8_0}, {@code q4_0}; default none) times its
     * {@code quant_method} axis ({@code rtn}, {@code gptq}; default rtn) applied to {@code point}. GPTQ on a method that
     * reads no calibration takes the top level's first calibration set and seed.
     */
    private List<RunSpec> quantized(YamlTree top, YamlTree entry, RunSpec point) {
        YamlTree types = entry.map().get("quantize");
        if (types == null) return List.of(point);
        YamlTree methodsTree = entry.map().get("quant_method");
        List<YamlTree> methods = methodsTree == null ? List.of(new YamlTree("rtn", entry.line())) : nonEmptyAxis(methodsTree, "quant_method");
        List<RunSpec> out = new ArrayList<>();
        for (YamlTree t : nonEmptyAxis(types, "quantize")) {
            String type = scalarString(t, "quantize");
            if (type.equals("none")) {
                out.add(point);
                continue;
            }
            check(t, () -> new org.prunelab.run.QuantSpec(type, "rtn"));
            for (YamlTree qm : methods) {
                org.prunelab.run.QuantSpec q = check(qm, () -> new org.prunelab.run.QuantSpec(type, scalarString(qm, "quant_method")));
                CalibrationSpec calib = q.calibrated() && point.calibration() == null ? calibration(axis(top, entry, "calibration").getFirst()) : null;
                out.add(point.withQuantize(q, calib, 0));
            }
        }
        return out;
    }

    private static String methodNames() {
        List<String> names = new ArrayList<>(List.of(Methods.DENSE));
        names.addAll(Methods.names());
        return String.join(", ", names);
    }

    /**
     * The cartesian product of the entry's parameter axes that {@code method} declares, in declaration order.
     * {@code pattern: structured} is the MLflow pattern of structured and low-rank methods and stands for no parameter.
     */
    private List<Map<String, YamlTree>> paramCombinations(YamlTree entry, Method method) {
        boolean masks = method.kind() == Method.Kind.UNSTRUCTURED;
        YamlTree pattern = entry.map().get("pattern");
        if (pattern != null) {
            for (YamlTree p : pattern.asAxis()) {
                boolean structured = "structured".equals(String.valueOf(p.value()).strip());
                if (structured && masks) {
                    throw error(p, "pattern structured needs a structured method (" + String.join(", ", Methods.all().stream()
                            .filter(x -> x.kind() != Method.Kind.UNSTRUCTURED).map(Method::name).toList())
                            + "); for " + method.name() + " use unstructured or n:m such as \"2:4\"");
                }
                if (!structured && !masks) throw error(p, "method " + method.name() + " is structured: use pattern: structured");
            }
        }
        for (String key : entry.map().keySet()) {
            if (!Methods.paramNames().contains(key) || (key.equals("pattern") && !masks)) continue;
            if (!method.hasParam(key)) {
                throw error(entry.map().get(key), "method " + method.name() + " has no parameter '" + key + "' (its parameters: "
                        + String.join(", ", method.paramNames()) + "); put methods with different parameters in entries of their own");
            }
        }
        List<Map<String, YamlTree>> combos = new ArrayList<>();
        combos.add(new LinkedHashMap<>());
        for (org.prunelab.prune.MethodParam p : method.params()) {
            YamlTree v = entry.map().get(p.name());
            if (v == null || (p.name().equals("pattern") && !masks)) continue;
            List<Map<String, YamlTree>> next = new ArrayList<>();
            for (Map<String, YamlTree> c : combos) {
                for (YamlTree value : nonEmptyAxis(v, p.name())) {
                    if (value.isMap() || value.isList()) throw error(value, p.name() + " must be a single value per point");
                    Map<String, YamlTree> n = new LinkedHashMap<>(c);
                    n.put(p.name(), value);
                    next.add(n);
                }
            }
            combos = next;
        }
        return combos;
    }

    /**
     * Checks a combination of parameters; its error names the line of the first parameter the message mentions
     * (or of the method).
     */
    private MethodArgs checkCombination(YamlTree methodNode, Map<String, YamlTree> combo,
                                        java.util.function.Supplier<MethodArgs> body) {
        try {
            return body.get();
        } catch (PrunelabException e) {
            java.util.regex.Matcher names = java.util.regex.Pattern.compile("\\$\\{([a-z_.]+)}").matcher(e.template());
            YamlTree at = methodNode;
            while (names.find()) {
                if (names.group(1).equals("method")) break;
                if (combo.containsKey(names.group(1))) {
                    at = combo.get(names.group(1));
                    break;
                }
            }
            throw error(at, e.message(SPELLING));
        }
    }

    private CalibrationSpec calibration(YamlTree c) {
        if (c == null || !c.isMap()) {
            throw error(c, "calibration must be a mapping such as {dataset: brown, nsamples: 128, seqlen: 512}");
        }
        checkKeys(c, Set.of("dataset", "nsamples", "seqlen"));
        // One dataset, a list of them ({dataset: [udhr:eng, udhr:swh]}) or a comma list: a multilingual calibration set.
        YamlTree d = required(c, "dataset");
        String dataset;
        if (d.isList()) {
            List<String> names = new ArrayList<>();
            for (YamlTree x : d.list()) names.add(dataset(x));
            if (names.isEmpty()) throw error(d, "calibration dataset list is empty: name at least one, e.g. [udhr:eng, udhr:swh]");
            dataset = checkedJoin(d, names);
        } else {
            String text = scalarString(d, "dataset");
            if (text.contains(CalibrationSpec.SEPARATOR)) {
                List<String> names = new ArrayList<>();
                for (String n : text.split(CalibrationSpec.SEPARATOR, -1)) {
                    String name = n.strip();
                    if (!name.isEmpty() && !datasetLines.containsKey(name)) {
                        check(d, () -> checks.dataset(name));
                        datasetLines.put(name, d.line());
                    }
                    names.add(name);
                }
                dataset = checkedJoin(d, names);
            } else {
                dataset = dataset(d);
            }
        }
        int nsamples = (int) integer(required(c, "nsamples"), "nsamples", 1);
        int seqlen = (int) integer(required(c, "seqlen"), "seqlen", 2);
        return new CalibrationSpec(dataset, nsamples, seqlen);
    }

    private List<EvalSpec> evaluation(YamlTree e) {
        if (e == null || !e.isMap()) {
            throw error(e, "evaluation must be a mapping such as {seqlen: 512, windows: 0, datasets: [brown, udhr:swh]}");
        }
        checkKeys(e, Set.of("seqlen", "windows", "datasets", "tasks", "task_items"));
        YamlTree seqlenNode = e.map().get("seqlen");
        YamlTree windowsNode = e.map().get("windows");
        YamlTree datasets = required(e, "datasets");
        List<EvalSpec> out = new ArrayList<>();
        for (YamlTree d : datasets.asAxis()) {
            YamlTree name = d;
            YamlTree seqlen = seqlenNode;
            YamlTree windows = windowsNode;
            if (d.isMap()) {
                checkKeys(d, Set.of("dataset", "seqlen", "windows"));
                name = required(d, "dataset");
                seqlen = d.map().getOrDefault("seqlen", seqlenNode);
                windows = d.map().getOrDefault("windows", windowsNode);
            }
            if (seqlen == null) throw error(d, "evaluation needs 'seqlen' (tokens per window), e.g. 512");
            out.add(new EvalSpec(dataset(name), (int) integer(seqlen, "seqlen", 2),
                    windows == null ? 0 : (int) integer(windows, "windows", 0)));
        }
        if (out.isEmpty()) throw error(datasets, "evaluation needs at least one dataset, e.g. [brown]");
        return out;
    }

    /** The evaluation's multiple-choice tasks ({@code tasks}, each limited to {@code task_items}); empty if none. */
    private List<TaskSpec> tasks(YamlTree e) {
        YamlTree names = e.map().get("tasks");
        if (names == null) return List.of();
        YamlTree itemsNode = e.map().get("task_items");
        int items = itemsNode == null ? 0 : (int) integer(itemsNode, "task_items", 0);
        List<TaskSpec> out = new ArrayList<>();
        for (YamlTree t : names.asAxis()) out.add(check(t, () -> new TaskSpec(scalarString(t, "tasks"), items)));
        return out;
    }

    private BenchSpec speed(YamlTree s) {
        BenchSpec d = BenchSpec.SWEEP_DEFAULT;
        if (s == null) return d;
        if ("none".equals(s.value())) return null; // no speed measurement at any point
        if (!s.isMap()) throw error(s, "speed must be a mapping such as {seqlen: 128, repeats: 3, gen: 16}, or none");
        checkKeys(s, Set.of("seqlen", "repeats", "gen"));
        YamlTree seqlen = s.map().get("seqlen");
        YamlTree repeats = s.map().get("repeats");
        YamlTree gen = s.map().get("gen");
        return new BenchSpec(seqlen == null ? d.promptLen() : (int) integer(seqlen, "seqlen", 2),
                gen == null ? d.gen() : (int) integer(gen, "gen", 1),
                repeats == null ? d.repeat() : (int) integer(repeats, "repeats", 1), d.warmup(), d.format(), null);
    }

    private String checkedJoin(YamlTree node, List<String> names) {
        try {
            return CalibrationSpec.join(names);
        } catch (PrunelabException e) {
            throw error(node, e.getMessage());
        }
    }

    private String dataset(YamlTree node) {
        String name = scalarString(node, "dataset");
        if (!datasetLines.containsKey(name)) {
            check(node, () -> checks.dataset(name));
            datasetLines.put(name, node.line());
        }
        return name;
    }

    // --- helpers ------------------------------------------------------------------------------------

    /** The grid entry's value of an axis, else the top level's, else the default, as a list. */
    private List<YamlTree> axis(YamlTree top, YamlTree entry, String key, Object... fallback) {
        YamlTree v = pick(top, entry, key);
        if (v == null && fallback.length > 0) return List.of(new YamlTree(fallback[0], entry.line()));
        if (v == null) throw error(entry, "no '" + key + "' in this grid entry or at the top level of the spec");
        return nonEmptyAxis(v, key);
    }

    /** {@code v} as an axis (a list, or one value); an empty list, which would expand to no points at all, is refused. */
    private List<YamlTree> nonEmptyAxis(YamlTree v, String key) {
        if (v.isList() && v.list().isEmpty()) throw error(v, "'" + key + "' is an empty list; give at least one value");
        return v.asAxis();
    }

    private static YamlTree pick(YamlTree top, YamlTree entry, String key) {
        YamlTree v = entry.map().get(key);
        return v != null ? v : top.map().get(key);
    }

    private YamlTree required(YamlTree map, String key) {
        YamlTree v = map.map().get(key);
        if (v == null) throw error(map, "missing '" + key + "'");
        return v;
    }

    private String string(YamlTree map, String key, String fallback) {
        YamlTree v = map.map().get(key);
        return v == null ? fallback : scalarString(v, key);
    }

    private String scalarString(YamlTree v, String what) {
        if (v.value() == null || v.isMap() || v.isList()) throw error(v, what + " must be a single value");
        return String.valueOf(v.value()).strip();
    }

    private long integer(YamlTree v, String what, long min) {
        if (!(v.value() instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
            throw error(v, what + " must be a whole number; got '" + v.value() + "'");
        }
        if (n.longValue() < min) throw error(v, what + " must be at least " + min + ", got " + n.longValue());
        return n.longValue();
    }

    private void checkKeys(YamlTree map, Set<String> allowed) {
        for (Map.Entry<String, YamlTree> e : map.map().entrySet()) {
            if (!allowed.contains(e.getKey())) {
                throw error(e.getValue(), "unknown key '" + e.getKey() + "'; allowed here: " + String.join(", ", allowed.stream().sorted().toList()));
            }
        }
    }

    private <T> T check(YamlTree at, java.util.function.Supplier<T> body) {
        try {
            return body.get();
        } catch (PrunelabException e) {
            throw error(at, e.message(SPELLING));
        }
    }

    private void check(YamlTree at, Runnable body) {
        check(at, () -> {
            body.run();
            return null;
        });
    }

    /**
     * The error for a point that the planner refused (a check that needs the model's shape), naming the spec line its
     * grid entry starts at, the point, and the problem in the spec's spelling.
     */
    public static PrunelabException.InvalidArgument pointError(SweepSpec spec, String source, RunSpec point, PrunelabException e) {
        int line = spec.line(point);
        return new PrunelabException.InvalidArgument(source + (line > 0 ? " line " + line : "") + ": point " + point.name() + ": "
                + e.message(SPELLING));
    }

    private PrunelabException.InvalidArgument error(YamlTree at, String message) {
        return new PrunelabException.InvalidArgument(source + (at != null ? " line " + at.line() : "") + ": " + message);
    }
}
