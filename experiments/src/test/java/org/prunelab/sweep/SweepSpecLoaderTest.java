package org.prunelab.sweep;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.run.BenchSpec;
import org.prunelab.run.CalibrationSpec;
import org.prunelab.run.EvalSpec;
import org.prunelab.run.RunSpec;
import org.prunelab.track.MlflowTrackingIntegrationTest;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Loading, expanding and keying sweep specs, and the line-numbered errors for bad specs. */
class SweepSpecLoaderTest {

    private static final SweepSpecLoader.Checks KNOWN_DATASETS = new SweepSpecLoader.Checks() {
        @Override public void model(String name) {
            if (!name.equals("smollm2-135m") && !name.equals("gemma3-270m")) throw new PrunelabException.InvalidArgument("unknown model '" + name + "'");
        }
        @Override public void dataset(String name) {
            if (!name.equals("brown") && !name.startsWith("udhr:")) {
                throw new PrunelabException.Dataset("unknown dataset '" + name + "'; valid: brown, udhr:<code>");
            }
        }
    };

    private static final String BASE = """
            name: t
            model: smollm2-135m
            calibration: {dataset: brown, nsamples: 2, seqlen: 64}
            evaluation: {seqlen: 64, windows: 2, datasets: [brown]}
            grid:
            """;

    private static SweepSpec parse(String text) {
        return SweepSpecLoader.parse(text, "spec.yaml", null, KNOWN_DATASETS);
    }

    private static void assertError(String text, String... fragments) {
        assertThatThrownBy(() -> parse(text)).isInstanceOf(PrunelabException.InvalidArgument.class)
                .satisfies(e -> {
                    for (String f : fragments) assertThat(e.getMessage()).contains(f);
                });
    }

    @Test
    void reportAndSpeedNone() {
        SweepSpec languages = parse("report: languages\nspeed: none\n" + BASE + "  - method: dense\n");
        assertThat(languages.report()).isEqualTo(SweepSpec.LANGUAGES);
        assertThat(languages.speed()).isNull();
        assertThat(languages.points().getFirst().bench()).isNull();
        assertThat(parse(BASE + "  - method: dense\n").report()).isEqualTo(SweepSpec.TRADEOFF);
        assertError("report: table\n" + BASE + "  - method: dense\n", "line 1", "report must be tradeoff or languages, got 'table'");
    }

