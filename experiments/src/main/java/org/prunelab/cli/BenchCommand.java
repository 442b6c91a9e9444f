package org.prunelab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.bench.ForwardTiming;
import org.prunelab.bench.ModelBench;
import org.prunelab.format.FormatConversion;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.model.LoadedModel;
import org.prunelab.arch.ModelLoader;
import org.prunelab.run.BenchSpec;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunSpec;
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
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * {@code prunelab bench}: generation speed of a model in a chosen weight format (prefill and decode tokens/s,
 * per-token decode latency, memory), optionally against its dense counterpart in the same process
 * ({@link ModelBench}); {@code bench forward} measures dense prefill and sgemm beside transformers + torch.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Generation speed: prefill and decode tokens/s, decode latency p50/p95, memory.",
                "Prefills --prompt-len seeded tokens into a KV cache, then decodes --gen tokens greedily (batch 1),",
                "--repeat times after --warmup untimed runs. With --vs dense, the dense model the pruned one came",
                "from (prune_report.json in DIR, or --vs-model) runs in the same process, alternating, and the",
                "speedup ratios (dense time / this time) are reported as min / median / max over the pairs."},
        subcommands = {BenchCommand.Forward.class})
final class BenchCommand implements Callable<Integer>, Spelling.Spelled {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;
    @Mixin TrackingOptions tracking;

    @Option(names = "--model", defaultValue = "smollm2-135m",
            description = "Registered name, .gguf file, or checkpoint directory, e.g. one prune --out wrote (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--format", defaultValue = "auto",
            description = "Execution format of the weights: auto (per layer and phase) or a registered format (dense, csr, nm, q8_0, q4_0, nm-q8, ...; `prunelab formats` lists them) (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--prompt-len", defaultValue = "512", description = "Prompt tokens per run (default: ${DEFAULT-VALUE}).")
    int promptLen;

    @Option(names = "--gen", defaultValue = "64", description = "Tokens decoded per run (default: ${DEFAULT-VALUE}).")
    int gen;

    @Option(names = "--repeat", defaultValue = "5", description = "Timed runs (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed runs first, per model (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--vs", description = "Baseline to compare with in the same process; only 'dense' (the dense counterpart).")
    String vs;

    @Option(names = "--vs-format", defaultValue = "dense",
            description = "Execution format of the --vs baseline (default: ${DEFAULT-VALUE}); e.g. q8_0 to time --format nm-q8"
                    + " against dense Q8_0 of the same model.")
    String vsFormat;

    @Option(names = "--vs-model", description = "The dense counterpart for --vs dense (default: the 'model' of DIR/prune_report.json).")
    String vsModel;

    @Override
    public UnaryOperator<String> spelling() {
        return Spelling.BENCH;
    }

    @Override
    public Integer call() {
        common.apply();
        if (vs != null && !vs.strip().equalsIgnoreCase("dense")) {
            throw new PrunelabException.InvalidArgument("--vs " + vs + " is not supported: use --vs dense (the dense model "
                    + "this one was pruned from, found through prune_report.json or named with --vs-model)");
        }
        if (vsModel != null && vs == null) vs = "dense";
        PrunelabHome home = PrunelabHome.fromEnvironment();
        var err = spec.commandLine().getErr();
        String baselineSpec = vs == null ? null : vsModel != null ? vsModel : denseCounterpart(ModelLoader.resolve(model, home));
        RunSpec run = RunSpec.dense(Pipeline.modelArgument(model), List.of(), "dense",
                new BenchSpec(promptLen, gen, repeat, warmup, format, baselineSpec, vsFormat));
        new Pipeline(home).plan(run); // counts, formats and context checked before anything is printed or loaded
        warnIfBusy(err);
        err.println("bench: " + warmup + " warm-up + " + repeat + (baselineSpec == null ? (repeat == 1 ? " timed run of " : " timed runs of ")
                : " alternating pairs of runs vs dense " + baselineSpec + ", ") + promptLen + " prompt + " + gen + " generated tokens ...");
        err.flush();
        CliRun.Result r = CliRun.run("bench", run, tracking, false, err,
                o -> err.println("bench: " + model + ": " + o.bench().conversion().summary()));
        Pipeline.BenchDetail d = r.outcome().bench();
        ObjectNode o = JsonOutput.object();
        describe(o, r.outcome().model().name(), r.outcome().model().fileBytes(), d.conversion(), d.result());
        o.put("load_average_before", loadBefore).put("tracking", r.tracking());
        if (d.comparison() == null) {
            print(o, d.result(), null, null);
            return 0;
        }
        ObjectNode b = o.putObject("vs");
        describe(b, d.baseline(), d.baselineFileBytes(), d.baselineConversion(), d.comparison().baseline());
        putRatio(o, "speedup_prefill", d.comparison().prefillSpeedup());
        putRatio(o, "speedup_decode", d.comparison().decodeSpeedup());
        print(o, d.result(), d.comparison().baseline(), d.comparison());
        return 0;
    }

