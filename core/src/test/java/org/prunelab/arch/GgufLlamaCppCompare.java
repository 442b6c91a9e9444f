package org.prunelab.arch;

import org.prunelab.Progress;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Document;
import org.prunelab.data.Split;
import org.prunelab.data.Window;
import org.prunelab.data.Windows;
import org.prunelab.eval.LlamaCppPerplexity;
import org.prunelab.eval.Perplexity;
import org.prunelab.io.GgmlType;
import org.prunelab.io.GgufMetadata;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.LoadedModel;
import org.prunelab.prune.CalibrationData;
import org.prunelab.prune.Method;
import org.prunelab.prune.Methods;
import org.prunelab.prune.PruneOptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Not a test: the prunelab side of the llama.cpp comparison ({@code tools/gguf/llamacpp_perplexity.sh} runs it, then
 * {@code llama-perplexity} on the files it writes). For a registered model it builds the variants (dense, Wanda 50%,
 * Wanda 2:4, FASP 25% uniform; calibration on Brown), exports each to GGUF with {@link GgufExporter}, writes the Brown
 * evaluation text llama-perplexity reads, and measures prunelab's perplexity on the same text two ways: prunelab's
 * protocol ({@link Perplexity}: non-overlapping windows, every position scored) and llama-perplexity's
 * ({@link LlamaCppPerplexity}: chunks with BOS in front where the tokenizer adds one, second half scored) — the latter
 * on the in-memory model and on the GGUF file read back (for Q8_0: prunelab's forward over the dequantised blocks).
 *
 * <p>Arguments {@code key=value}: {@code out} (folder), {@code model} (smollm2-135m), {@code variants}
 * (dense,wanda50,wanda24,fasp25; also flap25u: FLAP 25% uniform, whose o_proj/down_proj biases only a llama file
 * holds), {@code types} (f32,q8_0), {@code nctx} (512), {@code chunks} (16), {@code nsamples} (16),
 * {@code calib_seqlen} (512). Prints a TSV; writes {@code text.txt}, {@code tokens.i32} (prunelab's token ids of it,
 * little-endian int32) and {@code prunelab.tsv} into {@code out}.
 */
public final class GgufLlamaCppCompare {
    private GgufLlamaCppCompare() {}

    public static void main(String[] args) throws IOException {
        Map<String, String> a = new LinkedHashMap<>(Map.of("model", "smollm2-135m", "variants", "dense,wanda50,wanda24,fasp25",
                "types", "f32,q8_0", "nctx", "512", "chunks", "16", "nsamples", "16", "calib_seqlen", "512"));
        for (String arg : args) a.put(arg.substring(0, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
        Path out = Files.createDirectories(Path.of(a.get("out")));
        int nCtx = Integer.parseInt(a.get("nctx"));
        int chunks = Integer.parseInt(a.get("chunks"));
        PrunelabHome home = PrunelabHome.fromEnvironment();
        Path tsv = out.resolve("prunelab.tsv");
        if (!Files.exists(tsv)) Files.writeString(tsv, "model\tvariant\ttype\tweights\tprotocol\tperplexity\tscored_tokens\n");

        try (LoadedModel dense = ModelLoader.load(a.get("model"), home)) {
            GgufMetadata source = GgufExporter.sourceMetadata(dense.path());
            Corpus brown = Datasets.resolve("brown", home);
            String text = String.join(Windows.JOIN, brown.part(Split.EVALUATION).stream().map(Document::text).toList());
            Files.writeString(out.resolve("text.txt"), text);   // no trailing newline: llama-perplexity strips one
            int[] tokens = dense.tokenizer().encodeWithDefaults(text);
            writeInts(out.resolve("tokens.i32"), tokens);
            int bos = dense.tokenizer().addBosToken() ? dense.tokenizer().bosTokenId().orElseThrow() : -1;
            List<int[]> llamaChunks = LlamaCppPerplexity.chunks(tokens, nCtx, chunks, bos);
            List<int[]> windows = new ArrayList<>();
            for (int i = 0; i < llamaChunks.size(); i++) windows.add(Arrays.copyOfRange(tokens, i * nCtx, (i + 1) * nCtx));
            System.err.printf("%s: %d tokens (add_bos %s), %d chunks of %d%n", a.get("model"), tokens.length, bos >= 0,
                    llamaChunks.size(), nCtx);

            List<Window> calib = null;
            for (String variant : a.get("variants").split(",")) {
                DecoderModel model = dense.model();
                if (!variant.equals("dense")) {
                    if (calib == null) {
                        calib = CalibrationData.sample(brown, dense.tokenizer()::encodeWithDefaults,
                                Integer.parseInt(a.get("nsamples")), Integer.parseInt(a.get("calib_seqlen")), 0);
                    }
                    long t0 = System.nanoTime();
                    model = prune(variant, dense.model(), calib.stream().map(Window::tokens).toList());
                    System.err.printf("%s: pruned in %.1f s%n", variant, (System.nanoTime() - t0) / 1e9);
                }
                String name = a.get("model");
                record(tsv, name, variant, "f32", "memory", "prunelab",
                        Perplexity.evaluate(model::tokenNll, windows, Progress.NONE).perplexity(), (long) windows.size() * (nCtx - 1));
                LlamaCppPerplexity.Result mem = LlamaCppPerplexity.evaluate(model::tokenNll, llamaChunks, Progress.NONE);
                record(tsv, name, variant, "f32", "memory", "llama-perplexity", mem.perplexity(), mem.scoredTokens());
                for (String typeName : a.get("types").split(",")) {
                    GgmlType type = GgufExporter.type(typeName);
                    Path file = out.resolve(name + "-" + variant + "-" + typeName + ".gguf");
                    Files.deleteIfExists(file);
                    GgufExporter.Result r = GgufExporter.write(file, model, source, type, Progress.NONE);
                    System.err.printf("%s: %s, %d bytes, %s%s%n", variant, file.getFileName(), r.bytes(), r.tensorTypes(),
                            r.warnings().isEmpty() ? "" : " warnings " + r.warnings());
                    if (type == GgmlType.F32) continue;   // read back it is the in-memory model exactly (GgufExporterTest)
                    try (LoadedModel back = ModelLoader.load(file.toString(), home)) {
                        DecoderModel m = back.model();
                        record(tsv, name, variant, typeName, "gguf", "prunelab",
                                Perplexity.evaluate(m::tokenNll, windows, Progress.NONE).perplexity(), (long) windows.size() * (nCtx - 1));
                        LlamaCppPerplexity.Result g = LlamaCppPerplexity.evaluate(m::tokenNll, llamaChunks, Progress.NONE);
                        record(tsv, name, variant, typeName, "gguf", "llama-perplexity", g.perplexity(), g.scoredTokens());
                    }
                }
            }
        }
    }

    private static DecoderModel prune(String variant, DecoderModel dense, List<int[]> calib) {
        Map<String, Object> params = switch (variant) {
            case "wanda50" -> Map.of("sparsity", 0.5);
            case "wanda24" -> Map.of("pattern", "2:4");
            case "fasp25" -> Map.of("sparsity", 0.25, "allocation", "uniform");
            case "flap25u" -> Map.of("sparsity", 0.25, "allocation", "uniform");   // o_proj / down_proj biases
            default -> throw new IllegalArgumentException("unknown variant " + variant);
        };
        Method m = Methods.byName(variant.replaceAll("[0-9u]+$", ""));
        return m.create(m.args(params)).prune(dense, calib, PruneOptions.keepInput(Progress.NONE)).model();
    }

    private static void record(Path tsv, String model, String variant, String type, String weights, String protocol,
                               double ppl, long scored) throws IOException {
        String line = String.join("\t", model, variant, type, weights, protocol, String.format(Locale.ROOT, "%.4f", ppl),
                Long.toString(scored));
        System.out.println(line);
        Files.writeString(tsv, line + "\n", StandardOpenOption.APPEND);
    }

    private static void writeInts(Path f, int[] v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(v);
        Files.write(f, b.array());
    }
}