    @Test
    void theDefaultSpecsQuickProfileHasTheSeedGridAndTheStructuredMethods() {
        SweepSpec spec = SweepSpecLoader.load(MlflowTrackingIntegrationTest.projectRoot().resolve("experiments/sweeps/tradeoff.yaml"),
                "quick", KNOWN_DATASETS);
        // Quick: the whole grid on SmolLM2, its 50% / 2:4 / 20% points on Gemma 3.
        // + the hybrid rows on SmolLM2, + Wanda and SparseGPT 50% on SmolLM2 with calibration seeds 1 and 2
        assertThat(spec.points()).hasSize((1 + 3 * 4 + 3 + 4 * 3) + (1 + 3 + 3 + 4) + 6 + 2 * 2);
        assertThat(spec.points().stream().filter(p -> p.model().equals("smollm2-135m") && p.method().equals("sparsegpt")
                        && p.pattern().equals("unstructured") && p.sparsity() == 0.5)
                .map(RunSpec::seed)).containsExactly(0L, 1L, 2L);
        assertThat(spec.points().stream().map(RunSpec::name)).contains("dense+q8_0",
                "wanda-unstructured-0.50+q4_0", "sparsegpt-2:4+q8_0", "fasp-structured-0.25+q8_0");
        assertThat(spec.points().stream().map(RunSpec::model).distinct()).containsExactly("smollm2-135m", "gemma3-270m");
        assertThat(spec.points().stream().map(p -> SweepRunner.label(spec, p)))
                .as("MLflow run names tell the models apart").contains("smollm2-135m dense", "gemma3-270m dense")
                .doesNotHaveDuplicates();
        assertThat(spec.points().stream().filter(p -> p.model().equals("gemma3-270m")).map(RunSpec::name))
                .containsExactlyInAnyOrder("dense", "magnitude-unstructured-0.50", "wanda-unstructured-0.50",
                        "sparsegpt-unstructured-0.50", "magnitude-2:4", "wanda-2:4", "sparsegpt-2:4",
                        "fasp-structured-0.20", "flap-structured-0.20", "shortgpt-structured-0.20", "lowrank-aw-structured-0.20");
        assertThat(spec.points()).extracting(RunSpec::name).contains("dense", "magnitude-unstructured-0.70",
                "wanda-2:4", "sparsegpt-unstructured-0.30");
        assertThat(spec.points().stream().filter(p -> p.pattern().equals("structured")).map(RunSpec::method).distinct())
                .containsExactly("fasp", "flap", "shortgpt", "lowrank");
        RunSpec wanda = spec.points().stream().filter(p -> p.name().equals("wanda-unstructured-0.50")).findFirst().orElseThrow();
        assertThat(wanda.calibration()).isEqualTo(new CalibrationSpec("brown", 16, 256));
        assertThat(wanda.evaluation()).hasSize(7).first().isEqualTo(new EvalSpec("brown", 256, 4)); // 4 windows: an interval
        assertThat(wanda.evaluation()).extracting(EvalSpec::dataset).contains("udhr:hau_NG", "udhr:deu_1996");
        RunSpec magnitude = spec.points().stream().filter(p -> p.method().equals("magnitude")).findFirst().orElseThrow();
        assertThat(magnitude.calibration()).as("magnitude reads no calibration data").isNull();
        assertThat(spec.points().stream().filter(p -> p.pattern().equals("2:4")).map(RunSpec::sparsity)).containsOnly(0.5);
        assertThat(spec.speed()).isEqualTo(new BenchSpec(128, 16, 3, 1, "auto", null));
        assertThat(spec.points()).allMatch(p -> spec.speed().equals(p.bench()));
        RunSpec lowrank = spec.points().stream().filter(p -> p.method().equals("lowrank")).findFirst().orElseThrow();
        assertThat(lowrank.params()).containsEntry("activation_weighted", true);
        assertThat(lowrank.name()).isEqualTo("lowrank-aw-structured-0.20");

        SweepSpec full = SweepSpecLoader.load(MlflowTrackingIntegrationTest.projectRoot().resolve("experiments/sweeps/tradeoff.yaml"),
                "full", KNOWN_DATASETS);
        assertThat(full.points()).as("full: the whole grid on both models, the hybrid rows on SmolLM2")
                .hasSize(2 * (1 + 3 * 4 + 3 + 4 * 3) + 6);
        assertThat(full.points().stream().filter(p -> p.model().equals("gemma3-270m")).map(RunSpec::name).toList())
                .isEqualTo(full.points().stream().filter(p -> p.model().equals("smollm2-135m") && p.quantize() == null)
                        .map(RunSpec::name).toList());
        RunSpec fullWanda = full.points().stream().filter(p -> p.name().equals("wanda-unstructured-0.50")).findFirst().orElseThrow();
        assertThat(fullWanda.calibration()).isEqualTo(new CalibrationSpec("brown", 128, 512));
        assertThat(fullWanda.key()).isNotEqualTo(wanda.key());
    }

    @Test
    void keysAreStableHexDigestsOfSortedCanonicalJsonAndChangeWithAnyField() {
        EvalSpec e = new EvalSpec("brown", 64, 2);
        CalibrationSpec c = new CalibrationSpec("brown", 2, 64);
        RunSpec a = wanda("smollm2-135m", Map.of("sparsity", 0.5), c, List.of(e), 0);
        assertThat(a.key()).matches("[0-9a-f]{64}").isEqualTo(wanda("smollm2-135m", Map.of("sparsity", 0.5),
                new CalibrationSpec("brown", 2, 64), List.of(new EvalSpec("brown", 64, 2)), 0).key());
        String json = a.canonicalJson();
        assertThat(json).startsWith("{\"calibration\":{\"calib_dataset\":\"brown\",\"nsamples\":2,\"seqlen\":64},\"evaluation\":")
                .contains("\"method\":\"wanda\"").contains("\"params\":{\"owl\":false,\"pattern\":\"unstructured\",\"sparsity\":0.5}")
                .doesNotContain(" ").doesNotContain("\n");
        List<RunSpec> variants = List.of(a,
                wanda("other", Map.of("sparsity", 0.5), c, a.evaluation(), 0),
                RunSpec.pruning(a.model(), "sparsegpt", Map.of("sparsity", 0.5), c, a.evaluation(), "dense", null, 0),
                wanda(a.model(), Map.of("sparsity", 0.6), c, a.evaluation(), 0),
                wanda(a.model(), Map.of("pattern", "2:4"), c, a.evaluation(), 0),
                wanda(a.model(), Map.of("sparsity", 0.5, "owl", true), c, a.evaluation(), 0),
                wanda(a.model(), Map.of("sparsity", 0.5), new CalibrationSpec("brown", 4, 64), a.evaluation(), 0),
                wanda(a.model(), Map.of("sparsity", 0.5), c, List.of(new EvalSpec("brown", 64, 3)), 0),
                wanda(a.model(), Map.of("sparsity", 0.5), c, List.of(new EvalSpec("brown", 64, 2, true)), 0),
                wanda(a.model(), Map.of("sparsity", 0.5), c, a.evaluation(), 1));
        // Bench settings measure, they do not define the run: not part of the key.
        assertThat(RunSpec.pruning(a.model(), "wanda", Map.of("sparsity", 0.5), c, a.evaluation(), "dense",
                BenchSpec.SWEEP_DEFAULT, 0).key()).isEqualTo(a.key());
        Set<String> keys = new HashSet<>();
        variants.forEach(v -> keys.add(v.key()));
        assertThat(keys).hasSize(variants.size());
    }

