package org.prunelab.model;

import org.prunelab.PrunelabException;
import org.prunelab.data.Tokenizer;
import org.prunelab.io.HfConfigJson;
import org.prunelab.io.HfConfigJson.Extras;
import org.prunelab.io.LlamaTensorNames;
import org.prunelab.io.SafetensorsWriter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a (pruned) model as a Hugging Face checkpoint directory that both transformers'
 * {@code AutoModelForCausalLM.from_pretrained(dir)} and {@link ModelLoader#load} read:
 * {@code model.safetensors} (F32, Hugging Face tensor names; q/k rows are already in Hugging Face's RoPE
 * layout in memory, so nothing is permuted; with tied embeddings no {@code lm_head.weight} is written, as
 * {@code save_pretrained} does), {@code config.json} ({@link HfConfigJson}), {@code tokenizer.json}, and any
 * extra text files given (e.g. {@code prune_report.json}).
 *
 * <p>All-or-nothing: the files go into a hidden temporary sibling directory ({@code .NAME.partial-*}) that is
 * renamed to the target only when complete, so an interrupted run never leaves a partial target directory
 * (a kill during the write itself can leave the hidden sibling behind).
 */
public final class PrunedModelWriter {
    private PrunedModelWriter() {}

    /**
     * Fails fast, before hours of work, if {@code dir} cannot be written later: it must not exist yet, and
     * its parent must exist or be creatable and accept a new directory.
     *
     * @throws PrunelabException.InvalidArgument if dir already exists
     * @throws PrunelabException if the parent is not writable
     */
    public static void checkWritable(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        if (Files.exists(target)) {
            throw new PrunelabException.InvalidArgument("output directory " + target + " already exists: remove it or"
                    + " choose another ${out} (prunelab never overwrites a model)");
        }
        Path parent = target.getParent();
        try {
            Files.createDirectories(parent);
            Path probe = Files.createTempDirectory(parent, "." + target.getFileName() + ".probe-");
            Files.delete(probe);
        } catch (IOException | UnsupportedOperationException e) {
            throw new PrunelabException("output directory " + target + " cannot be written: " + e
                    + ". Choose an ${out} in a writable folder.", e);
        }
    }

    private static String partialPrefix(Path target) {
        return "." + target.getFileName() + ".partial-";
    }

    /**
     * Deletes {@code .NAME.partial-PID-*} siblings of target left by a save whose process PID no longer runs
     * (killed with SIGKILL, which skips the shutdown hook). Folders of running processes are left alone.
     */
    static void removeStalePartials(Path target) throws IOException {
        String prefix = partialPrefix(target);
        try (var siblings = Files.list(target.getParent())) {
            for (Path p : siblings.toList()) {
                String name = p.getFileName().toString();
                if (!name.startsWith(prefix) || !Files.isDirectory(p)) continue;
                String rest = name.substring(prefix.length());
                int dash = rest.indexOf('-');
                if (dash <= 0) continue;
                long pid;
                try {
                    pid = Long.parseLong(rest.substring(0, dash));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (ProcessHandle.of(pid).isEmpty()) deleteTree(p);
            }
        }
    }

    /**
     * Writes {@code model} and {@code tokenizer} to {@code dir}, with {@code extraFiles} (file name to UTF-8
     * text) beside them, atomically.
     *
     * @throws PrunelabException.InvalidArgument if dir already exists
     * @throws PrunelabException if a file cannot be written; nothing is left at {@code dir}
     */
    public static void write(Path dir, LlamaModel model, Tokenizer tokenizer, Map<String, String> extraFiles) {
        checkWritable(dir);
        Path target = dir.toAbsolutePath().normalize();
        Path tmp = null;
        Thread cleanup = null;
        try {
            removeStalePartials(target);
            tmp = Files.createTempDirectory(target.getParent(), partialPrefix(target) + ProcessHandle.current().pid() + "-");
            // Ctrl-C or kill (SIGTERM) while saving runs shutdown hooks: remove the partial folder then too.
            // SIGKILL cannot be caught: the folder's name carries this process's id, so the next save to the same
            // target removes it once that process is gone (removeStalePartials).
            Path partial = tmp;
            cleanup = new Thread(() -> deleteTree(partial), "prunelab-partial-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            weights(model).write(tmp.resolve(SafetensorsWriter.SINGLE_FILE));
            HfConfigJson.write(savedConfig(model), extras(model), tmp.resolve("config.json"));
            tokenizer.writeTokenizerJson(tmp.resolve("tokenizer.json"));
            for (Map.Entry<String, String> e : extraFiles.entrySet()) {
                Files.writeString(tmp.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
            }
            openUp(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
            tmp = null;
        } catch (FileAlreadyExistsException e) {
            throw new PrunelabException.InvalidArgument("output directory " + target + " appeared while writing:"
                    + " choose another ${out}");
        } catch (IOException e) {
            throw new PrunelabException("cannot write the model to " + target + ": " + e
                    + ". Check that the folder is writable and the disk has room.", e);
        } finally {
            deleteTree(tmp);
            if (cleanup != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanup);
                } catch (IllegalStateException shuttingDown) {
                    // the JVM is already exiting; the hook does the cleanup
                }
            }
        }
    }

    /**
     * The tensors to save, Hugging Face names in the order of {@code model.safetensors} saved by transformers.
     * Structured pruning's extras: if any attention (MLP) linear has a bias, every attention (MLP) linear gets one,
     * zeros where it had none, because transformers' {@code attention_bias} ({@code mlp_bias}) switches them on
     * for all four (three); a {@link LowRankLinear} is saved as {@code <prefix>.lowrank_a} {@code [rank, in]} and
     * {@code <prefix>.lowrank_b} {@code [out, rank]}, which only prunelab reads.
     */
    static SafetensorsWriter weights(LlamaModel model) {
        Extras extras = extras(model);
        SafetensorsWriter w = new SafetensorsWriter();
        w.add(LlamaTensorNames.EMBED_TOKENS, model.embedTokens());
        for (DecoderBlock b : model.blocks()) {
            int l = b.index();
            w.add(LlamaTensorNames.layerWeight(l, LlamaTensorNames.INPUT_LAYERNORM), b.inputLayernorm().weight());
            for (Map.Entry<String, Linear> e : b.linears().entrySet()) {
                String stem = stem(e.getKey());
                boolean biased = ATTENTION.contains(e.getKey()) ? extras.attentionBias() : extras.mlpBias();
                switch (e.getValue()) {
                    case DenseLinear dense -> {
                        w.add(LlamaTensorNames.layerWeight(l, stem), dense.weight());
                        if (biased) {
                            float[] bias = dense.bias() != null ? dense.bias() : new float[dense.outFeatures()];
                            w.add(LlamaTensorNames.layerBias(l, stem), bias);
                        }
                    }
                    case LowRankLinear lowRank -> {
                        String prefix = "model.layers." + l + "." + stem;
                        w.add(prefix + ".lowrank_a", lowRank.a());
                        w.add(prefix + ".lowrank_b", lowRank.b());
                    }
                    default -> throw new PrunelabException.InvalidArgument("layer " + l + " " + e.getKey() + " is "
                            + e.getValue() + "; only dense and low-rank linears can be saved");
                }
            }
            w.add(LlamaTensorNames.layerWeight(l, LlamaTensorNames.POST_ATTENTION_LAYERNORM), b.postAttentionLayernorm().weight());
        }
        w.add(LlamaTensorNames.NORM, model.norm().weight());
        if (!model.config().tieWordEmbeddings()) w.add(LlamaTensorNames.LM_HEAD, ((DenseLinear) model.lmHead()).weight());
        return w;
    }

    private static final java.util.Set<String> ATTENTION = java.util.Set.of("q_proj", "k_proj", "v_proj", "o_proj");

    /**
     * The config to save: when every block has the same widths, the config with exactly those (a standard Hugging
     * Face checkpoint); otherwise the model's config, whose widths bound every block's, with the per-block widths
     * in {@link #extras}.
     */
    static LlamaConfig savedConfig(LlamaModel model) {
        LlamaConfig c = model.config();
        java.util.Set<BlockShape> shapes = new java.util.HashSet<>();
        for (DecoderBlock b : model.blocks()) shapes.add(b.shape());
        if (shapes.size() != 1) return c;
        BlockShape s = shapes.iterator().next();
        return new LlamaConfig(c.hiddenSize(), s.intermediateSize(), model.blocks().size(), s.numAttentionHeads(),
                s.numKeyValueHeads(), c.headDim(), c.vocabSize(), c.maxPositionEmbeddings(), c.rmsNormEps(), c.ropeTheta(),
                c.ropeScaling(), c.tieWordEmbeddings(), c.bosTokenId(), c.eosTokenId());
    }

    /** Biases, per-block widths (only when blocks differ) and the low-rank marker of {@code model}. */
    static Extras extras(LlamaModel model) {
        boolean attentionBias = false;
        boolean mlpBias = false;
        boolean lowRank = false;
        java.util.List<BlockShape> shapes = new java.util.ArrayList<>();
        for (DecoderBlock b : model.blocks()) {
            shapes.add(b.shape());
            for (Map.Entry<String, Linear> e : b.linears().entrySet()) {
                if (e.getValue() instanceof DenseLinear d && d.bias() != null) {
                    if (ATTENTION.contains(e.getKey())) attentionBias = true; else mlpBias = true;
                }
                if (e.getValue() instanceof LowRankLinear) lowRank = true;
            }
        }
        boolean uniform = new java.util.HashSet<>(shapes).size() <= 1;
        return new Extras(attentionBias, mlpBias, uniform ? null : shapes, lowRank);
    }

    private static String stem(String linearName) {
        return switch (linearName) {
            case "q_proj" -> LlamaTensorNames.Q_PROJ;
            case "k_proj" -> LlamaTensorNames.K_PROJ;
            case "v_proj" -> LlamaTensorNames.V_PROJ;
            case "o_proj" -> LlamaTensorNames.O_PROJ;
            case "gate_proj" -> LlamaTensorNames.GATE_PROJ;
            case "up_proj" -> LlamaTensorNames.UP_PROJ;
            case "down_proj" -> LlamaTensorNames.DOWN_PROJ;
            default -> throw new IllegalStateException("no tensor name for linear " + linearName);
        };
    }

    /** Temporary files and directories are owner-only; a saved model is as readable as any new file. */
    private static void openUp(Path dir) throws IOException {
        try (Stream<Path> paths = Files.list(dir)) {
            for (Path p : paths.toList()) Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException notPosix) {
            // non-POSIX file systems keep their default permissions
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null) return;
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: the original failure is what the caller reports
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
