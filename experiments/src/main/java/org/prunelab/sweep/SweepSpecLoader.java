package org.prunelab.sweep;

import org.prunelab.PrunelabException;
import org.prunelab.prune.SparsityPattern;

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
 * speed: {seqlen: 128, repeats: 5, gen: 16}
 * grid:                               # each entry is a cartesian product; top-level axes are defaults
 *   - method: dense
 *   - method: [magnitude, wanda, sparsegpt]
 *     sparsity: [0.3, 0.5]            # pattern defaults to unstructured
 *   - method: [wanda, sparsegpt]
 *     pattern: "2:4"                  # N:M implies its sparsity; do not give one
 * profiles:                           # optional: --profile NAME lays this mapping over the top level
 *   quick: {calibration: {nsamples: 16, seqlen: 256}}
 * }</pre>
 * Methods that read no calibration data (dense, magnitude) get no calibration and seed 0, so they are
 * not repeated across calibration sets or seeds; points with the same key are kept once.
 */
public final class SweepSpecLoader {
    private static final Set<String> TOP_KEYS = Set.of("name", "experiment", "model", "seed", "calibration", "evaluation",
            "speed", "grid", "profiles");
    private static final Set<String> GRID_KEYS = Set.of("method", "sparsity", "pattern", "model", "seed", "calibration",
            "evaluation");

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
            text = Files.readString(file, StandardCharsets.UTF_8);
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
        Set<String> keys = new LinkedHashSet<>();
        List<RunSpec> points = new ArrayList<>();
        for (YamlTree entry : grid.list()) {
            if (!entry.isMap()) throw error(entry, "each grid entry is a mapping, e.g. '- method: wanda'");
            checkKeys(entry, GRID_KEYS);
            for (RunSpec p : expand(top, entry)) {
                if (keys.add(p.key())) points.add(p);
            }
        }
        return new SweepSpec(name, experiment, profile, points, speed(top.map().get("speed")), text, datasetLines);
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

