package org.prunelab.model;

import org.prunelab.PrunelabException;
import org.prunelab.cache.Artifact;
import org.prunelab.cache.Artifacts;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Tokenizer;
import org.prunelab.io.GgufTensorSource;
import org.prunelab.io.HfConfigJson;
import org.prunelab.io.GgufVocab;
import org.prunelab.io.TensorSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Resolves a model argument and loads it: a registered name ({@code smollm2-135m}, fetched by setup into
 * the cache), a {@code .gguf} file (tokenizer built from its vocabulary), or a directory holding
 * {@code config.json}, safetensors weights and {@code tokenizer.json} (what {@code prune --out} writes).
 */
public final class ModelLoader {
    /** Registered model names and the cache artifact that holds each. */
    private static final Map<String, Artifact> REGISTERED = Map.of("smollm2-135m", Artifacts.SMOLLM2_135M);

    private ModelLoader() {}

    /**
     * Finds the file or directory a model argument names.
     *
     * @throws PrunelabException.InvalidArgument for a name that is neither registered nor an existing path
     * @throws PrunelabException.Setup           for a registered model that setup has not fetched yet
     */
    public static Path resolve(String spec, PrunelabHome home) {
        Artifact artifact = REGISTERED.get(spec);
        if (artifact != null) {
            Path p = artifact.location(home);
            if (!Files.exists(p)) {
                throw new PrunelabException.Setup("model " + spec + " is not in the cache (" + p + "); run ./prunelab setup " + spec);
            }
            return p;
        }
        Path p = Path.of(spec);
        if (Files.exists(p)) return p;
        throw new PrunelabException.InvalidArgument("unknown model '" + spec + "': not a registered name ("
                + String.join(", ", REGISTERED.keySet()) + ") and no such file or directory");
    }

    /**
     * The model's config and block widths, read from the file's header or {@code config.json} without loading any
     * weights (milliseconds), so a run can be checked against the model before it is loaded.
     *
     * @throws PrunelabException.InvalidArgument for an unknown name; Setup for a registered model not fetched yet;
     *         ModelFormat for an unreadable file
     */
    public static ModelShape inspect(String spec, PrunelabHome home) {
        Path path = resolve(spec, home);
        try (TensorSource source = TensorSource.open(path)) {
            LlamaConfig config = source.config();
            var shapes = Files.isDirectory(path) ? HfConfigJson.readLayerSizes(path.resolve("config.json")) : null;
            boolean factorised = source.contains("model.layers.0.self_attn.q_proj.lowrank_a");
            return shapes == null ? new ModelShape(config, ModelShape.uniform(config).blocks(), factorised)
                    : new ModelShape(config, shapes, factorised);
        }
    }

    /** Resolves {@code spec} and loads the model and its tokenizer into memory (fp32). */
    public static LoadedModel load(String spec, PrunelabHome home) {
        Path path = resolve(spec, home);
        long start = System.nanoTime();
        try (TensorSource source = TensorSource.open(path)) {
            // Tokenizer first: missing tokenizer data fails in milliseconds, before seconds of dequantising.
            Tokenizer tokenizer = tokenizerFor(source, path);
            try {
                // A non-uniform structured prune lists each block's widths in config.json (prunelab_layer_sizes).
                var shapes = Files.isDirectory(path) ? HfConfigJson.readLayerSizes(path.resolve("config.json")) : null;
                LlamaModel model = LlamaModel.fromTensors(source.config(), source, shapes);
                return new LoadedModel(spec, path, model, tokenizer, sizeOnDisk(path), (System.nanoTime() - start) / 1e9);
            } catch (RuntimeException e) {
                tokenizer.close();
                throw e;
            }
        }
    }

    /**
     * The model's tokenizer alone (from the GGUF vocabulary or {@code tokenizer.json}), without its weights: for checks
     * that tokenise text before a run loads the model (is the calibration text long enough?). The caller closes it.
     */
    public static Tokenizer loadTokenizer(String spec, PrunelabHome home) {
        Path path = resolve(spec, home);
        try (TensorSource source = TensorSource.open(path)) {
            return tokenizerFor(source, path);
        }
    }

    private static Tokenizer tokenizerFor(TensorSource source, Path path) {
        if (source instanceof GgufTensorSource gguf) {
            return Tokenizer.fromGgufVocab(GgufVocab.fromMetadata(gguf.file().metadata(), path));
        }
        Path json = path.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            throw new PrunelabException.Tokenizer("no tokenizer.json in " + path
                    + "; copy the model's tokenizer.json next to config.json");
        }
        return Tokenizer.fromTokenizerJson(json);
    }

    private static long sizeOnDisk(Path path) {
        if (!Files.isDirectory(path)) {
            try {
                return Files.size(path);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        try (Stream<Path> files = Files.walk(path)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
