package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.cache.Setup;
import org.prunelab.data.Datasets;
import org.prunelab.arch.ModelLoader;
import org.prunelab.report.LanguageReport;
import org.prunelab.report.TradeoffPlots;
import org.prunelab.report.TradeoffReport;
import org.prunelab.run.EvalResult;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunResult;
import org.prunelab.run.RunSpec;
import org.prunelab.sweep.SweepEngine;
import org.prunelab.sweep.SweepOutcome;
import org.prunelab.sweep.SweepRunner;
import org.prunelab.sweep.SweepSpec;
import org.prunelab.sweep.SweepSpecLoader;
import org.prunelab.track.RunContext;
import org.prunelab.track.Tracker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code prunelab tradeoff}: the main job. Loads a sweep spec (default {@code experiments/sweeps/tradeoff.yaml}),
 * runs every point not finished yet with {@link SweepRunner} while logging to MLflow (the project's local
 * server unless {@code MLFLOW_TRACKING_URI} is set), and writes {@code results/tradeoff.md} with two PNG plots.
 */
@Command(name = "tradeoff", mixinStandardHelpOptions = true,
        description = {"Run the structured-vs-unstructured trade-off sweep, log it to MLflow and write results/tradeoff.md.",
                "Resumes: points already finished (in MLflow or the outbox) are skipped."})
