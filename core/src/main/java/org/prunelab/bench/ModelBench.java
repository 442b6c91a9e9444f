package org.prunelab.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.prunelab.PrunelabException;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.KvCache;
import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderModel;

/**
 * Generation speed of a whole model as a user sees it: prefill a prompt of {@code promptLen} seeded
 * pseudo-random tokens into a fresh KV cache, then decode {@code gen} tokens greedily one at a time (batch 1).
 * Each timed run reports prefill seconds and every decode step's seconds; {@link #compare} runs two models
 * in the same process, alternating, and reports per-pair speedup ratios, which stay meaningful on a noisy
 * shared machine where absolute times do not.
 *
 * <p>What is measured: {@link DecoderModel#prefill} (all blocks on the prompt, logits of the last position) and
 * {@link DecoderModel#decode} (one token, logits over the vocabulary, argmax). Tokenisation and sampling beyond
 * argmax are excluded. The work does not depend on the token values. Tests never assert these numbers.
 */
public final class ModelBench {
    private ModelBench() {}

    /**
     * What to run.
     *
     * @param promptLen prompt tokens prefilled per run (at least 1)
     * @param gen       tokens decoded per run after the prompt (at least 1)
     * @param repeat    timed runs (at least 1)
     * @param warmup    untimed runs first, so the JIT has compiled every kernel (interpreted Vector API code is
     *                  ~1000x slower) and the weights are paged in
     * @param seed      seed of the prompt tokens
     * @throws PrunelabException.InvalidArgument if a count is out of range
     */
    public record Options(int promptLen, int gen, int repeat, int warmup, long seed) {
        public Options {
            if (promptLen < 1) throw new PrunelabException.InvalidArgument("${bench.prompt_len} must be at least 1, got " + promptLen);
            if (gen < 1) throw new PrunelabException.InvalidArgument("${bench.gen} must be at least 1, got " + gen);
            if (repeat < 1) throw new PrunelabException.InvalidArgument("${bench.repeat} must be at least 1, got " + repeat);
            if (warmup < 0) throw new PrunelabException.InvalidArgument("${bench.warmup} must be at least 0, got " + warmup);
        }

        /** The defaults of {@code prunelab bench}: 512 prompt tokens, 64 generated, 5 timed runs, 1 warm-up. */
        public static Options defaults() {
            return new Options(512, 64, 5, 1, 0);
        }

        /** @throws PrunelabException.InvalidArgument if prompt plus generated tokens exceed the model's context */
        void checkContext(DecoderModel model) {
            int context = model.config().maxPositionEmbeddings();
            if ((long) promptLen + gen > context) {
                throw new PrunelabException.InvalidArgument("${bench.prompt_len} " + promptLen + " plus ${bench.gen} " + gen
                        + " is beyond the model's context of " + context + " tokens; use fewer");
            }
        }
    }

    /**
     * One timed run.
     *
     * @param prefillSeconds wall time of prefilling the prompt, seconds
     * @param decodeSeconds  wall time of each decode step, seconds, in order
     * @param promptLen      prompt tokens
     */
    public record Run(double prefillSeconds, double[] decodeSeconds, int promptLen) {
        public double prefillTokensPerSecond() { return promptLen / prefillSeconds; }

        public double decodeTokensPerSecond() { return decodeSeconds.length / Arrays.stream(decodeSeconds).sum(); }
    }

    /**
     * The runs of one model and their summary.
     *
     * @param runs            timed runs, in order
     * @param modelBytes      parameter bytes in memory in the model's current formats ({@link #modelBytes})
     * @param peakRssBytes    the process's peak resident memory during the runs, bytes (-1 where unknown); with
     *                        {@link #compare} it covers both models, as both are resident
     */
    public record BenchResult(List<Run> runs, long modelBytes, long peakRssBytes) {
        public BenchResult {
            runs = List.copyOf(runs);
        }

        /** Median over runs of prompt tokens / prefill seconds. */
        public double prefillTokensPerSecond() { return median(runs.stream().mapToDouble(Run::prefillTokensPerSecond).toArray()); }

        /** Median over runs of generated tokens / total decode seconds. */
        public double decodeTokensPerSecond() { return median(runs.stream().mapToDouble(Run::decodeTokensPerSecond).toArray()); }

        /** The p-quantile (0..1, nearest rank) of per-token decode latency over all runs' steps, seconds. */
        public double decodeLatency(double p) {
            double[] all = runs.stream().flatMapToDouble(r -> Arrays.stream(r.decodeSeconds())).sorted().toArray();
            return quantile(all, p);
        }
    }

    /**
     * Summary of per-pair ratios.
     *
     * @param min    smallest ratio
     * @param median median ratio
     * @param max    largest ratio
     */
    public record Ratio(double min, double median, double max) {
        static Ratio of(double[] values) {
            double[] s = values.clone();
            Arrays.sort(s);
            return new Ratio(s[0], ModelBench.median(s), s[s.length - 1]);
        }
    }

    /**
     * A candidate against a baseline measured in alternating runs.
     *
     * @param candidate      the candidate's runs (e.g. the pruned model in CSR)
     * @param baseline       the baseline's runs (the dense model it was pruned from)
     * @param prefillSpeedup per pair i: baseline prefill seconds / candidate prefill seconds
     * @param decodeSpeedup  per pair i: baseline decode seconds / candidate decode seconds (all steps of the run)
     */
    public record Comparison(BenchResult candidate, BenchResult baseline, Ratio prefillSpeedup, Ratio decodeSpeedup) {}

