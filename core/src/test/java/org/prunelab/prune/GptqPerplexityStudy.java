package org.prunelab.prune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.prunelab.Progress;
import org.prunelab.TestModels;
import org.prunelab.arch.ModelLoader;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Window;
import org.prunelab.eval.Evaluation;
import org.prunelab.eval.Perplexity;
import org.prunelab.eval.PerplexityResult;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.LoadedModel;

/**
 * Not a test (surefire's default includes skip the name): the perplexity study of GPTQ against RTN on the real
 * SmolLM2-135M, run on demand. Calibration on Brown's calibration split, perplexity on Brown's evaluation split with the
 * quantised weights held as their exact grid values in fp32 ({@link PruneOutcome#model()}), so no quantised kernel is
 * involved. Prints a Markdown table.
 *
 * <pre>
 * mvn -B -ntp -o -q -pl core test -Dtest=GptqPerplexityStudy -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dstudy.nsamples=32 -Dstudy.seqlen=512 -Dstudy.windows=40 [-Dstudy.only=fp32,gptq-q4_0,...]
 * </pre>
 */
class GptqPerplexityStudy {

    @Test
    void perplexities() {
        int nsamples = Integer.getInteger("study.nsamples", 32);
        int seqlen = Integer.getInteger("study.seqlen", 512);
        int windows = Integer.getInteger("study.windows", 40);
        List<String> only = System.getProperty("study.only") == null ? null : List.of(System.getProperty("study.only").split(","));
        PrunelabHome home = new PrunelabHome(TestModels.home());
        try (LoadedModel loaded = ModelLoader.load(TestModels.smollm2Gguf().toString(), home)) {
            Corpus brown = Datasets.resolve("brown", home);
            List<int[]> calib = CalibrationData.sample(brown, loaded.tokenizer()::encodeWithDefaults, nsamples, seqlen, 0)
                    .stream().map(Window::tokens).toList();
            List<Window> all = Evaluation.windows(loaded, brown, seqlen, 0);
            List<int[]> eval = all.subList(0, Math.min(windows, all.size())).stream().map(Window::tokens).toList();
            System.out.printf("calibration: Brown calibration split, %d x %d tokens, seed 0; evaluation: Brown evaluation split,"
                    + " first %d of %d windows of %d tokens%n", nsamples, seqlen, eval.size(), all.size(), seqlen);

            Map<String, Supplier<Pruner>> runs = new LinkedHashMap<>();
            runs.put("fp32", () -> null);
            runs.put("rtn-q8_0", () -> LayerwisePruner.quantizeOnly(QuantSpec.of("q8_0", "rtn")));
            runs.put("gptq-q8_0", () -> LayerwisePruner.quantizeOnly(QuantSpec.of("q8_0", "gptq")));
            runs.put("rtn-q4_0", () -> LayerwisePruner.quantizeOnly(QuantSpec.of("q4_0", "rtn")));
            runs.put("gptq-q4_0", () -> LayerwisePruner.quantizeOnly(QuantSpec.of("q4_0", "gptq")));
            runs.put("sparsegpt-0.5", () -> new LayerwisePruner(new SparseGptPruner(), SparsityPattern.unstructured(0.5)));
            runs.put("sparsegpt-0.5+rtn-q4_0", () -> new LayerwisePruner(new SparseGptPruner(), SparsityPattern.unstructured(0.5),
                    null, QuantSpec.of("q4_0", "rtn")));
            runs.put("sparsegpt-0.5+gptq-q4_0 (joint)", () -> new LayerwisePruner(new SparseGptPruner(), SparsityPattern.unstructured(0.5),
                    null, QuantSpec.of("q4_0", "gptq")));

            List<String> rows = new ArrayList<>();
            for (Map.Entry<String, Supplier<Pruner>> run : runs.entrySet()) {
                if (only != null && only.stream().noneMatch(o -> run.getKey().startsWith(o))) continue;
                Pruner pruner = run.getValue().get();
                long t0 = System.nanoTime();
                DecoderModel model = loaded.model();
                double sparsity = 0;
                if (pruner != null) {
                    PruneOutcome out = pruner.prune(loaded.model(), pruner.needsCalibration() ? calib : List.of(),
                            PruneOptions.keepInput(Progress.NONE));
                    model = out.model();
                    sparsity = out.actualSparsity();
                }
                double pruneSeconds = (System.nanoTime() - t0) / 1e9;
                PerplexityResult ppl = Perplexity.evaluate(model::tokenNll, eval, Progress.NONE);
                String row = String.format("| %s | %.4f | %.4f | %.0f | %.0f |", run.getKey(), ppl.perplexity(), sparsity,
                        pruneSeconds, ppl.seconds());
                System.out.println(row);
                rows.add(row);
            }
            System.out.println("| run | perplexity | actual_sparsity (zeros incl. rounded to 0) | prune+quantise s | eval s |");
            System.out.println("|---|---|---|---|---|");
            rows.forEach(System.out::println);
        }
    }
}
