package org.prunelab.arch;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.io.GgmlType;
import org.prunelab.io.GgufMetadata;
import org.prunelab.io.GgufValueType;
import org.prunelab.io.GgufWriter;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.LinearRole;
import org.prunelab.model.NormRole;
import org.prunelab.model.TensorNames;
import org.prunelab.model.Transformer;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Writes a GGUF file of seeded random weights in a real model's shape — Llama-2-7B, Qwen2-7B, a 1B Llama — so memory
 * and time can be measured at a scale no real model reachable here has (issue: models bigger than memory). Random
 * weights are for memory and time only: no quality number ever comes from them.
 *
 * <p>The file is what llama.cpp's converter would write for the family (its {@code <arch>.*} keys from
 * {@link Architecture#ggufKeys}, its tensor names and order), with block weights in one type (Q8_0, Q4_0, F16 or F32),
 * the output head as llama-quantize types it (Q8_0 in a Q4_0 file), norms and biases F32. Weights are uniform on
 * {@code [-a, a]} with standard deviation 0.02 (transformers' initialiser scale; uniform rather than normal because 7
 * billion normal draws take minutes), norm gains 1, generated tensor by tensor from {@code seed} and the tensor's name,
 * so the file never exists in memory. The tokenizer is a donor's (SmolLM2's byte-level BPE, from its GGUF): cut to the
 * shape's vocabulary (tokens past it, and merges that make or use them, dropped) or padded with unused tokens.
 */
public final class SyntheticGguf {
    private static final double STD = 0.02;
    private static final int CHUNK_ROWS = 256;

    private SyntheticGguf() {}

    /**
     * A model shape.
     *
     * @param family        a registered architecture with a Llama-style block ({@code llama}, {@code qwen2})
     * @param hiddenSize    hidden_size
     * @param layers        num_hidden_layers
     * @param intermediate  intermediate_size
     * @param heads         num_attention_heads
     * @param kvHeads       num_key_value_heads
     * @param vocab         vocab_size
     * @param context       max_position_embeddings
     * @param ropeTheta     rope_theta
     * @param tied          tie_word_embeddings
     * @param qkvBias       whether q/k/v carry biases (Qwen2)
     */
    public record Shape(String family, int hiddenSize, int layers, int intermediate, int heads, int kvHeads, int vocab,
                        int context, double ropeTheta, boolean tied, boolean qkvBias) {

        /**
         * @throws PrunelabException.InvalidArgument naming the first inconsistency: a non-positive size, heads not
         *         dividing hidden_size, key/value heads not dividing heads, an odd head_dim (RoPE rotates pairs), or a
         *         row length (hidden_size, intermediate_size) that is not a whole number of 32-weight blocks
         */
        public void check() {
            Map<String, Integer> sizes = new LinkedHashMap<>();
            sizes.put("hidden_size", hiddenSize);
            sizes.put("num_hidden_layers", layers);
            sizes.put("intermediate_size", intermediate);
            sizes.put("num_attention_heads", heads);
            sizes.put("num_key_value_heads", kvHeads);
            sizes.put("vocab_size", vocab);
            sizes.put("max_position_embeddings", context);
            sizes.forEach((k, v) -> {
                if (v < 1) throw new PrunelabException.InvalidArgument("shape: " + k + " must be positive, got " + v);
            });
            if (!family.equals("llama") && !family.equals("qwen2")) {
                throw new PrunelabException.InvalidArgument("shape: family " + family + " is not generated; use llama or qwen2");
            }
            if (hiddenSize % heads != 0) {
                throw new PrunelabException.InvalidArgument("shape: num_attention_heads " + heads + " does not divide hidden_size "
                        + hiddenSize + " (head_dim = hidden_size / heads must be whole); choose heads that divide it");
            }
            if (heads % kvHeads != 0) {
                throw new PrunelabException.InvalidArgument("shape: num_key_value_heads " + kvHeads + " does not divide"
                        + " num_attention_heads " + heads + " (each key/value head serves a whole group of query heads)");
            }
            if ((hiddenSize / heads) % 2 != 0) {
                throw new PrunelabException.InvalidArgument("shape: head_dim " + hiddenSize / heads + " is odd; RoPE rotates"
                        + " pairs of dimensions, so head_dim must be even");
            }
            if (hiddenSize % 32 != 0 || intermediate % 32 != 0) {
                throw new PrunelabException.InvalidArgument("shape: hidden_size " + hiddenSize + " and intermediate_size "
                        + intermediate + " must be multiples of 32 (GGUF's Q8_0/Q4_0 blocks hold 32 weights of a row)");
            }
        }

        /** head_dim. */
        public int headDim() { return hiddenSize / heads; }

        /** Parameters of the blocks' linears (weights and biases). */
        public long linearParameters() {
            long q = (long) heads * headDim(), kv = (long) kvHeads * headDim(), h = hiddenSize;
            long perBlock = q * h + 2 * kv * h + h * q + 3L * intermediate * h + (qkvBias ? q + 2 * kv : 0);
            return perBlock * layers;
        }

        /** All parameters: blocks, norms, embedding, LM head unless tied. */
        public long parameters() {
            long emb = (long) vocab * hiddenSize;
            return linearParameters() + (long) layers * 2 * hiddenSize + hiddenSize + emb + (tied ? 0 : emb);
        }

        /** The config this shape loads as. */
        public DecoderConfig config() {
            return new DecoderConfig(family, hiddenSize, intermediate, layers, heads, kvHeads, headDim(), vocab, context,
                    family.equals("qwen2") ? 1e-6 : 1e-5, ropeTheta, null, tied, 1, 2, DecoderConfig.Variant.LLAMA);
        }
    }