    private double loadBefore;

    /** Speed on a busy machine measures the contention: warn, as bench forward --vs-torch does. */
    private void warnIfBusy(java.io.PrintWriter err) {
        loadBefore = Forward.loadAverage();
        if (loadBefore > 0.5) {
            err.printf(Locale.ROOT, "bench: warning: load average %.1f before starting (%d cores): other work is running, so the"
                    + " timings (and any speedup) carry its noise; rerun on an idle machine.%n", loadBefore,
                    Runtime.getRuntime().availableProcessors());
            err.flush();
        }
    }

    /**
     * The dense model a pruned checkpoint directory came from: the {@code model} field of its
     * {@code prune_report.json}.
     *
     * @throws PrunelabException.InvalidArgument if {@code path} has no readable prune report
     */
    static String denseCounterpart(Path path) {
        Path report = path.resolve("prune_report.json");
        if (!Files.isDirectory(path)) {
            throw new PrunelabException.InvalidArgument("--vs dense compares a pruned checkpoint (a folder prune --out wrote, with its prune_report.json)"
                    + " with the dense model it came from, but " + path + " is a model file, not such a folder; give the"
                    + " checkpoint folder as --model, or name the baseline with --vs-model");
        }
        if (!Files.isRegularFile(report)) {
            throw new PrunelabException.InvalidArgument("--vs dense needs to know the dense model, but " + path
                    + " has no prune_report.json; name it with --vs-model (e.g. --vs-model smollm2-135m)");
        }
        try {
            JsonNode model = JsonOutput.MAPPER.readTree(report.toFile()).get("model");
            if (model == null || !model.isTextual()) {
                throw new PrunelabException.InvalidArgument(report + " names no 'model'; pass --vs-model");
            }
            return model.asText();
        } catch (IOException e) {
            throw new PrunelabException.InvalidArgument("cannot read " + report + " (" + e.getMessage() + "); pass --vs-model");
        }
    }

    private void describe(ObjectNode o, String name, long fileBytes, FormatConversion conversion, ModelBench.BenchResult r) {
        o.put("model", name).put("format", conversion.requested());
        ObjectNode counts = o.putObject("format_counts");
        conversion.counts().forEach(counts::put);
        o.put("prompt_len", promptLen).put("gen", gen).put("repeat", repeat).put("warmup", warmup)
                .put("threads", common.threads()).put("gemm_backend", Gemm.active().backend().name().toLowerCase(Locale.ROOT))
                .put("prefill_tokens_per_s", r.prefillTokensPerSecond())
                .put("decode_tokens_per_s", r.decodeTokensPerSecond())
                .put("decode_latency_p50_s", r.decodeLatency(0.50))
                .put("decode_latency_p95_s", r.decodeLatency(0.95))
                .put("peak_rss_bytes", r.peakRssBytes())
                .put("model_bytes", r.modelBytes())
                .put("model_file_bytes", fileBytes)
                .put("linear_bytes", conversion.bytesAfter());
        ArrayNode runs = o.putArray("runs");
        for (ModelBench.Run run : r.runs()) {
            runs.addObject().put("prefill_seconds", run.prefillSeconds())
                    .put("decode_seconds", java.util.Arrays.stream(run.decodeSeconds()).sum());
        }
    }

    private static void putRatio(ObjectNode o, String key, ModelBench.Ratio r) {
        o.put(key, r.median()).put(key + "_min", r.min()).put(key + "_max", r.max());
    }

