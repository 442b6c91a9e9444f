package org.prunelab.arch;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.io.GgmlType;
import org.prunelab.io.GgufFile;
import org.prunelab.io.GgufMetadata;
import org.prunelab.io.GgufValueType;
import org.prunelab.io.GgufWriter;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.format.WeightFormats;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LowRankLinear;
import org.prunelab.model.ModelShape;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Writes a model as a GGUF file that llama.cpp (and Ollama, and {@link ModelLoader}) load: the family's metadata and
 * tensor names from its {@link Architecture} ({@link Architecture#ggufKeys}, {@link Architecture#ggufTensors}), the
 * tokenizer and everything else carried over from the GGUF file the model was loaded from, the tensors encoded as
 * F32, F16, Q8_0 or Q4_0, through {@link GgufWriter} (atomically: nothing appears at the target on failure).
 *
 * <p><b>Which tensors get which type</b> (llama.cpp's {@code llama-quantize} defaults, {@code src/llama-quant.cpp},
 * without an importance matrix): 1-D tensors (norm gains, biases) stay F32 in every export. {@code f32}: everything
 * F32. {@code f16}: every 2-D weight F16, the embedding included ({@code convert_hf_to_gguf.py --outtype f16}).
 * {@code q8_0}: every 2-D weight Q8_0, the embedding and the output head included. {@code q4_0}: block weights and an
 * untied embedding Q4_0; the output head, and a tied embedding (which serves as the head), Q8_0 — llama-quantize
 * gives them Q6_K when the hidden size is a multiple of 256 and falls back to Q8_0 otherwise (SmolLM2's 576, Gemma 3
 * 270M's 640); prunelab writes no Q6_K, so Q8_0 always (slightly larger and more precise than Q6_K where that applies).
 * Quantisation is round-to-nearest, bit-identical to ggml's reference quantisers ({@link QuantType}); a linear already
 * held as {@link QuantLinear} of the target type has its block bytes copied as they are (rows moved for llama.cpp's
 * RoPE order where the family needs that).
 *
 * <p><b>Linear formats</b>: dense, CSR and packed N:M weights are written as dense matrices (GGUF has no sparse type:
 * zeros are stored, so a pruned file is as large as a dense one of its type); a {@link LowRankLinear} is written as the
 * dense product {@code B A} of its factors (GGUF has no factored linear; the result says so in a warning).
 *
 * <p><b>Refused up front</b> ({@link PrunelabException.InvalidArgument}, naming what and what to do), by
 * {@link #check} before any pruning and again by {@link #write} before any byte is written: a source that is not a
 * GGUF file (the tokenizer metadata comes from it; a safetensors folder's {@code tokenizer.json} is not converted),
 * a source of another family or vocabulary size, blocks of different widths, biases or variants the family's llama.cpp
 * loader has no place for ({@link Architecture#cannotWriteGguf}), and for Q8_0/Q4_0 a row length (in_features) that is
 * not a multiple of the 32-value block.
 */
public final class GgufExporter {
    /** The types an export can be written in. */
    public static final List<GgmlType> TYPES = List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0);
    /** ggml's quantisation version ({@code GGML_QNT_VERSION}), written as {@code general.quantization_version}. */
    private static final long QUANTIZATION_VERSION = 2;

    private GgufExporter() {}

    /**
     * What an export wrote.
     *
     * @param file        the file
     * @param bytes       its size in bytes
     * @param type        the requested type
     * @param tensorTypes how many tensors of each ggml type it holds
     * @param warnings    what the reader of the file should know (e.g. low-rank factors multiplied out), or empty
     */
    public record Result(Path file, long bytes, GgmlType type, Map<GgmlType, Integer> tensorTypes, List<String> warnings) {
        public Result {
            tensorTypes = Map.copyOf(tensorTypes);
            warnings = List.copyOf(warnings);
        }
    }

    /**
     * The export type named {@code name}: {@code f32}, {@code f16}, {@code q8_0} or {@code q4_0} (any case).
     *
     * @throws PrunelabException.InvalidArgument for any other name, listing these
     */
    public static GgmlType type(String name) {
        for (GgmlType t : TYPES) if (t.name().equalsIgnoreCase(name.trim())) return t;
        throw new PrunelabException.InvalidArgument("${gguf_type} '" + name + "' is not a GGUF export type; use one of "
                + String.join(", ", TYPES.stream().map(t -> t.name().toLowerCase(Locale.ROOT)).toList()));
    }

    /**
     * The metadata of the GGUF file a model was loaded from ({@link org.prunelab.model.LoadedModel#path()}), which an
     * export carries over (tokenizer, chat template, general.*); read from the header only, milliseconds.
     *
     * @throws PrunelabException.InvalidArgument if {@code modelPath} is a safetensors folder: its tokenizer.json is not
     *         converted to GGUF's tokenizer metadata (the message says what to do)
     * @throws PrunelabException.ModelFormat if the file is not valid GGUF
     */
    public static GgufMetadata sourceMetadata(Path modelPath) {
        if (Files.isDirectory(modelPath)) {
            throw new PrunelabException.InvalidArgument("cannot export " + modelPath + " as GGUF: it is a safetensors"
                    + " folder, and prunelab takes a GGUF export's tokenizer (tokenizer.ggml.*, chat template) from the GGUF"
                    + " file the model came from; it does not convert tokenizer.json. Prune the model's .gguf file (e.g. a"
                    + " registered model such as smollm2-135m), or convert the folder with llama.cpp's"
                    + " convert_hf_to_gguf.py");
        }
        try (GgufFile f = GgufFile.open(modelPath)) {
            return f.metadata();   // plain Java values: valid after the mapping is closed
        }
    }

    /**
     * Checks, from the model's shape alone and before any pruning, that an export of the pruned model can be written:
     * the source metadata, the family's llama.cpp loader ({@link Architecture#cannotWriteGguf}), and the row lengths
     * the block types need. What depends on the pruning result is checked again by {@link #write}.
     *
     * @param shape         the model's shape (from {@link ModelLoader#inspect}, or after pruning)
     * @param source        metadata of the GGUF file the model comes from ({@link #sourceMetadata})
     * @param type          one of {@link #TYPES}
     * @param biasOn        the linears that will carry a bias (the method's {@code addsBiasTo()}, plus any the model has)
     * @param varyingWidths whether the method gives blocks different widths (FASP and FLAP with allocation global)
     * @throws PrunelabException.InvalidArgument naming what cannot be written and what to do instead
     */
    public static void check(ModelShape shape, GgufMetadata source, GgmlType type, Set<LinearRole> biasOn,
                             boolean varyingWidths) {
        checkType(type);
        Architecture arch = Architectures.of(shape.config());
        checkSource(arch, shape.config(), source);
        if (varyingWidths) {
            throw refused(arch, "the method gives every block its own widths (allocation global), and llama.cpp's "
                    + arch.ggufArchitecture() + " loader creates every block's tensors with block 0's widths; prune with"
                    + " allocation uniform, or save safetensors");
        }
        arch.cannotWriteGguf(shape, biasOn).ifPresent(why -> { throw refused(arch, why); });
        if (type.blockSize() > 1) {
            checkRow(type, "token_embd (hidden_size)", shape.config().hiddenSize());
            for (int l = 0; l < shape.blocks().size(); l++) {
                for (ModelShape.LinearShape s : shape.linears(l)) checkRow(type, "layer " + l + " " + s.name(), s.inFeatures());
            }
        }
    }

    /**
     * Checks that {@code model} can be exported as {@code type} with {@code source}'s metadata: everything {@link #write}
     * refuses, without writing. Milliseconds.
     *
     * @throws PrunelabException.InvalidArgument naming what cannot be written and what to do instead
     */
    public static void check(DecoderModel model, GgufMetadata source, GgmlType type) {
        for (DecoderBlock b : model.blocks()) {
            for (LinearRole role : LinearRole.values()) {
                try {
                    WeightFormats.of(b.linear(role)); // every registered format decodes to dense
                } catch (IllegalStateException e) {
                    throw new PrunelabException.InvalidArgument("cannot export layer " + b.index() + " " + b.layout().name(role)
                            + " as GGUF: " + e.getMessage());
                }
            }
        }
        check(ModelShape.of(model), source, type, biasedRoles(model), false);
    }

    /**
     * Writes {@code model} to {@code file} as GGUF of {@code type}, with {@code source}'s tokenizer and general metadata
     * (see the class comment for which tensor gets which type). All-or-nothing: a temporary file beside the target,
     * renamed into place when complete.
     *
     * @param file     the .gguf file to create; it must not exist (a model is never overwritten)
     * @param source   metadata of the GGUF file the model was loaded from ({@link #sourceMetadata})
     * @param progress receives one update per tensor written
     * @throws PrunelabException.InvalidArgument for everything {@link #check(DecoderModel, GgufMetadata, GgmlType)}
     *         refuses, or an existing {@code file}; nothing is written then
     * @throws PrunelabException if the file cannot be written; nothing is left at {@code file}
     */
    public static Result write(Path file, DecoderModel model, GgufMetadata source, GgmlType type, Progress progress) {
        check(model, source, type);
        if (Files.exists(file)) {
            throw new PrunelabException.InvalidArgument("GGUF file " + file.toAbsolutePath() + " already exists: remove it"
                    + " or choose another name (prunelab never overwrites a model)");
        }
        Architecture arch = Architectures.of(model.config());
        List<String> warnings = new ArrayList<>();
        GgufWriter w = new GgufWriter();
        for (Map.Entry<String, GgufMetadata.Entry> e
                : metadata(source, arch, PrunedModelWriter.savedConfig(model), type, warnings).entrySet()) {
            w.put(e.getKey(), e.getValue().type(), e.getValue().value());
        }
        List<GgufPlan.Tensor> plan = arch.ggufTensors(model);
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        int lowRank = 0;
        int requantised = 0;
        int[] done = {0};
        for (GgufPlan.Tensor t : plan) {
            GgmlType tt = tensorType(t.category(), type, model.config().tieWordEmbeddings());
            counts.merge(tt, 1, Integer::sum);
            if (t.data() instanceof GgufPlan.Matrix m && WeightFormats.weightLayer(m.linear()) instanceof LowRankLinear) lowRank++;
            if (t.data() instanceof GgufPlan.Matrix m && WeightFormats.weightLayer(m.linear()) instanceof QuantLinear q && tt.blockSize() > 1
                    && q.type().ggmlTypeId() != tt.id()) {
                requantised++;
            }
            GgufWriter.TensorBytes bytes = GgufTensorEncoder.encode(t, tt);
            w.tensor(t.name(), tt, GgufTensorEncoder.ne(t), out -> {
                bytes.writeTo(out);
                progress.update(++done[0], plan.size(), "tensors");
            });
        }
        if (lowRank > 0) {
            warnings.add(lowRank + " low-rank linears written as the dense product B A of their factors: GGUF has no"
                    + " factored linear, so those tensors are as large as dense ones");
        }
        if (requantised > 0) {
            warnings.add(requantised + " linears held as another block type were dequantised and quantised again as " + type
                    + " (each round adds rounding error)");
        }
        long bytes = w.write(file);
        return new Result(file, bytes, type, counts, warnings);
    }

    /** llama-quantize's choice for a tensor of {@code category} in an export of {@code target} (class comment). */
    static GgmlType tensorType(GgufPlan.Category category, GgmlType target, boolean tiedEmbeddings) {
        if (!category.isMatrix()) return GgmlType.F32;
        boolean head = category == GgufPlan.Category.OUTPUT || (category == GgufPlan.Category.TOKEN_EMBD && tiedEmbeddings);
        if (target == GgmlType.Q4_0 && head) return GgmlType.Q8_0;
        return target;
    }

    /** llama.cpp's {@code llama_ftype} of a whole file of {@code type} ({@code general.file_type}). */
    static long fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;   // LLAMA_FTYPE_ALL_F32
            case F16 -> 1;   // LLAMA_FTYPE_MOSTLY_F16
            case Q4_0 -> 2;  // LLAMA_FTYPE_MOSTLY_Q4_0
            case Q8_0 -> 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    // ---- metadata ----

    /**
     * The export's metadata, in the source's key order: the family's {@code <arch>.*} keys for {@code config}
     * (required ones always, optional ones where the source has them; the source's value types kept where the value
     * fits), {@code general.file_type} for {@code type}, and every other source key as it is — {@code general.*},
     * {@code tokenizer.*} (vocabulary, merges, token types, special token ids, add_bos_token, chat template).
     * Source keys of the family that prunelab does not produce, and {@code quantize.*} / {@code split.*} (stale after
     * re-encoding into one file), are dropped with a warning.
     */
    static Map<String, GgufMetadata.Entry> metadata(GgufMetadata source, Architecture arch, DecoderConfig config,
                                                    GgmlType type, List<String> warnings) {
        String prefix = arch.ggufArchitecture() + ".";
        Map<String, GgufPlan.Key> produced = new LinkedHashMap<>();
        for (GgufPlan.Key k : arch.ggufKeys(config)) produced.put(k.key(), k);
        String lastArchKey = null;
        for (String k : source.keys()) if (k.startsWith(prefix)) lastArchKey = k;
        Map<String, GgufMetadata.Entry> out = new LinkedHashMap<>();
        List<String> dropped = new ArrayList<>();
        for (String k : source.keys()) {
            GgufMetadata.Entry e = source.entry(k);
            if (k.startsWith(prefix)) {
                GgufPlan.Key p = produced.get(k);
                if (p != null) out.put(k, entry(p, e.type()));
                else dropped.add(k);
            } else if (k.startsWith("quantize.") || k.startsWith("split.")) {
                dropped.add(k);
            } else if (k.equals("general.file_type")) {
                out.put(k, new GgufMetadata.Entry(GgufValueType.UINT32, fileType(type)));
            } else {
                out.put(k, e);
            }
            if (k.equals(lastArchKey)) addMissing(out, produced, source);
        }
        if (lastArchKey == null) addMissing(out, produced, source);
        out.putIfAbsent("general.file_type", new GgufMetadata.Entry(GgufValueType.UINT32, fileType(type)));
        if (type.blockSize() > 1) {
            out.putIfAbsent("general.quantization_version", new GgufMetadata.Entry(GgufValueType.UINT32, QUANTIZATION_VERSION));
        }
        if (!dropped.isEmpty()) {
            warnings.add("source metadata keys not carried over (prunelab does not describe them for " + arch.name()
                    + ", or they are stale after re-encoding): " + String.join(", ", dropped));
        }
        return out;
    }

    private static void addMissing(Map<String, GgufMetadata.Entry> out, Map<String, GgufPlan.Key> produced, GgufMetadata source) {
        for (GgufPlan.Key p : produced.values()) {
            if (p.required() && !source.contains(p.key())) out.put(p.key(), entry(p, p.type()));
        }
    }

    /** {@code key}'s value as {@code type} (the source's type) where it fits, else as the key's own type. */
    private static GgufMetadata.Entry entry(GgufPlan.Key key, GgufValueType type) {
        Object v = key.value();
        if (v instanceof Double d) {
            return type == GgufValueType.FLOAT64 ? new GgufMetadata.Entry(type, d)
                    : new GgufMetadata.Entry(GgufValueType.FLOAT32, d.floatValue());
        }
        if (v instanceof Long l && fits(type, l)) return new GgufMetadata.Entry(type, l);
        return new GgufMetadata.Entry(key.type(), v);
    }

    private static boolean fits(GgufValueType t, long v) {
        return switch (t) {
            case UINT8 -> v >= 0 && v <= 0xFF;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xFFFF;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xFFFF_FFFFL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            case UINT64 -> v >= 0;
            case INT64 -> true;
            default -> false;
        };
    }

    // ---- checks ----

    private static void checkType(GgmlType type) {
        if (!TYPES.contains(type)) {
            throw new PrunelabException.InvalidArgument("cannot export as GGUF " + type + ": prunelab writes "
                    + String.join(", ", TYPES.stream().map(t -> t.name().toLowerCase(Locale.ROOT)).toList())
                    + " (${gguf_type})");
        }
    }

    private static void checkSource(Architecture arch, DecoderConfig config, GgufMetadata source) {
        if (source == null) {
            throw refused(arch, "no source GGUF metadata was given: the export takes its tokenizer from the GGUF file the"
                    + " model was loaded from (GgufExporter.sourceMetadata)");
        }
        String sourceArch = source.getString("general.architecture", "(none)");
        if (!sourceArch.equals(arch.ggufArchitecture())) {
            throw refused(arch, "the source metadata is of architecture '" + sourceArch + "', the model of '"
                    + arch.ggufArchitecture() + "'; pass the metadata of the GGUF file the model was loaded from");
        }
        if (!source.contains("tokenizer.ggml.model") || !source.contains("tokenizer.ggml.tokens")) {
            throw refused(arch, "the source GGUF has no tokenizer (tokenizer.ggml.model / tokens), which llama.cpp needs;"
                    + " use a GGUF converted by llama.cpp's convert_hf_to_gguf.py");
        }
        int tokens = source.arrayLength("tokenizer.ggml.tokens");
        if (tokens != config.vocabSize()) {
            throw refused(arch, "the source tokenizer has " + tokens + " tokens but the model's embedding " + config.vocabSize()
                    + " rows, and llama.cpp requires them equal; pass the metadata of the GGUF file the model was loaded from");
        }
    }

    private static void checkRow(GgmlType type, String what, int rowLength) {
        if (rowLength % type.blockSize() != 0) {
            throw new PrunelabException.InvalidArgument("cannot export as GGUF " + type + ": " + what + " has rows of "
                    + rowLength + " values (in_features), not a multiple of the " + type.blockSize() + "-value " + type
                    + " block; export with ${gguf_type} f16 or f32, or prune to widths that are multiples of "
                    + type.blockSize());
        }
    }

    private static PrunelabException.InvalidArgument refused(Architecture arch, String why) {
        return new PrunelabException.InvalidArgument("cannot export the " + arch.name() + " model as GGUF: " + why);
    }

    /** The linears that carry a bias, by role. */
    static Set<LinearRole> biasedRoles(DecoderModel model) {
        EnumSet<LinearRole> roles = EnumSet.noneOf(LinearRole.class);
        for (DecoderBlock b : model.blocks()) {
            for (LinearRole role : LinearRole.values()) {
                Linear l = b.linear(role);
                if (WeightFormats.bias(l) != null) roles.add(role);
            }
        }
        return roles;
    }
}
