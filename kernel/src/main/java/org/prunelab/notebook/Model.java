package org.prunelab.notebook;

import org.prunelab.model.LlamaConfig;
import org.prunelab.model.LoadedModel;
import org.prunelab.prune.LayerwiseResult;
import org.prunelab.prune.SparsityPattern;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * A model in a notebook: dense as loaded by {@link Prunelab#load}, or pruned by {@link Prunelab#prune}
 * (then it also carries how: method, pattern, calibration, actual sparsity, prune time). Shown in a
 * notebook as a small table.
 */
public final class Model {
    private final LoadedModel loaded;
    private final LayerwiseResult pruning;
    private final Calibration calibration;
    private final double pruneSeconds;

    Model(LoadedModel loaded, LayerwiseResult pruning, Calibration calibration, double pruneSeconds) {
        this.loaded = loaded;
        this.pruning = pruning;
        this.calibration = calibration;
        this.pruneSeconds = pruneSeconds;
    }

    /** What was asked for: a registered name ({@code smollm2-135m}) or a path. */
    public String name() {
        return loaded.name();
    }

    /** {@code dense}, or e.g. {@code wanda 0.50 (brown)} / {@code sparsegpt 2:4 (europarl:de)}: method, sparsity, calibration set. */
    public String label() {
        if (pruning == null) return "dense";
        return pruning.method() + " " + (pruning.pattern() instanceof SparsityPattern.NM
                ? pruning.pattern().label() : String.format("%.2f", pruning.pattern().sparsity()))
                + (pruning.owl() ? " OWL" : "") + (calibration != null ? " (" + calibration.dataset() + ")" : "");
    }

    public boolean isPruned() {
        return pruning != null;
    }

    /** The loaded model: decoder, tokenizer, file (for calls the facade does not cover). */
    public LoadedModel loaded() {
        return loaded;
    }

    public LlamaConfig config() {
        return loaded.config();
    }

    /** Per-linear outcome of pruning, or null for a dense model. */
    public LayerwiseResult pruning() {
        return pruning;
    }

    /** Calibration used for pruning; null for a dense model or a method without calibration (magnitude). */
    public Calibration calibration() {
        return calibration;
    }

    /** Fraction of zero weights over the pruned linears (0 for a dense model). */
    public double actualSparsity() {
        return pruning == null ? 0 : pruning.actualSparsity();
    }

    /** Wall time of pruning, in seconds (0 for a dense model). */
    public double pruneSeconds() {
        return pruneSeconds;
    }

    /** Two columns, property and value: what a notebook shows for this model. */
    public Table summary() {
        StringColumn key = StringColumn.create("property");
        StringColumn value = StringColumn.create("value");
        LlamaConfig c = config();
        add(key, value, "model", name());
        add(key, value, "state", label());
        add(key, value, "shape", c.numHiddenLayers() + " layers, hidden " + c.hiddenSize() + ", vocab " + c.vocabSize());
        add(key, value, "file", loaded.path() + String.format(" (%.1f MB)", loaded.fileBytes() / 1e6));
        if (pruning != null) {
            add(key, value, "actual sparsity", String.format("%.4f over %d linears", actualSparsity(), pruning.linears().size()));
            add(key, value, "calibration", calibration == null ? "none (magnitude)" : calibration.label());
            add(key, value, "prune seconds", String.format("%.2f", pruneSeconds));
        }
        return Table.create(name() + " (" + label() + ")", key, value);
    }

    private static void add(StringColumn k, StringColumn v, String key, String value) {
        k.append(key);
        v.append(value);
    }

    @Override
    public String toString() {
        return name() + " (" + label() + (pruning != null ? String.format(", actual sparsity %.4f", actualSparsity()) : "") + ")";
    }
}