    private void print(ObjectNode json, ModelBench.BenchResult r, ModelBench.BenchResult dense, ModelBench.Comparison c) {
        var out = spec.commandLine().getOut();
        if (common.json) {
            JsonOutput.print(out, json);
            return;
        }
        out.printf(Locale.ROOT, "%-26s %14s%s%n", "", model + " (" + json.get("format").asText() + ")",
                dense == null ? "" : String.format(Locale.ROOT, " %14s", "dense"));
        row(out, "prefill tokens/s (median)", r.prefillTokensPerSecond(), dense == null ? null : dense.prefillTokensPerSecond(), "%14.1f");
        row(out, "decode tokens/s (median)", r.decodeTokensPerSecond(), dense == null ? null : dense.decodeTokensPerSecond(), "%14.2f");
        row(out, "decode latency p50 (ms)", 1e3 * r.decodeLatency(0.5), dense == null ? null : 1e3 * dense.decodeLatency(0.5), "%14.2f");
        row(out, "decode latency p95 (ms)", 1e3 * r.decodeLatency(0.95), dense == null ? null : 1e3 * dense.decodeLatency(0.95), "%14.2f");
        row(out, "model bytes in memory (MB)", r.modelBytes() / 1e6, dense == null ? null : dense.modelBytes() / 1e6, "%14.1f");
        row(out, "model on disk (MB)", json.get("model_file_bytes").asLong() / 1e6,
                dense == null ? null : json.get("vs").get("model_file_bytes").asLong() / 1e6, "%14.1f");
        out.printf(Locale.ROOT, "%-26s %14.1f%s%n", "peak RSS (MB)", r.peakRssBytes() / 1e6, dense == null ? "" : "  (both models resident)");
        out.println("format: " + json.get("format_counts"));
        if (c != null) {
            out.printf(Locale.ROOT, "speedup over dense (dense time / this time, %d alternating pairs):%n", repeat);
            out.printf(Locale.ROOT, "  prefill  median %.2fx  (min %.2f, max %.2f)%n", c.prefillSpeedup().median(),
                    c.prefillSpeedup().min(), c.prefillSpeedup().max());
            out.printf(Locale.ROOT, "  decode   median %.2fx  (min %.2f, max %.2f)%n", c.decodeSpeedup().median(),
                    c.decodeSpeedup().min(), c.decodeSpeedup().max());
        }
        out.flush();
    }

    private static void row(java.io.PrintWriter out, String label, double value, Double dense, String fmt) {
        out.printf(Locale.ROOT, "%-26s " + fmt + "%s%n", label, value, dense == null ? "" : String.format(Locale.ROOT, " " + fmt, dense));
    }

    /** {@code prunelab bench forward}: prefill tokens/s and sgemm GFLOP/s, optionally beside transformers+torch. */
    @Command(name = "forward", mixinStandardHelpOptions = true,
            description = {"Prefill tokens/s and sgemm GFLOP/s, optionally beside transformers + torch.",
                    "Prefill: batch 1, all positions' logits, no cache, at --seqlen; sgemm GFLOP/s",
                    "on the model's own linear shapes with --seqlen rows. With --vs-torch, keeps transformers + torch (eager mode, its",
                    "default SDPA attention, fp32, same thread count) loaded in tools/reference/bench_prefill.py",
                    "--serve and alternates its passes with prunelab's (A B, B A, ...): the ratio is the median",
                    "over --repeat pairs. Run it on an idle machine: torch slows down far more than prunelab next to other jobs."})
    static final class Forward implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin CommonOptions common;

        @Option(names = "--model", defaultValue = "smollm2-135m", description = "Model (default: ${DEFAULT-VALUE}).")
        String model;

        @Option(names = "--seqlen", defaultValue = "512", description = "Prompt tokens (default: ${DEFAULT-VALUE}).")
        int seqlen;

