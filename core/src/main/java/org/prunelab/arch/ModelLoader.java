package org.prunelab.arch;

import org.prunelab.PrunelabException;
import org.prunelab.cache.Artifact;
import org.prunelab.cache.Artifacts;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Tokenizer;
import org.prunelab.io.GgufTensorSource;
import org.prunelab.io.GgufVocab;
import org.prunelab.io.TensorLookup;
import org.prunelab.io.TensorSource;
import org.prunelab.model.BlockResidency;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.ModelShape;
import org.prunelab.model.Transformer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Resolves a model argument and loads it: a registered name ({@code smollm2-135m}, fetched by setup into the cache),
 * a {@code .gguf} file (family from {@code general.architecture}, tokenizer built from its vocabulary), or a
 * directory holding {@code config.json} (family from {@code model_type}), safetensors weights and
 * {@code tokenizer.json} (what {@code prune --out} writes). The family's {@link Architecture} reads the config and
 * presents the tensors; the model is a {@link Transformer}.
 */
public final class ModelLoader {
    /** Registered model names and the cache artifact that holds each. */
    private static final Map<String, Artifact> REGISTERED = registered();

    private static Map<String, Artifact> registered() {
        Map<String, Artifact> m = new LinkedHashMap<>();
        m.put("smollm2-135m", Artifacts.SMOLLM2_135M);
        m.put("gemma3-270m", Artifacts.GEMMA3_270M);
        return m;
    }

    private ModelLoader() {}

    /** The registered model names, in registration order. */
    public static List<String> registeredNames() {
        return List.copyOf(REGISTERED.keySet());
    }

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

    /** A checkpoint opened with its family and config, before any weights are read. */
    private record Opened(TensorSource source, Architecture arch, DecoderConfig config, List<BlockShape> shapes,
                          TensorLookup tensors) implements AutoCloseable {
        @Override public void close() { source.close(); }
    }

    private static Opened open(Path path) {
        if (Files.isDirectory(path)) {
            // The config first: it names the family, and a directory without one is not a checkpoint.
            HfConfig.Reader json = HfConfig.read(path.resolve("config.json"));
            Architecture arch = Architectures.forHfModelType(json.modelType(DecoderConfig.LLAMA), json.source());
            DecoderConfig config = arch.readHfConfig(json);
            List<BlockShape> shapes = HfConfig.layerSizes(json);
            TensorSource source = TensorSource.open(path);
            return new Opened(source, arch, config, shapes, arch.fromHf(source, config));
        }
        TensorSource source = TensorSource.open(path);
        try {
            if (source instanceof GgufTensorSource gguf) {
                String name = gguf.file().metadata().getString("general.architecture");
                Architecture arch = Architectures.forGguf(name, gguf.file().path().toString());
                DecoderConfig config = arch.readGgufConfig(gguf.file());
                return new Opened(source, arch, config, null, arch.fromGguf(gguf, config));
            }
            throw new PrunelabException.ModelFormat(path + " is neither a GGUF file nor a checkpoint directory");
        } catch (RuntimeException e) {
            source.close();
            throw e;
        }
    }

    /**
     * The model's config and block widths, read from the file's header or {@code config.json} without loading any
     * weights (milliseconds), so a run can be checked against the model before it is loaded.
     *
     * @throws PrunelabException.InvalidArgument for an unknown name; Setup for a registered model not fetched yet;
     *         ModelFormat for an unreadable file or a family prunelab does not implement
     */
    public static ModelShape inspect(String spec, PrunelabHome home) {
        Path path = resolve(spec, home);
        try (Opened o = open(path)) {
            Transformer.checkShapes(o.config(), o.tensors(), o.shapes(), o.arch().hfNames());
            boolean factorised = o.tensors().has(o.arch().hfNames().linear(0, LinearRole.Q) + ".lowrank_a");
            return o.shapes() == null ? new ModelShape(o.config(), ModelShape.uniform(o.config(), o.arch().layout()).blocks(), factorised, o.arch().layout())
                    : new ModelShape(o.config(), o.shapes(), factorised, o.arch().layout());
        }
    }