    private static RunSpec wanda(String model, Map<String, ?> params, CalibrationSpec c, List<EvalSpec> e, long seed) {
        return RunSpec.pruning(model, "wanda", params, c, e, "dense", null, seed);
    }

    @Test
    void methodParametersAreAxesCheckedByTheRegistry() {
        SweepSpec spec = parse(BASE + """
                  - method: [wanda, sparsegpt]
                    sparsity: 0.5
                    owl: [false, true]
                  - method: fasp
                    pattern: structured
                    sparsity: 0.25
                    allocation: [uniform, global]
                    restore: false
                  - method: shortgpt
                    layers: 1
                  - method: lowrank
                    rank_ratio: 0.4
                """);
        assertThat(spec.points()).extracting(RunSpec::name).containsExactly("wanda-unstructured-0.50",
                "wanda-unstructured-0.50-owl", "sparsegpt-unstructured-0.50", "sparsegpt-unstructured-0.50-owl",
                "fasp-structured-0.25-norestore", "fasp-structured-0.25-global-norestore", "shortgpt-layers1", "lowrank-rank0.40");
        RunSpec lowrank = spec.points().getLast();
        assertThat(lowrank.calibration()).as("plain low-rank reads no calibration").isNull();
        assertThat(lowrank.params()).containsEntry("rank_ratio", 0.4).containsEntry("activation_weighted", false);
        assertError(BASE + "  - method: [magnitude, wanda]\n    sparsity: 0.5\n    owl: true\n", "line 8",
                "method magnitude has no parameter 'owl'");
        assertError(BASE + "  - method: fasp\n    sparsity: 0.3\n    allocation: random\n", "line 8", "allocation random must be one of uniform, global");
        assertError(BASE + "  - method: shortgpt\n    layers: 2\n    sparsity: 0.2\n", "line 6", "exactly one of layers");
        assertError(BASE + "  - method: wanda\n    pattern: \"2:4\"\n    owl: true\n", "line 8", "owl", "2:4");
    }

    @Test
    void gridEntriesExpandAsCartesianProductsAndDuplicatesAreKeptOnce() {
        SweepSpec spec = parse(BASE + """
                  - method: [wanda, sparsegpt]
                    sparsity: [0.3, 0.5]
                    seed: [0, 1]
                  - method: wanda
                    sparsity: 0.5
                  - method: [magnitude]
                    sparsity: [0.5]
                    seed: [0, 1]
                """);
        // 2 methods x 2 sparsities x 2 seeds; the second entry repeats one of them; magnitude ignores seeds.
        assertThat(spec.points()).hasSize(8 + 1);
        assertThat(spec.points().stream().map(RunSpec::key).distinct()).hasSize(9);
        assertThat(spec.datasetLines()).containsEntry("brown", 4);   // evaluation (line 4) is read before calibration
    }

