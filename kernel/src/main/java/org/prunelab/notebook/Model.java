package org.prunelab.notebook;

import org.prunelab.model.DecoderConfig;
import org.prunelab.model.LoadedModel;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunSpec;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.util.Locale;

/**
 * A model in a notebook: dense as loaded by {@link Prunelab#load}, or pruned by {@link Prunelab#prune} (then it also
 * carries the run that made it: its spec, measurements and {@code prune_report.json}, the same as the CLI's). Shown in
 * a notebook as a small table.
 */
public final class Model {
    private final LoadedModel loaded;
    private final RunSpec spec;
    private final Pipeline.Outcome outcome;

    Model(LoadedModel loaded, RunSpec spec, Pipeline.Outcome outcome) {
        this.loaded = loaded;
        this.spec = spec;
        this.outcome = outcome;
    }

    /** What was asked for: a registered name ({@code smollm2-135m}) or a path. */
    public String name() {
        return loaded.name();
    }

    /**
     * {@code dense}, or e.g. {@code wanda 0.50 (brown)} / {@code sparsegpt 2:4 (europarl:de)} / {@code fasp 0.25 (brown)}:
     * method, requested sparsity or pattern, calibration set.
     */
    public String label() {
        if (outcome == null) return "dense";
        String p = spec.pattern();
        String amount = p.contains(":") ? p : String.format(Locale.ROOT, "%.2f", outcome.result().requestedSparsity());
        return spec.method() + " " + amount + (Boolean.TRUE.equals(spec.params().get("owl")) ? " OWL" : "")
                + (spec.calibration() != null ? " (" + spec.calibration().dataset() + ")" : "");
    }

    public boolean isPruned() {
        return outcome != null;
    }

    /** The loaded model: decoder, tokenizer, file (for calls the facade does not cover). */
    public LoadedModel loaded() {
        return loaded;
    }

    public DecoderConfig config() {
        return loaded.config();
    }

    /** The run that pruned this model, or null for a dense one. */
    public RunSpec spec() {
        return spec;
    }

    /** The pruning run's outcome (report, measurements, windows), or null for a dense model. */
    public Pipeline.Outcome outcome() {
        return outcome;
    }

    /** The calibration used, or null (dense, or a method without calibration). */
    public Calibration calibration() {
        if (spec == null || spec.calibration() == null) return null;
        return new Calibration(spec.calibration().dataset(), spec.calibration().nsamples(), spec.calibration().seqlen(), spec.seed());
    }

    /** Share of the blocks' linear parameters removed (0 for a dense model). */
    public double actualSparsity() {
        return outcome == null ? 0 : outcome.result().actualSparsity();
    }

    /** Wall time of pruning, in seconds (0 for a dense model). */
    public double pruneSeconds() {
        return outcome == null ? 0 : outcome.result().pruneSeconds();
    }

    /** Two columns, property and value: what a notebook shows for this model. */
    public Table summary() {
        StringColumn key = StringColumn.create("property");
        StringColumn value = StringColumn.create("value");
        DecoderConfig c = config();
        add(key, value, "model", name());
        add(key, value, "state", label());
        add(key, value, "shape", c.numHiddenLayers() + " layers, hidden " + c.hiddenSize() + ", vocab " + c.vocabSize());
        add(key, value, "file", loaded.path() + String.format(Locale.ROOT, " (%.1f MB)", loaded.fileBytes() / 1e6));
        if (outcome != null) {
            add(key, value, "parameters", spec.params().toString());
            add(key, value, "actual sparsity", String.format(Locale.ROOT, "%.4f of the blocks' linear parameters", actualSparsity()));
            add(key, value, "calibration", calibration() == null ? "none" : calibration().label());
            add(key, value, "prune seconds", String.format(Locale.ROOT, "%.2f", pruneSeconds()));
            for (String w : outcome.result().warnings()) add(key, value, "warning", w);
        }
        return Table.create(name() + " (" + label() + ")", key, value);
    }

    private static void add(StringColumn k, StringColumn v, String key, String value) {
        k.append(key);
        v.append(value);
    }

    @Override
    public String toString() {
        return name() + " (" + label() + (outcome != null ? String.format(Locale.ROOT, ", actual sparsity %.4f", actualSparsity()) : "") + ")";
    }
}