    /**
     * Runs {@code options.warmup()} untimed and {@code options.repeat()} timed runs of {@code model}.
     *
     * @throws PrunelabException.InvalidArgument if prompt plus generated tokens exceed the context
     */
    public static BenchResult run(DecoderModel model, Options options) {
        return run(model, options, org.prunelab.Progress.NONE);
    }

    /** As {@link #run(DecoderModel, Options)}, telling {@code progress} after each run (warm-up and timed). */
    public static BenchResult run(DecoderModel model, Options options, org.prunelab.Progress progress) {
        options.checkContext(model);
        int[] prompt = prompt(model, options);
        int total = options.warmup() + options.repeat();
        for (int i = 0; i < options.warmup(); i++) {
            progress.update(i, total, "warm-up runs");
            once(model, prompt, options.gen());
        }
        MemoryMeter meter = MemoryMeter.afterLoad().startPeak();
        try (meter) {
            List<Run> runs = new ArrayList<>();
            for (int i = 0; i < options.repeat(); i++) {
                progress.update(options.warmup() + i, total, "timed runs");
                runs.add(once(model, prompt, options.gen()));
            }
            progress.update(total, total, "runs");
            return new BenchResult(runs, modelBytes(model), meter.peakBytes());
        } finally {
            progress.finish();
        }
    }

    /**
     * Measures {@code candidate} and {@code baseline} in the same process: warm-up runs of both, then
     * {@code repeat} pairs, alternating which model goes first (ABBA...) so drifts in machine load hit both alike.
     *
     * @throws PrunelabException.InvalidArgument if the models' vocabularies differ or the tokens exceed a context
     */
    public static Comparison compare(DecoderModel candidate, DecoderModel baseline, Options options) {
        options.checkContext(candidate);
        options.checkContext(baseline);
        if (candidate.config().vocabSize() != baseline.config().vocabSize()) {
            throw new PrunelabException.InvalidArgument("the models have different vocabularies ("
                    + candidate.config().vocabSize() + " vs " + baseline.config().vocabSize()
                    + " tokens); compare a pruned model with the dense model it came from");
        }
        int[] prompt = prompt(candidate, options);
        for (int i = 0; i < options.warmup(); i++) {
            once(candidate, prompt, options.gen());
            once(baseline, prompt, options.gen());
        }
        MemoryMeter meter = MemoryMeter.afterLoad().startPeak();
        try (meter) {
            List<Run> a = new ArrayList<>();
            List<Run> b = new ArrayList<>();
            double[] prefill = new double[options.repeat()];
            double[] decode = new double[options.repeat()];
            for (int i = 0; i < options.repeat(); i++) {
                Run ra, rb;
                if (i % 2 == 0) {
                    ra = once(candidate, prompt, options.gen());
                    rb = once(baseline, prompt, options.gen());
                } else {
                    rb = once(baseline, prompt, options.gen());
                    ra = once(candidate, prompt, options.gen());
                }
                a.add(ra);
                b.add(rb);
                prefill[i] = rb.prefillSeconds() / ra.prefillSeconds();
                decode[i] = ra.decodeTokensPerSecond() / rb.decodeTokensPerSecond();
            }
            long peak = meter.peakBytes();
            return new Comparison(new BenchResult(a, modelBytes(candidate), peak),
                    new BenchResult(b, modelBytes(baseline), peak), Ratio.of(prefill), Ratio.of(decode));
        }
    }

    /** One run: prefill {@code prompt} into a fresh cache, then {@code gen} greedy decode steps, each timed. */
    public static Run once(DecoderModel model, int[] prompt, int gen) {
        KvCache cache = model.newCache(prompt.length + gen);
        long t0 = System.nanoTime();
        float[] logits = model.prefill(prompt, cache);
        double prefill = (System.nanoTime() - t0) / 1e9;
        double[] steps = new double[gen];
        for (int i = 0; i < gen; i++) {
            int next = argmax(logits);
            long s = System.nanoTime();
            logits = model.decode(next, cache);
            steps[i] = (System.nanoTime() - s) / 1e9;
        }
        return new Run(prefill, steps, prompt.length);
    }

    /**
     * Bytes the model's parameters occupy in memory in their current formats: embeddings and norms (fp32), every block
     * linear's {@link Linear#parameterBytes()}, and the LM head unless it is the embedding's own fp32 matrix (tied and
     * not converted).
     */
    public static long modelBytes(DecoderModel model) {
        long bytes = 4L * (model.embedTokens().size() + model.norm().weight().length);
        for (DecoderBlock b : model.blocks()) {
            bytes += b.linearBytes();
            for (org.prunelab.model.RmsNorm n : b.norms().values()) bytes += 4L * n.weight().length;
        }
        if (!sharesEmbedding(model)) bytes += model.lmHead().parameterBytes();
        return bytes;
    }

    /** Whether the LM head is the embedding matrix itself (tied weights, head not converted to another format). */
    public static boolean sharesEmbedding(DecoderModel model) {
        return model.lmHead() instanceof org.prunelab.model.DenseLinear d && d.weight() == model.embedTokens();
    }

    private static int[] prompt(DecoderModel model, Options options) {
        return new SplittableRandom(options.seed()).ints(options.promptLen(), 0, model.config().vocabSize()).toArray();
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double quantile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
