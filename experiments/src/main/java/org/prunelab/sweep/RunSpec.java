package org.prunelab.sweep;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

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
 * One point of a sweep, fully specified: one immutable spec object whose canonical JSON form hashes to a
 * stable run key. Field names are the MLflow param names.
 *
 * @param model       registered model name or path
 * @param method      {@code dense} (no pruning) or a pruning method name ({@link SweepMethods})
 * @param sparsity    fraction of weights removed, in [0, 1); for N:M the implied 1 - N/M; 0 for dense
 * @param pattern     {@code unstructured}, {@code n:m} (e.g. {@code 2:4}), {@code structured} or {@code dense}
 * @param calibration null for methods that use no calibration data (dense, magnitude)
 * @param evaluation  the evaluation sets, in order (the first is the headline one)
 * @param seed        calibration sampling seed (0 when no calibration is used)
 */
public record RunSpec(String model, String method, double sparsity, String pattern, CalibrationSpec calibration,
                      List<EvalSpec> evaluation, long seed) {
    private static final ObjectMapper CANONICAL = new ObjectMapper()
            .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    public RunSpec {
        evaluation = List.copyOf(evaluation);
    }

    /** The spec as nested maps with MLflow names (sorted when serialised canonically). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        m.put("method", method);
        m.put("sparsity", sparsity);
        m.put("pattern", pattern);
        if (calibration != null) {
            m.put("calibration", Map.of("calib_dataset", calibration.dataset(), "nsamples", calibration.nsamples(),
                    "seqlen", calibration.seqlen()));
        }
        m.put("evaluation", evaluation.stream().map(e -> Map.of("eval_dataset", e.dataset(), "seqlen", e.seqlen(),
                "windows", e.windows())).toList());
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

    /** SHA-256 of {@link #canonicalJson()} in lowercase hex: the same point always gets the same key. */
    public String key() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonicalJson().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The spec as YAML (logged as the run's {@code run_spec.yaml} artifact). */
    public String toYaml() {
        try {
            return YAML.writeValueAsString(toMap());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings and numbers always serialises", e);
        }
    }

    /** A short readable run name, e.g. {@code wanda-unstructured-0.50} or {@code sparsegpt-2:4}. */
    public String name() {
        if (method.equals(SweepMethods.DENSE)) return "dense";
        String s = pattern.equals("unstructured") || pattern.equals("structured")
                ? pattern + "-" + String.format(Locale.ROOT, "%.2f", sparsity) : pattern;
        return method + "-" + s + (seed != 0 ? "-seed" + seed : "");
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