final class TradeoffCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--spec", description = "Sweep spec (YAML) (default: experiments/sweeps/tradeoff.yaml in the prunelab folder).")
    Path specFile;

    @Option(names = "--profile", defaultValue = "quick",
            description = "Profile of the spec: quick (small calibration, 4 windows per set; roughly 1.5 h on 2 cores) or full"
                    + " (paper-grade) (default: ${DEFAULT-VALUE}); 'none' for the spec as written.")
    String profile;

    @Option(names = "--out", description = "Table to write; plots go beside it (default: results/<report>.md in the prunelab folder:"
            + " results/tradeoff.md, or results/languages.md for a spec with report: languages).")
    Path out;

    @Option(names = "--engine", defaultValue = "in-process",
            description = "Where points run: in-process (default: one after another in this JVM) or spark (each point a"
                    + " Spark task; see --master). Same spec, same run keys, same MLflow runs.")
    String engine;

    @Option(names = "--master", description = "With --engine spark: the Spark master (local[2], spark://host:7077, yarn,"
            + " k8s://...; default: spark.master as spark-submit set it, else local[*]).")
    String master;

    @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "With --engine spark: a Spark setting"
            + " (spark.executor.memory=6g) or one of the engine's (prunelab.executor.setup=true: each executor fetches the"
            + " models and corpora itself; prunelab.outbox=DIR: executors' outbox when MLflow is unreachable). Repeatable.")
    Map<String, String> conf = new java.util.LinkedHashMap<>();

    @Override
    public Integer call() {
        // The checkout's state when the sweep starts (the report itself rewrites tracked files under results/).
        startContext = RunContext.tags(Path.of(System.getProperty("prunelab.root", ".")).toAbsolutePath());
        common.apply();
        Path root = Path.of(System.getProperty("prunelab.root", ".")).toAbsolutePath();
        if (specFile == null) specFile = root.resolve("experiments/sweeps/tradeoff.yaml");
        SweepEngine sweepEngine = engine();
        PrintWriter err = spec.commandLine().getErr();
        // Syntax first (milliseconds), then setup, then names against the cache.
        String profileName = profile.equals("none") ? null : profile;
        SweepSpec parsed = SweepSpecLoader.load(specFile, profileName, SweepSpecLoader.Checks.NONE);
        if (out == null) out = root.resolve("results/" + parsed.report() + ".md");
        checkWritable(out);
        Setup.system().ensure(List.of(), line -> { err.println("setup: " + line); err.flush(); });
        PrunelabHome home = PrunelabHome.fromEnvironment();
        SweepSpec sweep = SweepSpecLoader.load(specFile, profileName, new SweepSpecLoader.Checks() {
            @Override public void model(String name) { ModelLoader.resolve(name, home); }
            @Override public void dataset(String name) { Datasets.resolve(name, home); }
        });

        SweepOutcome outcome;
        String mlflow;
        try (Pipeline executor = new Pipeline(home)) {
            // Every point is planned before any runs: checks that need the model's shape (N:M against in_features,
            // FASP's token minimum, ShortGPT's layer count) fail now, with their line, not after an hour of sweeping.
            for (RunSpec point : sweep.points()) {
                try {
                    executor.plan(point);
                } catch (PrunelabException e) {
                    throw SweepSpecLoader.pointError(sweep, specFile.getFileName().toString(), point, e);
                }
            }
            try (Tracker tracker = Tracker.open(root)) {
                mlflow = tracker.trackingUri().map(u -> "MLflow UI: " + u + " (experiment " + sweep.experiment() + ")")
                        .orElse("MLflow: none");
                err.println("tradeoff: " + sweep.points().size() + " points (" + (profileName == null ? "no profile" : "profile " + profileName)
                        + ") from " + specFile);
                err.println("tradeoff: " + mlflow);
                tracker.offlineReason().ifPresent(r -> err.println("tradeoff: tracking offline: " + r));
                err.flush();
                String settings;
                if (sweepEngine == null) {
                    outcome = new SweepRunner(tracker, executor, root.resolve("mlruns/sweeps")).run(sweep, new ConsoleProgress("sweep"));
                    settings = executor.describe();
                } else {
                    SweepEngine.Job job = new SweepEngine.Job(sweep, tracker, root.resolve("mlruns/sweeps"), root,
                            common.threads, engineOptions());
                    err.println("tradeoff: engine " + sweepEngine.describe(job));
                    err.flush();
                    outcome = sweepEngine.run(job, new ConsoleProgress("sweep"));
                    settings = "engine " + sweepEngine.describe(job);
                }
                tracker.offlineReason().ifPresent(r -> err.println("tradeoff: tracking went offline (records kept for"
                        + " `./prunelab mlflow sync`): " + r));
                settings = settings + "; speed: " + (sweep.speed() == null ? "not measured" : sweep.speed().describe());
                writeResults(outcome, settings, mlflow);
            }
        }
        print(outcome, mlflow);
        return outcome.failures().isEmpty() ? 0 : 1;
    }

    /** The engine --engine names (null: in-process); --master and --conf only with an engine that takes them. */
    private SweepEngine engine() {
        if (engine.equals("in-process")) {
            if (master != null || !conf.isEmpty()) {
                throw new PrunelabException.InvalidArgument("--master and --conf configure --engine spark; add --engine spark,"
                        + " or drop them to run in this process");
            }
            return null;
        }
        SweepEngine found = SweepEngine.byName(engine);
        found.checkOptions(engineOptions(), common.threads);
        return found;
    }

    private Map<String, String> engineOptions() {
        Map<String, String> options = new java.util.LinkedHashMap<>(conf);
        if (master != null) options.put("spark.master", master);
        return options;
    }

    private void writeResults(SweepOutcome outcome, String settings, String mlflow) {
        Path abs = out.toAbsolutePath();
        String stem = abs.getFileName().toString().replaceFirst("\\.md$", "");
        List<String> plots = new ArrayList<>();
        // A plot is a picture of the table: if drawing one fails, the table is still written (and the failure said).
        boolean languages = outcome.spec().report().equals(SweepSpec.LANGUAGES);
        try {
            Path p1 = languages ? LanguageReport.perplexityPlot(outcome.results(), abs.resolveSibling(stem + "-perplexity-increase.png"))
                    : TradeoffPlots.perplexityVsSparsity(outcome.results(), abs.resolveSibling(stem + "-perplexity-vs-sparsity.png"));
            if (p1 != null) plots.add(p1.getFileName().toString());
            Path p2 = languages ? LanguageReport.accuracyPlot(outcome.results(), abs.resolveSibling(stem + "-accuracy.png"))
                    : TradeoffPlots.languageIncrease(outcome.results(), abs.resolveSibling(stem + "-language-increase.png"));
            if (p2 != null) plots.add(p2.getFileName().toString());
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println("tradeoff: warning: a plot could not be drawn (" + e + "); writing the table without it");
            spec.commandLine().getErr().flush();
        }
        String text = languages ? LanguageReport.markdown(outcome, header(outcome, settings, mlflow), plots)
                : TradeoffReport.markdown(outcome, header(outcome, settings, mlflow), plots);
        try {
            Path tmp = Files.createTempFile(abs.getParent(), ".tradeoff", ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            // createTempFile makes the file owner-only (0600); a results table is meant to be read by others.
            try {
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep its default permissions
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out, e);
        }
    }

    private Map<String, String> startContext = Map.of();

    private String header(SweepOutcome outcome, String settings, String mlflow) {
        SweepSpec s = outcome.spec();
        RunSpec calibrated = s.points().stream().filter(p -> p.calibration() != null).findFirst().orElse(null);
        RunSpec any = s.points().getFirst();
        StringBuilder h = new StringBuilder();
        Map<String, String> ctx = startContext.isEmpty()
                ? RunContext.tags(Path.of(System.getProperty("prunelab.root", ".")).toAbsolutePath()) : startContext;
        String commit = ctx.get(org.prunelab.track.MlflowNames.GIT_COMMIT_TAG);
        Path root = Path.of(System.getProperty("prunelab.root", ".")).toAbsolutePath();
        Path specAbs = specFile.toAbsolutePath().normalize();
        String specArg = specAbs.equals(root.resolve("experiments/sweeps/tradeoff.yaml").normalize()) ? ""
                : " --spec " + (specAbs.startsWith(root) ? root.relativize(specAbs).toString() : specAbs.toString());
        h.append("Made by `./prunelab tradeoff").append(specArg).append(s.profile() == null ? " --profile none" : " --profile " + s.profile())
                .append(engine.equals("in-process") ? "" : " --engine " + engine + (master == null ? "" : " --master " + master))
                .append("` on ").append(LocalDate.now())
                .append(commit == null ? "" : " at commit " + commit.substring(0, Math.min(12, commit.length()))
                        + ("true".equals(ctx.get(org.prunelab.track.MlflowNames.GIT_DIRTY_TAG)) ? " (with uncommitted changes)" : ""))
                .append(" from `").append(specFile.getFileName()).append("` (")
                .append(s.points().size()).append(" points; this invocation ran ").append(outcome.ran()).append(", skipped ")
                .append(outcome.skipped()).append(" already finished).\n\n");
        List<String> models = s.points().stream().map(RunSpec::model).distinct().toList();
        h.append(models.size() == 1 ? "Model " : "Models ").append(String.join(", ", models)).append(". ");
        if (calibrated != null) {
            h.append("Calibration: ").append(calibrated.calibration().nsamples()).append(" x ").append(calibrated.calibration().seqlen())
                    .append(" tokens of ").append(calibrated.calibration().dataset());
            List<Long> seeds = s.points().stream().filter(p -> p.calibration() != null).map(RunSpec::seed).distinct().sorted().toList();
            h.append(seeds.size() == 1 ? ", seed " + seeds.getFirst() + ". " : ", seeds " + seeds.stream().map(String::valueOf)
                    .collect(java.util.stream.Collectors.joining(", ")) + " (each calibrated point runs once per seed). ");
        }
        h.append("Evaluation: ");
        List<String> evals = new ArrayList<>();
        any.evaluation().forEach(e -> evals.add(e.dataset() + " (" + (e.windows() == 0 ? "all" : e.windows()) + " x " + e.seqlen() + ")"));
        h.append(String.join(", ", evals)).append(" windows x tokens; each interval rests on its set's windows.\n\n");
        if ("quick".equals(s.profile())) {
            h.append("**Quick profile**: small calibration and only a few evaluation windows per set, so perplexities are"
                    + " noisy (the bracketed intervals say how noisy over windows) and not comparable with papers; `./prunelab tradeoff --profile full` runs the paper-grade grid"
                    + " (128 x 512 calibration, every window).\n\n");
        }
        h.append("Machine: ").append(ctx.get("host.cpu_model")).append(", ").append(ctx.get("host.cpus")).append(" CPUs, JDK ")
                .append(Runtime.version()).append("; ").append(settings).append(". Speeds and memory carry the noise of"
                        + " whatever else ran on the machine; speedups are ratios against the dense model measured in the same"
                        + " run. Unstructured and N:M points run their linears in CSR or packed N:M where that format fits"
                        + " (dense otherwise): sparse kernels on a plain CPU, no sparse tensor cores. Structured points are"
                        + " smaller dense models. ").append(mlflow).append(".\n");
        return h.toString();
    }

    private void print(SweepOutcome outcome, String mlflow) {
        PrintWriter o = spec.commandLine().getOut();
        if (common.json) {
            ObjectNode root = JsonOutput.object().put("spec", specFile.toString()).put("profile", profile)
                    .put("table", out.toAbsolutePath().toString()).put("points", outcome.spec().points().size())
                    .put("ran", outcome.ran()).put("skipped", outcome.skipped()).put("mlflow", mlflow);
            ArrayNode failures = root.putArray("failures");
            outcome.failures().forEach(failures::add);
            ArrayNode list = root.putArray("results");
            for (RunResult r : outcome.results()) {
                ObjectNode n = list.addObject().put("key", r.spec().key()).put("model", r.spec().model()).put("seed", r.spec().seed())
                        .put("method", r.spec().method())
                        .put("pattern", r.spec().pattern()).put("sparsity", r.spec().sparsity())
                        .put("actual_sparsity", r.actualSparsity()).put("speedup_prefill", r.speedupPrefill())
                        .put("speedup_decode", r.speedupDecode()).put("format", r.format())
                        .put("memory_overhead_ratio", r.memoryOverheadRatio());
                ArrayNode evals = n.putArray("evaluation");
                for (EvalResult e : r.evals()) {
                    ObjectNode en = evals.addObject().put("eval_dataset", e.dataset()).put("language", e.language())
                            .put("perplexity", e.perplexity()).put("perplexity_dense", e.perplexityDense()).put("ppl_ratio", e.pplRatio());
                    org.prunelab.run.PruneReport.intervals(en, e);
                }
            }
            JsonOutput.print(o, root);
            return;
        }
        o.printf("points      %d (ran %d, skipped %d finished earlier, failed %d)%n", outcome.spec().points().size(),
                outcome.ran(), outcome.skipped(), outcome.failures().size());
        outcome.failures().forEach(f -> o.println("failed      " + f));
        o.println("table       " + out.toAbsolutePath());
        o.println(mlflow);
        o.flush();
    }

    /** Fails before minutes of work if the table could not be written afterwards. */
    private static void checkWritable(Path table) {
        Path dir = table.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(Files.createTempFile(dir, ".tradeoff", ".check"));
        } catch (IOException | RuntimeException e) {
            throw new PrunelabException.InvalidArgument("cannot write --out " + table + " (" + e.getMessage()
                    + "); choose a writable location");
        }
    }
}