    @Test
    void quantizeIsAnAxisAndGptqOnDenseTakesTheCalibration() {
        SweepSpec spec = parse(BASE + """
                  - method: dense
                    quantize: [none, q8_0, q4_0]
                  - method: wanda
                    sparsity: 0.5
                    quantize: q4_0
                    quant_method: [rtn, gptq]
                """);
        assertThat(spec.points()).extracting(RunSpec::name)
                .containsExactly("dense", "dense+q8_0", "dense+q4_0", "wanda-unstructured-0.50+q4_0", "wanda-unstructured-0.50+q4_0-gptq");
        RunSpec dense = spec.points().getFirst();
        assertThat(dense.quantize()).isNull();
        assertThat(dense.canonicalJson()).doesNotContain("quantize"); // keys of runs without quantisation are unchanged
        assertThat(spec.points().get(1).canonicalJson()).contains("\"quantize\":{\"quant_method\":\"rtn\",\"type\":\"q8_0\"}");
        assertThat(spec.points().stream().map(RunSpec::key).distinct()).hasSize(5);
        SweepSpec gptqDense = parse(BASE + "  - method: dense\n    quantize: q8_0\n    quant_method: gptq\n");
        assertThat(gptqDense.points().getFirst().calibration()).isEqualTo(new CalibrationSpec("brown", 2, 64));
        assertError(BASE + "  - method: dense\n    quantize: q5_k\n", "line 7", "unknown quantisation type 'q5_k'", "q8_0, q4_0");
        assertError(BASE + "  - method: dense\n    quantize: q8_0\n    quant_method: awq\n", "line 8", "'awq'", "rtn, gptq");
        // Empty axes would expand to no points at all (found by SweepSpecFuzzTest: crash-d0f758d8...).
        assertError(BASE + "  - method: dense\n    quantize: q4_0\n    quant_method: []\n", "line 8", "'quant_method' is an empty list");
        assertError(BASE + "  - method: dense\n    quantize: []\n", "line 7", "'quantize' is an empty list");
        assertError(BASE + "  - method: []\n", "line 6", "'method' is an empty list"); // was a NoSuchElementException later

    }

    @Test
    void malformedYamlNamesTheLine() {
        assertError(BASE + "  - method: [wanda\n    sparsity: 0.5\n", "spec.yaml is not valid YAML at line");
        assertError("name: t\n  bad: indentation\n", "line 2");
    }

    @Test
    void aSpecFileThatIsNotUtf8NamesTheLineAndByte(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = java.nio.file.Files.write(dir.resolve("latin1.yaml"),
                (BASE + "  - method: dense  # d\u00e9j\u00e0\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> SweepSpecLoader.load(file, null, KNOWN_DATASETS)).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("latin1.yaml is not UTF-8 text: line 6").hasMessageContaining("holds 0xE9")
                .hasMessageNotContaining("pass an existing YAML file");
    }

    @Test
    void unknownMethodNamesTheLineAndTheRegisteredMethods() {
        assertError(BASE + "  - method: [wanda, obs]\n    sparsity: 0.5\n", "spec.yaml line 6", "unknown method 'obs'",
                "dense, magnitude, wanda, sparsegpt");
    }

    @Test
    void unknownDatasetNamesTheLine() {
        assertError(BASE.replace("datasets: [brown]", "datasets: [brown, wikitext9]") + "  - method: dense\n",
                "spec.yaml line 4", "unknown dataset 'wikitext9'");
        assertError(BASE.replace("{dataset: brown, nsamples", "{dataset: nosuch, nsamples") + "  - method: wanda\n    sparsity: 0.5\n",
                "spec.yaml line 3", "unknown dataset 'nosuch'");
    }

    @Test
    void sparsityOutOfRangeAndContradictionsNameTheLine() {
        assertError(BASE + "  - method: wanda\n    sparsity: [0.5,\n      1.2]\n", "spec.yaml line 8", "sparsity 1.2 is outside [0, 1)");
        assertError(BASE + "  - method: wanda\n    sparsity: -0.1\n", "line 7", "outside [0, 1)");
        assertError(BASE + "  - method: wanda\n    sparsity: half\n", "line 7", "must be a number");
        assertError(BASE + "  - method: wanda\n    pattern: \"2:4\"\n    sparsity: 0.7\n", "line 8", "drop sparsity");
        assertError(BASE + "  - method: wanda\n    pattern: \"4:4\"\n", "line 7", "0 < N < M");
        assertError(BASE + "  - method: wanda\n    pattern: structured\n    sparsity: 0.3\n", "line 7", "structured");
        assertError(BASE + "  - method: dense\n    sparsity: 0.5\n", "line 7", "dense prunes nothing");
        assertError(BASE + "  - method: wanda\n", "line 6", "needs sparsity");
        assertError(BASE + "  - method: wanda\n    sparsty: 0.5\n", "line 7", "unknown key 'sparsty'");
        assertError(BASE.replace("nsamples: 2", "nsamples: 0") + "  - method: wanda\n    sparsity: 0.5\n", "line 3", "nsamples must be at least 1");
        assertError(BASE.replace("model: smollm2-135m", "model: llama-9000") + "  - method: dense\n", "line 2", "unknown model");
    }

    @Test
    void unknownProfileIsNamed() {
        assertThatThrownBy(() -> SweepSpecLoader.parse(BASE + "  - method: dense\n", "spec.yaml", "fast", KNOWN_DATASETS))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("no profile 'fast'");
    }
}