    /** The registered shapes, by name. */
    public static final Map<String, Shape> SHAPES = shapes();

    private static Map<String, Shape> shapes() {
        Map<String, Shape> m = new LinkedHashMap<>();
        // Llama-2-7B: meta-llama/Llama-2-7b-hf config.json.
        m.put("llama2-7b", new Shape("llama", 4096, 32, 11008, 32, 32, 32000, 4096, 10000, false, false));
        // Qwen2-7B: Qwen/Qwen2-7B config.json (GQA 28/4, q/k/v biases, untied head).
        m.put("qwen2-7b", new Shape("qwen2", 3584, 28, 18944, 28, 4, 152064, 32768, 1_000_000, false, true));
        // A 1B Llama (Llama-3.2-1B's widths: 16 blocks, GQA 32/8, tied embedding; its 128k vocabulary).
        m.put("llama-1b", new Shape("llama", 2048, 16, 8192, 32, 8, 128256, 8192, 500_000, true, false));
        return m;
    }

    /**
     * The shape named {@code name}.
     *
     * @throws PrunelabException.InvalidArgument for an unknown name, listing the known ones
     */
    public static Shape shape(String name) {
        Shape s = SHAPES.get(name.strip().toLowerCase(Locale.ROOT));
        if (s == null) {
            throw new PrunelabException.InvalidArgument("unknown shape '" + name + "': use " + String.join(", ", SHAPES.keySet())
                    + ", or give every size (--hidden-size, --layers, ...)");
        }
        return s;
    }

