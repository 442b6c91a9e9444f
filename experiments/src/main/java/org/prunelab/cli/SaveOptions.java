package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.prunelab.PrunelabException;
import org.prunelab.arch.GgufExporter;
import org.prunelab.arch.ModelLoader;
import org.prunelab.arch.PrunedModelWriter;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.GgmlType;
import org.prunelab.io.GgufMetadata;
import org.prunelab.model.LinearRole;
import org.prunelab.model.ModelShape;
import org.prunelab.run.Pipeline;
import org.prunelab.run.RunSpec;
import picocli.CommandLine.Option;

/**
 * How {@code prune} and {@code quantize} save their model: a Hugging Face folder (safetensors + config.json) or a
 * GGUF file for llama.cpp and Ollama ({@code DIR/model.gguf}), with the run's report files beside it either way.
 * Everything that would stop the save is checked by {@link #check} before any weight loads.
 */
final class SaveOptions {
    @Option(names = "--save-format",
            description = "safetensors (Hugging Face folder; transformers loads it), sparse-bitmask (the same folder with the"
                    + " block linears in compressed-tensors' sparse-bitmask format: nonzero values + 1 bit per weight; vLLM's"
                    + " compressed-tensors <= 0.14 and prunelab read it) or gguf (DIR/model.gguf; llama.cpp and Ollama load"
                    + " it). Default: gguf with --quantize (the blocks are written as they are), else safetensors.")
    String saveFormat;

    @Option(names = "--gguf-type",
            description = "Tensor type of a GGUF save without --quantize: f32 (default) or f16. With --quantize the file"
                    + " holds that type's blocks.")
    String ggufType;

    private GgmlType type;
    private GgufMetadata source;

    /** Whether the model is saved as GGUF. */
    boolean gguf() { return "gguf".equals(saveFormat); }

    /** The save format after {@link #check} resolved its default. */
    String format() { return saveFormat; }

    /**
     * Resolves the defaults and checks, from the model's header and the spec, that the save will work.
     *
     * @param varyingWidths whether the run gives blocks different widths (FASP / FLAP with allocation global)
     * @param biasOn        the linears that will carry a bias after the run
     * @throws PrunelabException.InvalidArgument naming the flag at fault and what to do
     */
    void check(RunSpec run, Path out, Set<LinearRole> biasOn, boolean varyingWidths) {
        boolean quantized = run.quantize() != null;
        if (saveFormat == null) saveFormat = quantized ? "gguf" : "safetensors";
        saveFormat = saveFormat.strip().toLowerCase(Locale.ROOT);
        if (!List.of("gguf", "safetensors", "sparse-bitmask").contains(saveFormat)) {
            throw new PrunelabException.InvalidArgument("--save-format " + saveFormat
                    + " is not known: use safetensors, sparse-bitmask or gguf");
        }
        if (!saveFormat.equals("gguf")) {
            if (quantized) {
                throw new PrunelabException.InvalidArgument("--save-format " + saveFormat + " cannot hold " + run.quantize().type()
                        + " blocks (it would store their fp32 values, 4x the bytes): drop --save-format (GGUF is the"
                        + " default with --quantize) or use --save-format gguf");
            }
            if (ggufType != null) throw new PrunelabException.InvalidArgument("--gguf-type needs --save-format gguf");
            PrunedModelWriter.checkWritable(out);
            return;
        }
        if (quantized) {
            if (ggufType != null && !ggufType.strip().equalsIgnoreCase(run.quantize().type())) {
                throw new PrunelabException.InvalidArgument("--gguf-type " + ggufType + " contradicts --quantize "
                        + run.quantize().type() + ": the file holds the quantised blocks; drop --gguf-type");
            }
            type = GgufExporter.type(run.quantize().type());
        } else {
            type = GgufExporter.type(ggufType == null ? "f32" : ggufType);
            if (type.blockSize() > 1) {
                throw new PrunelabException.InvalidArgument("--gguf-type " + ggufType + " rounds the weights: use --quantize "
                        + ggufType.strip().toLowerCase(Locale.ROOT) + " instead, so the evaluation measures the model the"
                        + " file holds (and GPTQ is available with --quant-method gptq)");
            }
        }
        PrunelabHome home = PrunelabHome.fromEnvironment();
        source = GgufExporter.sourceMetadata(ModelLoader.resolve(run.model(), home));
        ModelShape shape = ModelLoader.inspect(run.model(), home);
        GgufExporter.check(shape, source, type, biasOn, varyingWidths);
        PrunedModelWriter.checkWritable(out);
    }

    /** Saves the run's model to {@code out}; returns what the JSON output reports about the save. */
    ObjectNode save(Path out, Pipeline.Outcome o, org.prunelab.Progress progress) {
        ObjectNode j = JsonOutput.object().put("save_format", saveFormat).put("out", out.toAbsolutePath().toString());
        if (gguf()) {
            GgufExporter.Result r = PrunedModelWriter.writeGguf(out, o.model().model(), source, type, o.files(), progress);
            j.put("gguf_file", r.file().toString()).put("gguf_bytes", r.bytes())
                    .put("gguf_type", r.type().name().toLowerCase(Locale.ROOT));
            ObjectNode counts = j.putObject("gguf_tensor_types");
            r.tensorTypes().forEach((t, n) -> counts.put(t.name().toLowerCase(Locale.ROOT), n));
            j.putArray("gguf_warnings").addAll(r.warnings().stream().map(JsonOutput.MAPPER.getNodeFactory()::textNode).toList());
        } else {
            PrunedModelWriter.write(out, o.model().model(), o.model().tokenizer(), o.files());
            if (saveFormat.equals("sparse-bitmask")) {
                // Every block linear's weight (low-rank factors and biases stay dense); the folder is complete and dense
                // before this step, and each file is replaced atomically.
                var model = o.model().model();
                var names = org.prunelab.arch.Architectures.of(model.config()).hfNames();
                Set<String> weights = new java.util.LinkedHashSet<>();
                for (var b : model.blocks()) {
                    for (LinearRole role : LinearRole.values()) {
                        if (!(org.prunelab.format.WeightFormats.weightLayer(b.linear(role)) instanceof org.prunelab.model.LowRankLinear)) {
                            weights.add(names.linear(b.index(), role) + ".weight");
                        }
                    }
                }
                var r = org.prunelab.io.SparseBitmaskWriter.compress(out, weights);
                j.put("sparse_bitmask_weights", r.weights()).put("safetensors_bytes_dense", r.bytesBefore())
                        .put("safetensors_bytes", r.bytesAfter()).put("global_sparsity", r.globalSparsity())
                        .put("sparsity_structure", r.structure());
            }
        }
        return j;
    }
}
