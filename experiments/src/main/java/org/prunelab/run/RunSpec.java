package org.prunelab.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import org.prunelab.prune.Method;
import org.prunelab.prune.MethodArgs;
import org.prunelab.prune.Methods;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One run, fully specified: what {@code prune}, {@code eval}, {@code bench}, a sweep point and a notebook call all
 * hand to the one {@link Pipeline}. Immutable; its canonical JSON hashes to a stable run key (the sweep's resume key).
 * Field names are the MLflow param names.
 *
 * @param model       registered model name or path
 * @param method      {@value Methods#DENSE} (no pruning in this run) or a registered method ({@link Methods})
 * @param params      the method's parameters after checking, defaults filled in ({@link Method#args}); empty for dense
 * @param calibration the calibration set; null for runs that use none (dense, magnitude, plain low-rank)
 * @param evaluation  the evaluation sets, in order (the first is the headline one); may be empty
 * @param format      execution format of the block linears for evaluation ({@code dense}, {@code auto}, {@code csr},
 *                    {@code nm}); {@code dense} keeps them as they are
 * @param bench       how speed is measured, or null for no speed measurement (not part of the key)
 * @param seed        calibration sampling seed (0 when no calibration is used)
 * @param quantize    quantisation after pruning (or of the model as it is, for dense), or null for none; part of the
 *                    key only when present, so earlier runs keep their keys
 * @param tasks       zero-shot multiple-choice tasks scored after the perplexity sets, in order; may be empty (then not
 *                    part of the key, so earlier runs keep their keys)
 */
public record RunSpec(String model, String method, Map<String, Object> params, CalibrationSpec calibration,
                      List<EvalSpec> evaluation, String format, BenchSpec bench, long seed, QuantSpec quantize,
                      List<TaskSpec> tasks) {
    private static final ObjectMapper CANONICAL = new ObjectMapper()
            .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    public RunSpec {
        params = params == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(params));
        evaluation = List.copyOf(evaluation);
        tasks = tasks == null ? List.of() : List.copyOf(tasks);
        if (format == null) format = "dense";
    }

    /** A run without multiple-choice tasks. */
    public RunSpec(String model, String method, Map<String, Object> params, CalibrationSpec calibration,
                   List<EvalSpec> evaluation, String format, BenchSpec bench, long seed, QuantSpec quantize) {
        this(model, method, params, calibration, evaluation, format, bench, seed, quantize, List.of());
    }

    /** This run with {@code tasks} (replacing any it had). */
    public RunSpec withTasks(List<TaskSpec> tasks) {
        return new RunSpec(model, method, params, calibration, evaluation, format, bench, seed, quantize, tasks);
    }

    /** A run without quantisation. */
    public RunSpec(String model, String method, Map<String, Object> params, CalibrationSpec calibration,
                   List<EvalSpec> evaluation, String format, BenchSpec bench, long seed) {
        this(model, method, params, calibration, evaluation, format, bench, seed, null);
    }

    /** This run with {@code quant} added (null removes it); a GPTQ quantiser needs the calibration, kept or given. */
    public RunSpec withQuantize(QuantSpec quant, CalibrationSpec calibrationIfNeeded, long seedIfNeeded) {
        boolean needs = quant != null && quant.calibrated();
        CalibrationSpec c = calibration != null ? calibration : needs ? calibrationIfNeeded : null;
        long s = calibration != null ? seed : needs ? seedIfNeeded : 0;
        return new RunSpec(model, method, params, c, evaluation, format, bench, s, quant, tasks);
    }

    /**
     * A run of a registered method: {@code given} parameters are checked and completed with defaults.
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument for an unknown method or a bad parameter (named)
     */
    public static RunSpec pruning(String model, String method, Map<String, ?> given, CalibrationSpec calibration,
                                  List<EvalSpec> evaluation, String format, BenchSpec bench, long seed) {
        Method entry = Methods.byName(method);
        MethodArgs args = entry.args(given);
        boolean calibrated = entry.create(args).needsCalibration();
        Map<String, Object> values = new LinkedHashMap<>(args.values());
        if (entry.kind() == Method.Kind.UNSTRUCTURED && entry.hasParam("sparsity") && !values.containsKey("sparsity")) {
            values.put("sparsity", args.pattern().sparsity()); // the share an N:M pattern implies, recorded with the rest
        }
        return new RunSpec(model, method, values, calibrated ? calibration : null, evaluation, format, bench,
                calibrated ? seed : 0);
    }

    /** A run without pruning (evaluate or bench the model as it is). */
    public static RunSpec dense(String model, List<EvalSpec> evaluation, String format, BenchSpec bench) {
        return new RunSpec(model, Methods.DENSE, Map.of(), null, evaluation, format, bench, 0);
    }

    /** Whether this run prunes. */
    public boolean prunes() {
        return !method.equals(Methods.DENSE);
    }

    /** The registered method, or null for dense. */
    public Method methodEntry() {
        return prunes() ? Methods.byName(method) : null;
    }

    /** The checked parameters as the method's own type (null for dense). */
    public MethodArgs methodArgs() {
        return prunes() ? methodEntry().args(params) : null;
    }

    /**
     * The MLflow {@code pattern}: {@code dense} for no pruning, the mask methods' {@code unstructured} or N:M
     * ({@code 2:4}), {@code structured} for methods that remove units or factorise.
     */
    public String pattern() {
        if (!prunes()) return "dense";
        if (methodEntry().kind() != Method.Kind.UNSTRUCTURED) return "structured";
        return params.getOrDefault("pattern", "unstructured").toString();
    }

    /**
     * The requested sparsity as far as the spec says it: the {@code sparsity} parameter, the share an N:M pattern
     * implies, 0 for dense; NaN when the method was given an alternative (ShortGPT's {@code layers}, low-rank's
     * {@code rank_ratio}) whose share depends on the model ({@link RunResult#requestedSparsity()} has it then).
     */
    public double sparsity() {
        if (!prunes()) return 0;
        if (methodEntry().kind() == Method.Kind.UNSTRUCTURED) return methodArgs().pattern().sparsity();
        Object s = params.get("sparsity");
        return s instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** The spec as nested maps with MLflow names (sorted when serialised canonically). Bench settings are left out. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        m.put("method", method);
        if (prunes()) m.put("params", new TreeMap<>(params));
        m.put("pattern", pattern());
        if (calibration != null) {
            m.put("calibration", Map.of("calib_dataset", calibration.dataset(), "nsamples", calibration.nsamples(),
                    "seqlen", calibration.seqlen()));
        }
        m.put("evaluation", evaluation.stream().map(e -> {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("eval_dataset", e.dataset());
            x.put("eval_seqlen", e.seqlen());
            x.put("eval_windows", e.windows());
            if (e.whole()) x.put("eval_split", e.split());
            return x;
        }).toList());
        if (!format.equals("dense")) m.put("format", format);
        if (quantize != null) m.put("quantize", Map.of("type", quantize.type(), "quant_method", quantize.method()));
        if (!tasks.isEmpty()) {
            m.put("tasks", tasks.stream().map(t -> Map.<String, Object>of("task", t.task(), "task_items", t.items())).toList());
        }
        m.put("seed", seed);
        return m;
    }

    /** Compact JSON with keys sorted at every level: the text the run key hashes. */
    public String canonicalJson() {
        try {
            return CANONICAL.writeValueAsString(sorted(toMap()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings and numbers always serialises", e);
        }
    }

    /** SHA-256 of {@link #canonicalJson()} in lowercase hex: the same run always gets the same key. */
    public String key() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonicalJson().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The spec as YAML (logged as the run's {@code run_spec.yaml} artifact), bench settings included. */
    public String toYaml() {
        Map<String, Object> m = toMap();
        if (bench != null) {
            m.put("bench", Map.of("prompt_len", bench.promptLen(), "gen", bench.gen(), "repeat", bench.repeat(),
                    "warmup", bench.warmup(), "format", bench.format()));
        }
        try {
            return YAML.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings and numbers always serialises", e);
        }
    }

    /**
     * A short readable run name: {@code dense}, {@code wanda-unstructured-0.50}, {@code sparsegpt-2:4},
     * {@code wanda-unstructured-0.50-owl}, {@code shortgpt-layers8}, {@code lowrank-aw-structured-0.30}; a model
     * given as a path is prefixed with its folder or file name so CLI runs of different models tell apart.
     */
    public String name() {
        String base;
        if (!prunes()) {
            base = "dense";
        } else {
            List<String> v = variants();
            StringBuilder s = new StringBuilder(method);
            if (v.remove("aw")) s.append("-aw");
            double sp = sparsity();
            String p = pattern();
            if (p.contains(":")) s.append('-').append(p);
            else if (!Double.isNaN(sp)) s.append('-').append(p).append('-').append(String.format(Locale.ROOT, "%.2f", sp));
            else if (params.containsKey("layers")) s.append("-layers").append(params.get("layers"));
            else if (params.containsKey("rank_ratio")) s.append("-rank").append(String.format(Locale.ROOT, "%.2f", ((Number) params.get("rank_ratio")).doubleValue()));
            for (String x : v) s.append('-').append(x);
            if (seed != 0) s.append("-seed").append(seed);
            base = s.toString();
        }
        if (quantize != null) base = base + "+" + quantize.label();
        String shortModel = modelLabel();
        return shortModel == null ? base : shortModel + " " + base;
    }

    /**
     * The method and the parameters that make this run a variant of it, for tables and plot legends: {@code wanda},
     * {@code wanda owl}, {@code fasp norestore global}, {@code lowrank aw}; {@code dense} for no pruning. The amount
     * ({@code sparsity}, {@code pattern}, {@code layers}, {@code rank_ratio}) is left out: tables show it apart.
     */
    public String methodLabel() {
        String q = quantize == null ? "" : " + " + quantize.label();
        if (!prunes()) return "dense" + q;
        List<String> v = variants();
        return (v.isEmpty() ? method : method + " " + String.join(" ", v)) + q;
    }

    /** Parameters other than the amount whose value is not the method's default, as short words. */
    private List<String> variants() {
        List<String> out = new java.util.ArrayList<>();
        for (org.prunelab.prune.MethodParam p : methodEntry().params()) {
            String n = p.name();
            if (List.of("sparsity", "pattern", "layers", "rank_ratio").contains(n) || !params.containsKey(n)) continue;
            Object value = params.get(n);
            if (value.equals(p.defaultValue())) continue;
            if (value instanceof Boolean b) {
                String word = n.equals("activation_weighted") ? "aw" : n;
                out.add(b ? word : "no" + word);
            } else {
                out.add(String.valueOf(value));
            }
        }
        return out;
    }

    /** The model as a short label when it is a path (its file or folder name), null for a registered name. */
    private String modelLabel() {
        if (!model.contains("/") && !model.contains("\\") && !model.endsWith(".gguf")) return null;
        String m = model.replaceAll("[/\\\\]+$", "");
        int slash = Math.max(m.lastIndexOf('/'), m.lastIndexOf('\\'));
        return slash >= 0 ? m.substring(slash + 1) : m;
    }

    @SuppressWarnings("unchecked")
    private static Object sorted(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> t = new TreeMap<>();
            m.forEach((k, v) -> t.put((String) k, sorted(v)));
            return t;
        }
        if (o instanceof List<?> l) return l.stream().map(RunSpec::sorted).toList();
        return o;
    }
}