    /**
     * Writes the model of {@code shape} to {@code file} (created; must not exist), atomically.
     *
     * @param type      the block weights' type: Q8_0, Q4_0, F16 or F32
     * @param donor     the GGUF metadata whose {@code tokenizer.*} keys are adapted to the shape's vocabulary
     * @param progress  one update per tensor
     * @return bytes written
     * @throws PrunelabException.InvalidArgument for an inconsistent shape, another type, an existing file, or a donor
     *         without a byte-level BPE tokenizer
     * @throws PrunelabException if the file cannot be written (nothing is left at {@code file})
     */
    public static long write(Path file, Shape shape, GgmlType type, long seed, GgufMetadata donor, Progress progress) {
        shape.check();
        if (type != GgmlType.Q8_0 && type != GgmlType.Q4_0 && type != GgmlType.F16 && type != GgmlType.F32) {
            throw new PrunelabException.InvalidArgument("synthetic weights are written as q8_0, q4_0, f16 or f32, not " + type);
        }
        if (Files.exists(file)) {
            throw new PrunelabException.InvalidArgument(file.toAbsolutePath() + " already exists: remove it or choose another --out");
        }
        DecoderConfig config = shape.config();
        StandardArchitecture arch = (StandardArchitecture) Architectures.of(config);
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", arch.ggufArchitecture());
        w.putString("general.name", "prunelab synthetic " + shape.family() + " " + shape.hiddenSize() + "x" + shape.layers()
                + " (random weights, seed " + seed + ")");
        for (GgufPlan.Key k : arch.ggufKeys(config)) {
            Object v = k.value() instanceof Double d ? (Object) d.floatValue() : k.value();
            w.put(k.key(), k.type(), v);
        }
        w.putUint32("general.file_type", GgufExporter.fileType(type));
        if (type.blockSize() > 1) w.putUint32("general.quantization_version", 2);
        tokenizer(w, donor, shape.vocab());

        TensorNames names = arch.hfNames();
        Map<String, String> gguf = arch.ggufNames(config);
        int h = shape.hiddenSize(), q = shape.heads() * shape.headDim(), kv = shape.kvHeads() * shape.headDim();
        GgmlType headType = type == GgmlType.Q4_0 ? GgmlType.Q8_0 : type;
        int total = 2 + (shape.tied() ? 0 : 1) + shape.layers() * (9 + (shape.qkvBias() ? 3 : 0));
        int[] done = {0};
        Runnable tick = () -> progress.update(++done[0], total, "tensors");
        // llama-quantize keeps a tied embedding (it is also the head) at Q8_0 in a Q4_0 file.
        matrix(w, gguf.get(names.embedTokens()), shape.vocab(), h, shape.tied() ? headType : type, seed, tick);
        for (int l = 0; l < shape.layers(); l++) {
            Map<LinearRole, int[]> dims = new LinkedHashMap<>();
            dims.put(LinearRole.Q, new int[]{q, h});
            dims.put(LinearRole.K, new int[]{kv, h});
            dims.put(LinearRole.V, new int[]{kv, h});
            dims.put(LinearRole.O, new int[]{h, q});
            dims.put(LinearRole.GATE, new int[]{shape.intermediate(), h});
            dims.put(LinearRole.UP, new int[]{shape.intermediate(), h});
            dims.put(LinearRole.DOWN, new int[]{h, shape.intermediate()});
            for (NormRole role : Transformer.normRoles(config.variant())) {
                vector(w, gguf.get(names.norm(l, role)), h, 1f, 0, seed, tick);
            }
            for (Map.Entry<LinearRole, int[]> e : dims.entrySet()) {
                String hf = names.linear(l, e.getKey());
                matrix(w, gguf.get(hf + ".weight"), e.getValue()[0], e.getValue()[1], type, seed, tick);
                if (shape.qkvBias() && e.getKey().isAttention() && e.getKey() != LinearRole.O) {
                    vector(w, gguf.get(hf + ".bias"), e.getValue()[0], 0f, STD, seed, tick);
                }
            }
        }
        vector(w, gguf.get(names.finalNorm()), h, 1f, 0, seed, tick);
        if (!shape.tied()) matrix(w, gguf.get(names.lmHead()), shape.vocab(), h, headType, seed, tick);
        long bytes = w.write(file);
        progress.finish();
        return bytes;
    }

