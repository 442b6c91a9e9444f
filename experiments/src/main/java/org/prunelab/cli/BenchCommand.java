package org.prunelab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.bench.ForwardTiming;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.ModelLoader;
import org.prunelab.tensor.Gemm;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code prunelab bench}: speed measurements, reported next to a baseline measured in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Speed measurements.",
        subcommands = {BenchCommand.Forward.class})
final class BenchCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code prunelab bench forward}: prefill tokens/s and sgemm GFLOP/s, optionally beside transformers+torch. */
    @Command(name = "forward", mixinStandardHelpOptions = true,
            description = {"Prefill tokens/s and sgemm GFLOP/s, optionally beside transformers + torch.",
                    "Prefill: batch 1, all positions' logits, no cache, at --seqlen; sgemm GFLOP/s",
                    "on the model's own linear shapes. With --vs-torch, runs tools/reference/bench_prefill.py",
                    "(transformers + torch eager, fp32, same thread count) in the same run and reports the ratio."})
    static final class Forward implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin CommonOptions common;

        @Option(names = "--model", defaultValue = "smollm2-135m", description = "Model (default: ${DEFAULT-VALUE}).")
        String model;

        @Option(names = "--seqlen", defaultValue = "512", description = "Prompt tokens (default: ${DEFAULT-VALUE}).")
        int seqlen;

        @Option(names = "--repeat", defaultValue = "5", description = "Timed passes; the median is reported (default: ${DEFAULT-VALUE}).")
        int repeat;

        @Option(names = "--vs-torch", description = "Also measure transformers + torch (needs tools/reference/setup.sh).")
        boolean vsTorch;

        @Option(names = "--python", description = "Python of the reference venv (default: tools/reference/.venv/bin/python).")
        Path python;

        @Override
        public Integer call() throws Exception {
            common.apply();
            if (repeat < 1) throw new PrunelabException.InvalidArgument("--repeat must be at least 1, got " + repeat);
            PrunelabHome home = PrunelabHome.fromEnvironment();
            Path root = Path.of(System.getProperty("prunelab.root", "."));
            Path py = python != null ? python : root.resolve("tools/reference/.venv/bin/python");
            if (vsTorch && !Files.isExecutable(py)) {
                throw new PrunelabException.InvalidArgument("--vs-torch needs the reference venv at " + py
                        + "; create it with tools/reference/setup.sh (a multi-GB torch install) or pass --python");
            }
            var err = spec.commandLine().getErr();
            ForwardTiming.Result prefill;
            List<ForwardTiming.GemmResult> gemm;
            Path modelPath;
            try (LoadedModel loaded = ModelLoader.load(model, home)) {
                loaded.checkSeqlen(seqlen);
                modelPath = loaded.path();
                err.println("bench: prunelab prefill, " + seqlen + " tokens, " + repeat + " passes, gemm " + Gemm.active().backend());
                err.flush();
                prefill = ForwardTiming.prefill(loaded.model(), seqlen, repeat);
                gemm = ForwardTiming.sgemm(loaded.config(), 512, repeat);
            }
            JsonNode torchPrefill = null;
            List<JsonNode> torchGemm = new ArrayList<>();
            if (vsTorch) {
                err.println("bench: transformers + torch prefill (tools/reference/bench_prefill.py) ...");
                err.flush();
                String threads = String.valueOf(common.threads());
                torchPrefill = runPython(py, root, List.of("--model", modelPath.toString(), "--threads", threads,
                        "--seqlen", String.valueOf(seqlen), "--repeat", String.valueOf(repeat))).getFirst();
                torchGemm = runPython(py, root, List.of("--model", modelPath.toString(), "--threads", threads,
                        "--repeat", String.valueOf(repeat), "--sgemm"));
            }
            print(prefill, gemm, torchPrefill, torchGemm);
            return 0;
        }

        private void print(ForwardTiming.Result prefill, List<ForwardTiming.GemmResult> gemm, JsonNode torchPrefill,
                           List<JsonNode> torchGemm) {
            var out = spec.commandLine().getOut();
            if (common.json) {
                ObjectNode o = JsonOutput.object().put("model", model).put("seqlen", seqlen).put("threads", common.threads())
                        .put("gemm_backend", Gemm.active().backend().name().toLowerCase())
                        .put("prefill_tokens_per_s", prefill.tokensPerSecondMedian())
                        .put("prefill_tokens_per_s_best", prefill.tokensPerSecondBest());
                ArrayNode seconds = o.putArray("prefill_seconds");
                for (double s : prefill.seconds()) seconds.add(s);
                ArrayNode g = o.putArray("sgemm");
                for (int i = 0; i < gemm.size(); i++) {
                    ForwardTiming.GemmResult r = gemm.get(i);
                    ObjectNode e = g.addObject().put("m", r.m()).put("k", r.k()).put("n", r.n()).put("gflops", r.gflopsMedian());
                    if (i < torchGemm.size()) e.put("torch_gflops", torchGemm.get(i).get("gflops_median").asDouble());
                }
                if (torchPrefill != null) {
                    double t = torchPrefill.get("tokens_per_s_median").asDouble();
                    o.put("torch_prefill_tokens_per_s", t).put("torch_version", torchPrefill.get("torch").asText())
                            .put("ratio_vs_torch", prefill.tokensPerSecondMedian() / t);
                }
                JsonOutput.print(out, o);
                return;
            }
            out.printf("prefill (%d tokens, %d threads, gemm %s): %.1f tokens/s median, %.1f best%n", seqlen,
                    common.threads(), Gemm.active().backend(), prefill.tokensPerSecondMedian(), prefill.tokensPerSecondBest());
            if (torchPrefill != null) {
                double t = torchPrefill.get("tokens_per_s_median").asDouble();
                out.printf("torch %s eager prefill: %.1f tokens/s median; prunelab / torch = %.2fx%n",
                        torchPrefill.get("torch").asText(), t, prefill.tokensPerSecondMedian() / t);
            }
            out.println("sgemm, m = 512 rows (GFLOP/s, median):");
            for (int i = 0; i < gemm.size(); i++) {
                ForwardTiming.GemmResult r = gemm.get(i);
                String torch = i < torchGemm.size() ? String.format("   torch %.1f", torchGemm.get(i).get("gflops_median").asDouble()) : "";
                out.printf("  %5d -> %-6d prunelab %.1f%s%n", r.k(), r.n(), r.gflopsMedian(), torch);
            }
            out.flush();
        }

        private static List<JsonNode> runPython(Path py, Path root, List<String> args) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of(py.toString(), root.resolve("tools/reference/bench_prefill.py").toString()));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new PrunelabException("the torch reference benchmark failed (" + String.join(" ", cmd)
                        + "); run it by hand to see why");
            }
            List<JsonNode> lines = new ArrayList<>();
            for (String line : stdout.split("\n")) {
                if (line.startsWith("{")) lines.add(JsonOutput.MAPPER.readTree(line));
            }
            if (lines.isEmpty()) throw new PrunelabException("the torch reference benchmark printed no result");
            return lines;
        }
    }
}