    /**
     * The GGUF block type every block linear of the model's file is stored in, when it is one prunelab executes
     * directly ({@code q8_0} or {@code q4_0}); empty for other types, mixed types or a safetensors folder. Read from the
     * header (milliseconds). {@code --format auto} runs such a file in that format: its weights are dequantised on load
     * and rounding them again gives back the file's blocks bit for bit (a block's largest value is exactly 127 or -8
     * times its fp16 scale), so the kernels read what the file holds.
     */
    public static java.util.Optional<String> storedLinearFormat(Path path) {
        if (java.nio.file.Files.isDirectory(path) || !path.getFileName().toString().endsWith(".gguf")) return java.util.Optional.empty();
        try (org.prunelab.io.GgufFile f = org.prunelab.io.GgufFile.open(path)) {
            java.util.Set<org.prunelab.io.GgmlType> types = java.util.EnumSet.noneOf(org.prunelab.io.GgmlType.class);
            for (org.prunelab.io.GgufTensorInfo t : f.tensors()) {
                if (t.name().startsWith("blk.") && t.rank() == 2) types.add(t.type());
            }
            if (types.size() != 1) return java.util.Optional.empty();
            org.prunelab.io.GgmlType t = types.iterator().next();
            return t == org.prunelab.io.GgmlType.Q8_0 || t == org.prunelab.io.GgmlType.Q4_0
                    ? java.util.Optional.of(t.name().toLowerCase(java.util.Locale.ROOT)) : java.util.Optional.empty();
        }
    }

    /**
     * Bytes the file stores the untied LM head in (GGUF {@code output.weight} in its type, or the checkpoint's
     * {@code lm_head.weight}), read from the header; 0 when the head is tied to the embedding or absent. For the memory
     * model ({@link org.prunelab.prune.MemoryModel}).
     */
    public static long storedLmHeadBytes(String spec, PrunelabHome home) {
        Path path = resolve(spec, home);
        try (Opened o = open(path)) {
            if (o.config().tieWordEmbeddings()) return 0;
            if (o.source() instanceof GgufTensorSource gguf) {
                return gguf.file().findTensor("output.weight").map(t -> t.byteSize()).orElse(0L);
            }
            return o.tensors().shape(o.arch().hfNames().lmHead()).map(s -> 4L * s[0] * s[1]).orElse(0L);
        }
    }

    /** Resolves {@code spec} and loads the model and its tokenizer into memory (fp32). */
    public static LoadedModel load(String spec, PrunelabHome home) {
        Path path = resolve(spec, home);
        long start = System.nanoTime();
        try (Opened o = open(path)) {
            // Tokenizer first: missing tokenizer data fails in milliseconds, before seconds of dequantising.
            Tokenizer tokenizer = tokenizerFor(o.source(), path);
            try {
                Transformer model = build(o.arch(), o.config(), o.tensors(), o.shapes());
                return new LoadedModel(spec, path, model, tokenizer, sizeOnDisk(path), (System.nanoTime() - start) / 1e9);
            } catch (RuntimeException e) {
                tokenizer.close();
                throw e;
            }
        }
    }

    /**
     * Resolves {@code spec} and opens it <em>streamed</em>: the embedding and norms are read now, each block's linears
     * are dequantised from the memory-mapped file only while a pass uses them (at most {@code residency.capacity()}
     * blocks at once), and the file's pages are released from the resident set after each read
     * ({@link Transformer#fromTensors(DecoderConfig, TensorLookup, List, org.prunelab.model.TensorNames,
     * org.prunelab.model.BlockLayout, BlockResidency)}). No fp32 copy of the whole model exists. The file stays open
     * until the returned model is closed.
     *
     * @throws PrunelabException as {@link #load}
     */
    public static LoadedModel loadStreamed(String spec, PrunelabHome home, BlockResidency residency) {
        Path path = resolve(spec, home);
        long start = System.nanoTime();
        Opened o = open(path);
        try {
            Transformer.checkShapes(o.config(), o.tensors(), o.shapes(), o.arch().hfNames());
            Tokenizer tokenizer = tokenizerFor(o.source(), path);
            try {
                Transformer model = Transformer.fromTensors(o.config(), o.tensors(), o.shapes(), o.arch().hfNames(),
                        o.arch().layout(), residency);
                return new LoadedModel(spec, path, model, tokenizer, sizeOnDisk(path), (System.nanoTime() - start) / 1e9,
                        true, o);
            } catch (RuntimeException e) {
                tokenizer.close();
                throw e;
            }
        } catch (RuntimeException e) {
            o.close();
            throw e;
        }
    }

    /**
     * Binds {@code tensors} (Hugging Face names, as {@code arch} presents them) to a model of {@code config}.
     *
     * @param shapes per-block widths of a non-uniform structured prune, or null
     * @throws PrunelabException.ModelFormat if a tensor is missing or disagrees with the config
     */
    public static Transformer build(Architecture arch, DecoderConfig config, TensorLookup tensors, List<BlockShape> shapes) {
        return Transformer.fromTensors(config, tensors, shapes, arch.hfNames(), arch.layout());
    }

    /** As {@link #build(Architecture, DecoderConfig, TensorLookup, List)} for the config's family, uniform blocks. */
    public static Transformer build(DecoderConfig config, TensorLookup tensors) {
        return build(Architectures.of(config), config, tensors, null);
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