        @Option(names = "--repeat", defaultValue = "5", description = "Timed passes (pairs with --vs-torch); medians are reported (default: ${DEFAULT-VALUE}).")
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
            var err = spec.commandLine().getErr();
            Path root = Path.of(System.getProperty("prunelab.root", "."));
            Path py = python != null ? python : root.resolve("tools/reference/.venv/bin/python");
            if (vsTorch && !Files.isExecutable(py)) {
                throw new PrunelabException.InvalidArgument(python != null
                        ? "--python " + py + " is not an executable file; pass the python of a venv with torch and transformers"
                        : "--vs-torch needs the reference venv at " + py
                        + "; create it with tools/reference/setup.sh (a multi-GB torch install) or pass --python");
            }
            double load = loadAverage();
            if (vsTorch && load > 0.5) {
                err.printf(Locale.ROOT, "bench: warning: load average %.1f before starting (%d cores): other work is running. "
                        + "torch's OpenMP threads slow down far more than prunelab's on a busy machine, so the ratio "
                        + "measures the contention as much as the engines; rerun on an idle machine.%n", load,
                        Runtime.getRuntime().availableProcessors());
                err.flush();
            }
            ForwardTiming.Result prefill = null;
            ForwardTiming.Alternating paired = null;
            JsonNode torchInfo = null;
            List<ForwardTiming.GemmResult> gemm;
            Path modelPath;
            try (LoadedModel loaded = ModelLoader.load(model, home)) {
                loaded.checkSeqlen(seqlen, "eval.seqlen");
                modelPath = loaded.path();
                if (vsTorch) {
                    err.println("bench: starting transformers + torch (tools/reference/bench_prefill.py --serve) ...");
                    err.flush();
                    try (var torch = new TorchPrefillServer(py, root, modelPath, common.threads(), seqlen)) {
                        torchInfo = torch.info();
                        err.println("bench: " + repeat + " pairs of prefill passes, " + seqlen + " tokens, prunelab and torch alternating, gemm "
                                + Gemm.active().backend());
                        err.flush();
                        paired = ForwardTiming.prefillAlternating(loaded.model(), seqlen, repeat, torch::pass);
                    }
                } else {
                    err.println("bench: prunelab prefill, " + seqlen + " tokens, " + repeat + " passes, gemm " + Gemm.active().backend());
                    err.flush();
                    prefill = ForwardTiming.prefill(loaded.model(), seqlen, repeat);
                }
                gemm = ForwardTiming.sgemm(loaded.config(), seqlen, repeat);
            }
            List<JsonNode> torchGemm = new ArrayList<>();
            if (vsTorch) {
                err.println("bench: torch sgemm on the same shapes ...");
                err.flush();
                torchGemm = runPython(py, root, List.of("--model", modelPath.toString(), "--threads", String.valueOf(common.threads()),
                        "--repeat", String.valueOf(repeat), "--sgemm", "--seqlen", String.valueOf(seqlen)));
            }
            if (paired != null) printPaired(paired, torchInfo, gemm, torchGemm, load);
            else print(prefill, gemm, torchGemm);
            return 0;
        }

        private void printPaired(ForwardTiming.Alternating paired, JsonNode torchInfo, List<ForwardTiming.GemmResult> gemm,
                                 List<JsonNode> torchGemm, double loadBefore) {
            var out = spec.commandLine().getOut();
            double[] ratios = paired.ratios();
            double[] sorted = ratios.clone();
            java.util.Arrays.sort(sorted);
            if (common.json) {
                ObjectNode o = header().put("prefill_tokens_per_s", paired.ownTokensPerSecondMedian())
                        .put("torch_prefill_tokens_per_s", paired.otherTokensPerSecondMedian())
                        .put("torch_version", torchInfo.path("torch").asText())
                        .put("torch_attn_implementation", torchInfo.path("attn_implementation").asText())
                        .put("ratio_vs_torch", paired.ratioMedian())
                        .put("ratio_vs_torch_min", sorted[0]).put("ratio_vs_torch_max", sorted[sorted.length - 1])
                        .put("load_average_before", loadBefore);
                ArrayNode own = o.putArray("prefill_seconds");
                for (double s : paired.own()) own.add(s);
                ArrayNode other = o.putArray("torch_prefill_seconds");
                for (double s : paired.other()) other.add(s);
                putGemm(o, gemm, torchGemm);
                JsonOutput.print(out, o);
                return;
            }
            out.printf("prefill (%d tokens, %d thread%s, gemm %s), %d alternating pairs:%n", seqlen, common.threads(),
                    common.threads() == 1 ? "" : "s",
                    Gemm.active().backend(), ratios.length);
            out.printf("  prunelab %.1f tokens/s median; torch %s (%s attention) %.1f tokens/s median%n",
                    paired.ownTokensPerSecondMedian(), torchInfo.path("torch").asText(),
                    torchInfo.path("attn_implementation").asText(), paired.otherTokensPerSecondMedian());
            out.printf("  prunelab / torch per pair: %.2fx median (min %.2fx, max %.2fx)%n", paired.ratioMedian(),
                    sorted[0], sorted[sorted.length - 1]);
            printGemm(out, gemm, torchGemm);
        }

        /** The 1-minute load average of this machine, or 0 where /proc/loadavg cannot be read. */
        static double loadAverage() {
            try {
                return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
            } catch (IOException | RuntimeException e) {
                return 0;
            }
        }

        private ObjectNode header() {
            return JsonOutput.object().put("model", model).put("seqlen", seqlen).put("threads", common.threads())
                    .put("gemm_backend", Gemm.active().backend().name().toLowerCase())
                    .put("blas_threading", Gemm.blasThreading().name().toLowerCase());
        }

        private static void putGemm(ObjectNode o, List<ForwardTiming.GemmResult> gemm, List<JsonNode> torchGemm) {
            ArrayNode g = o.putArray("sgemm");
            for (int i = 0; i < gemm.size(); i++) {
                ForwardTiming.GemmResult r = gemm.get(i);
                ObjectNode e = g.addObject().put("m", r.m()).put("k", r.k()).put("n", r.n()).put("gflops", r.gflopsMedian());
                if (i < torchGemm.size()) e.put("torch_gflops", torchGemm.get(i).get("gflops_median").asDouble());
            }
        }

        private static void printGemm(java.io.PrintWriter out, List<ForwardTiming.GemmResult> gemm, List<JsonNode> torchGemm) {
            out.println("sgemm, m = " + (gemm.isEmpty() ? 0 : gemm.getFirst().m()) + " rows (GFLOP/s, median):");
            for (int i = 0; i < gemm.size(); i++) {
                ForwardTiming.GemmResult r = gemm.get(i);
                String torch = i < torchGemm.size() ? String.format("   torch %.1f", torchGemm.get(i).get("gflops_median").asDouble()) : "";
                out.printf("  %5d -> %-6d prunelab %.1f%s%n", r.k(), r.n(), r.gflopsMedian(), torch);
            }
            out.flush();
        }

        private void print(ForwardTiming.Result prefill, List<ForwardTiming.GemmResult> gemm, List<JsonNode> torchGemm) {
            var out = spec.commandLine().getOut();
            if (common.json) {
                ObjectNode o = header().put("prefill_tokens_per_s", prefill.tokensPerSecondMedian())
                        .put("prefill_tokens_per_s_best", prefill.tokensPerSecondBest());
                ArrayNode seconds = o.putArray("prefill_seconds");
                for (double s : prefill.seconds()) seconds.add(s);
                putGemm(o, gemm, torchGemm);
                JsonOutput.print(out, o);
                return;
            }
            out.printf("prefill (%d tokens, %d thread%s, gemm %s): %.1f tokens/s median, %.1f best%n", seqlen,
                    common.threads(), common.threads() == 1 ? "" : "s", Gemm.active().backend(), prefill.tokensPerSecondMedian(), prefill.tokensPerSecondBest());
            printGemm(out, gemm, torchGemm);
        }

        private static List<JsonNode> runPython(Path py, Path root, List<String> args) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of(py.toString(), root.resolve("tools/reference/bench_prefill.py").toString()));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            // Read stdout beside the wait, so a child that hangs is stopped after the timeout instead of blocking here.
            var stdoutFuture = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return "";
                }
            });
            if (!p.waitFor(TorchPrefillServer.PASS_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new PrunelabException("the torch reference benchmark gave no result within "
                        + TorchPrefillServer.PASS_TIMEOUT_SECONDS + " s (" + String.join(" ", cmd) + "); stopped it");
            }
            if (p.exitValue() != 0) {
                throw new PrunelabException("the torch reference benchmark failed (" + String.join(" ", cmd)
                        + "); run it by hand to see why");
            }
            String stdout = stdoutFuture.join();
            List<JsonNode> lines = new ArrayList<>();
            for (String line : stdout.split("\n")) {
                if (line.startsWith("{")) lines.add(JsonOutput.MAPPER.readTree(line));
            }
            if (lines.isEmpty()) throw new PrunelabException("the torch reference benchmark printed no result");
            return lines;
        }
    }
}