    private List<RunSpec> expand(YamlTree top, YamlTree entry) {
        YamlTree methods = entry.map().get("method");
        if (methods == null) throw error(entry, "grid entry has no 'method'; use one of " + SweepMethods.names());
        List<RunSpec> out = new ArrayList<>();
        for (YamlTree model : axis(top, entry, "model")) {
            String modelName = scalarString(model, "model");
            if (modelsChecked.add(modelName)) check(model, () -> checks.model(modelName));
            for (YamlTree m : methods.asAxis()) {
                String method = scalarString(m, "method");
                if (!SweepMethods.isKnown(method)) {
                    throw error(m, "unknown method '" + method + "'; use one of " + String.join(", ", SweepMethods.names()));
                }
                List<EvalSpec> evaluation = evaluation(pick(top, entry, "evaluation"));
                if (method.equals(SweepMethods.DENSE)) {
                    for (String k : List.of("sparsity", "pattern")) {
                        if (entry.map().containsKey(k)) throw error(entry.map().get(k), "method dense prunes nothing: drop '" + k + "'");
                    }
                    out.add(new RunSpec(modelName, method, 0.0, "dense", null, evaluation, 0));
                    continue;
                }
                for (YamlTree pat : axis(top, entry, "pattern", "unstructured")) {
                    for (double[] sp : sparsities(entry, method, pat)) {
                        boolean calibrated = SweepMethods.needsCalibration(method);
                        List<YamlTree> calibs = calibrated ? axis(top, entry, "calibration") : java.util.Collections.singletonList(null);
                        List<YamlTree> seeds = calibrated ? axis(top, entry, "seed", 0) : List.of(new YamlTree(0, entry.line()));
                        for (YamlTree c : calibs) {
                            CalibrationSpec calib = calibrated ? calibration(c) : null;
                            for (YamlTree s : seeds) {
                                out.add(new RunSpec(modelName, method, sp[0], patternLabel(pat), calib, evaluation,
                                        integer(s, "seed", Long.MIN_VALUE)));
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** The sparsities of one method and pattern: each given value, or the one N:M implies. */
    private List<double[]> sparsities(YamlTree entry, String method, YamlTree pat) {
        String pattern = scalarString(pat, "pattern");
        YamlTree given = entry.map().get("sparsity");
        boolean structured = SweepMethods.isStructured(method);
        if (pattern.equals("structured") != structured) {
            throw error(pat, structured ? "method " + method + " is structured: use pattern: structured"
                    : "pattern structured needs a structured method (" + SweepMethods.STRUCTURED
                    + "); for " + method + " use unstructured or n:m such as \"2:4\"");
        }
        if (pattern.contains(":")) {
            SparsityPattern nm = check(pat, () -> SparsityPattern.parse(pattern));
            if (!(nm instanceof SparsityPattern.NM)) throw error(pat, "pattern '" + pattern + "' is not n:m");
            if (given != null) {
                throw error(given, "pattern " + pattern + " always removes " + nm.sparsity() + " of the weights: drop 'sparsity'"
                        + " from this grid entry (put N:M patterns in an entry of their own)");
            }
            return List.<double[]>of(new double[] {nm.sparsity()});
        }
        if (!pattern.equals("unstructured") && !pattern.equals("structured")) {
            throw error(pat, "unknown pattern '" + pattern + "': use unstructured, structured or n:m such as \"2:4\"");
        }
        if (given == null) throw error(entry, "method " + method + " with pattern " + pattern + " needs 'sparsity', e.g. [0.5]");
        List<double[]> out = new ArrayList<>();
        for (YamlTree s : given.asAxis()) {
            if (!(s.value() instanceof Number n)) throw error(s, "sparsity must be a number in [0, 1), e.g. 0.5; got '" + s.value() + "'");
            double v = n.doubleValue();
            if (!(v >= 0 && v < 1)) {
                throw error(s, "sparsity " + v + " is outside [0, 1): give the fraction of weights to remove, e.g. 0.5 for 50%");
            }
            out.add(new double[] {v});
        }
        return out;
    }

    private static String patternLabel(YamlTree pat) {
        String p = String.valueOf(pat.value()).strip();
        return p.contains(":") ? SparsityPattern.parse(p).label() : p;
    }

    private CalibrationSpec calibration(YamlTree c) {
        if (c == null || !c.isMap()) {
            throw error(c, "calibration must be a mapping such as {dataset: brown, nsamples: 128, seqlen: 512}");
        }
        checkKeys(c, Set.of("dataset", "nsamples", "seqlen"));
        String dataset = dataset(required(c, "dataset"));
        int nsamples = (int) integer(required(c, "nsamples"), "nsamples", 1);
        int seqlen = (int) integer(required(c, "seqlen"), "seqlen", 2);
        return new CalibrationSpec(dataset, nsamples, seqlen);
    }

    private List<EvalSpec> evaluation(YamlTree e) {
        if (e == null || !e.isMap()) {
            throw error(e, "evaluation must be a mapping such as {seqlen: 512, windows: 0, datasets: [brown, udhr:swh]}");
        }
        checkKeys(e, Set.of("seqlen", "windows", "datasets"));
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

    private SpeedSettings speed(YamlTree s) {
        if (s == null) return new SpeedSettings(128, 3);
        if (!s.isMap()) throw error(s, "speed must be a mapping such as {seqlen: 128, repeats: 3}");
        checkKeys(s, Set.of("seqlen", "repeats", "gen"));
        YamlTree seqlen = s.map().get("seqlen");
        YamlTree repeats = s.map().get("repeats");
        YamlTree gen = s.map().get("gen");
        return new SpeedSettings(seqlen == null ? 128 : (int) integer(seqlen, "seqlen", 2),
                repeats == null ? 3 : (int) integer(repeats, "repeats", 1),
                gen == null ? SpeedSettings.DEFAULT_GEN : (int) integer(gen, "gen", 1));
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
            throw error(at, e.getMessage());
        }
    }

    private void check(YamlTree at, Runnable body) {
        check(at, () -> {
            body.run();
            return null;
        });
    }

    private PrunelabException.InvalidArgument error(YamlTree at, String message) {
        return new PrunelabException.InvalidArgument(source + (at != null ? " line " + at.line() : "") + ": " + message);
    }
}