    /** A {@code [rows, cols]} matrix of uniform values with std 0.02, generated and encoded 256 rows at a time. */
    private static void matrix(GgufWriter w, String name, int rows, int cols, GgmlType type, long seed, Runnable tick) {
        w.tensor(name, type, new long[]{cols, rows}, out -> {
            SplittableRandom rnd = new SplittableRandom(seed ^ (long) name.hashCode() * 0x9E3779B97F4A7C15L);
            double a = STD * Math.sqrt(3);
            for (int r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
                int n = Math.min(CHUNK_ROWS, rows - r0);
                float[] v = new float[n * cols];
                for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * rnd.nextDouble() - 1) * a);
                writeChunk(out, v, n, cols, type);
            }
            tick.run();
        });
    }

    private static void writeChunk(WritableByteChannel out, float[] v, int rows, int cols, GgmlType type) throws IOException {
        switch (type) {
            case F32 -> GgufWriter.TensorBytes.f32(v).writeTo(out);
            case F16 -> GgufWriter.TensorBytes.f16(v).writeTo(out);
            case Q8_0, Q4_0 -> {
                QuantMatrix m = QuantMatrix.quantize(type == GgmlType.Q8_0 ? QuantType.Q8_0 : QuantType.Q4_0,
                        new FloatMatrix(rows, cols, v));
                GgufWriter.TensorBytes.of(m.blocks()).writeTo(out);
            }
            default -> throw new IllegalStateException(type.toString());
        }
    }

    /** An F32 vector of {@code value}, plus uniform noise of std {@code std} when positive. */
    private static void vector(GgufWriter w, String name, int length, float value, double std, long seed, Runnable tick) {
        float[] v = new float[length];
        SplittableRandom rnd = new SplittableRandom(seed ^ (long) name.hashCode() * 0x9E3779B97F4A7C15L);
        for (int i = 0; i < length; i++) v[i] = value + (std > 0 ? (float) ((2 * rnd.nextDouble() - 1) * std * Math.sqrt(3)) : 0f);
        w.tensor(name, GgmlType.F32, new long[]{length}, out -> {
            GgufWriter.TensorBytes.f32(v).writeTo(out);
            tick.run();
        });
    }

    /**
     * The donor's {@code tokenizer.*} keys with a vocabulary of exactly {@code vocab} tokens: the first {@code vocab}
     * of the donor's (merges are kept only when both parts and their concatenation are kept; byte-level BPE still
     * spells any text with the 256 byte tokens at the front) or all of them plus unused {@code <|synthetic_i|>} tokens.
     */
    static void tokenizer(GgufWriter w, GgufMetadata donor, int vocab) {
        if (!donor.contains("tokenizer.ggml.model") || !"gpt2".equals(donor.getString("tokenizer.ggml.model"))) {
            throw new PrunelabException.InvalidArgument("the tokenizer donor must be a byte-level BPE GGUF (tokenizer.ggml.model gpt2),"
                    + " e.g. SmolLM2-135M's");
        }
        List<String> tokens = new ArrayList<>(donor.getStringArray("tokenizer.ggml.tokens"));
        int[] types = donor.contains("tokenizer.ggml.token_type") ? donor.getIntArray("tokenizer.ggml.token_type") : null;
        List<String> merges = donor.contains("tokenizer.ggml.merges") ? donor.getStringArray("tokenizer.ggml.merges") : List.of();
        List<Object> typeList = new ArrayList<>();
        for (int i = 0; i < vocab; i++) typeList.add((long) (types != null && i < types.length ? types[i] : 1));
        if (tokens.size() > vocab) {
            tokens = new ArrayList<>(tokens.subList(0, vocab));
        } else {
            for (int i = tokens.size(); i < vocab; i++) {
                tokens.add("<|synthetic_" + i + "|>");
                typeList.set(i, 5L); // LLAMA_TOKEN_TYPE_UNUSED
            }
        }
        Set<String> kept = new HashSet<>(tokens);
        List<Object> keptMerges = new ArrayList<>();
        for (String m : merges) {
            int sp = m.indexOf(' ');
            if (sp <= 0) continue;
            String a = m.substring(0, sp), b = m.substring(sp + 1);
            if (kept.contains(a) && kept.contains(b) && kept.contains(a + b)) keptMerges.add(m);
        }
        for (String k : donor.keys()) {
            if (!k.startsWith("tokenizer.")) continue;
            switch (k) {
                case "tokenizer.ggml.tokens" -> w.putArray(k, GgufValueType.STRING, tokens);
                case "tokenizer.ggml.token_type" -> w.putArray(k, GgufValueType.INT32, typeList);
                case "tokenizer.ggml.merges" -> w.putArray(k, GgufValueType.STRING, keptMerges);
                case "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                     "tokenizer.ggml.padding_token_id" -> {
                    long id = ((Number) donor.get(k)).longValue();
                    if (id < vocab) w.put(k, donor.type(k), donor.get(k));
                }
                case "tokenizer.chat_template" -> { } // a donor's template would not fit a random model
                default -> w.put(k, donor.type(k), donor.get(k));
            }
        }
    }
}
