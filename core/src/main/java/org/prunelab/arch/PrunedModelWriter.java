package org.prunelab.arch;

import org.prunelab.PrunelabException;
import org.prunelab.data.Tokenizer;
import org.prunelab.io.SafetensorsWriter;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LowRankLinear;
import org.prunelab.tensor.Linear;

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
 * {@code model.safetensors} (F32, the family's Hugging Face tensor names and layout, from its {@link Architecture};
 * q/k rows are already in Hugging Face's RoPE layout in memory; with tied embeddings no {@code lm_head.weight} is
 * written, as {@code save_pretrained} does), {@code config.json} ({@link Architecture#writeHfConfig}),
 * {@code tokenizer.json}, and any extra text files given (e.g. {@code prune_report.json}).
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

    static String partialPrefix(Path target) {
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
    public static void write(Path dir, DecoderModel model, Tokenizer tokenizer, Map<String, String> extraFiles) {
        checkSavable(model.config(), biasedRoles(model), null, dir);
        writeAtomically(dir, extraFiles, tmp -> {
            Architecture arch = Architectures.of(model.config());
            HfConfig.Export export = export(model);
            arch.hfTensors(model, export).write(tmp.resolve(SafetensorsWriter.SINGLE_FILE));
            HfConfig.write(arch.writeHfConfig(savedConfig(model), export), tmp.resolve("config.json"));
            tokenizer.writeTokenizerJson(tmp.resolve("tokenizer.json"));
        });
    }

    /** The GGUF file's name in a folder {@link #writeGguf} writes. */
    public static final String GGUF_FILE = "model.gguf";

    /**
     * Writes {@code model} to {@code dir} as {@value #GGUF_FILE} ({@link GgufExporter#write}: the family's metadata,
     * the source GGUF's tokenizer and chat template, tensors of {@code type}), with {@code extraFiles} beside it,
     * atomically: the folder appears complete or not at all.
     *
     * @throws PrunelabException.InvalidArgument if dir already exists, or for what {@link GgufExporter#check} refuses
     * @throws PrunelabException if a file cannot be written; nothing is left at {@code dir}
     */
    public static GgufExporter.Result writeGguf(Path dir, DecoderModel model, org.prunelab.io.GgufMetadata source,
                                                org.prunelab.io.GgmlType type, Map<String, String> extraFiles,
                                                org.prunelab.Progress progress) {
        GgufExporter.check(model, source, type);
        GgufExporter.Result[] result = new GgufExporter.Result[1];
        writeAtomically(dir, extraFiles, tmp -> result[0] = GgufExporter.write(tmp.resolve(GGUF_FILE), model, source, type, progress));
        Path file = dir.toAbsolutePath().normalize().resolve(GGUF_FILE);
        GgufExporter.Result r = result[0];
        return new GgufExporter.Result(file, r.bytes(), r.type(), r.tensorTypes(), r.warnings());
    }

    /** Fills a folder's contents into a temporary sibling of {@code dir}. */
    private interface Filler {
        void fill(Path tmp) throws IOException;
    }

    /**
     * Creates {@code dir} with what {@code filler} writes plus {@code extraFiles} (name to UTF-8 text): everything goes
     * into a temporary sibling that is renamed to {@code dir} when complete, and is removed on failure, on Ctrl-C or
     * SIGTERM (a shutdown hook), or after SIGKILL by the next save to the same target.
     */
    private static void writeAtomically(Path dir, Map<String, String> extraFiles, Filler filler) {
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
            filler.fill(tmp);
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

    /** The tensors {@link #write} saves, in order (the family's Hugging Face names). */
    static SafetensorsWriter weights(DecoderModel model) {
        return Architectures.of(model.config()).hfTensors(model, export(model));
    }

    /**
     * The config to save: when every block has the same widths, the config with exactly those (a standard Hugging
     * Face checkpoint); otherwise the model's config, whose widths bound every block's, with the per-block widths
     * in {@link #export}. Per-layer attention types follow the blocks (ShortGPT may have removed some).
     */
    static DecoderConfig savedConfig(DecoderModel model) {
        DecoderConfig c = model.config();
        java.util.List<String> layerTypes = null;
        if (c.variant().layerTypes() != null) {
            layerTypes = model.blocks().stream().map(b -> b.slidingWindow() > 0
                    ? DecoderConfig.Variant.SLIDING_ATTENTION : DecoderConfig.Variant.FULL_ATTENTION).toList();
        }
        java.util.Set<BlockShape> shapes = new java.util.HashSet<>();
        for (DecoderBlock b : model.blocks()) shapes.add(b.shape());
        if (shapes.size() != 1) {
            return c.withShape(c.intermediateSize(), model.blocks().size(), c.numAttentionHeads(), c.numKeyValueHeads(), layerTypes);
        }
        BlockShape s = shapes.iterator().next();
        return c.withShape(s.intermediateSize(), model.blocks().size(), s.numAttentionHeads(), s.numKeyValueHeads(), layerTypes);
    }

    /**
     * Biases, per-block widths (only when blocks differ) and the low-rank marker of {@code model}: if any attention
     * (MLP) linear has a bias, the checkpoint switches biases on for all of them, as transformers' flags do.
     */
    static HfConfig.Export export(DecoderModel model) {
        boolean attentionBias = false;
        boolean mlpBias = false;
        boolean lowRank = false;
        java.util.List<BlockShape> shapes = new java.util.ArrayList<>();
        for (DecoderBlock b : model.blocks()) {
            shapes.add(b.shape());
            for (LinearRole role : LinearRole.values()) {
                Linear l = b.linear(role);
                if (org.prunelab.format.WeightFormats.bias(l) != null) {
                    if (role.isAttention()) attentionBias = true; else mlpBias = true;
                }
                if (org.prunelab.format.WeightFormats.weightLayer(l) instanceof LowRankLinear) lowRank = true;
            }
        }
        boolean uniform = new java.util.HashSet<>(shapes).size() <= 1;
        return new HfConfig.Export(attentionBias, mlpBias, uniform ? null : shapes, lowRank);
    }

    /**
     * Refuses, before any work, to save a model of {@code config}'s family whose linears {@code biasOn} carry biases
     * the family's checkpoints cannot hold (e.g. FLAP's on down_proj for Gemma 3, on o_proj and down_proj for Qwen2).
     *
     * @param method the method that adds the biases, for the message (null when the model already has them)
     * @throws PrunelabException.InvalidArgument naming the architecture, the linears and what to do
     */
    public static void checkSavable(DecoderConfig config, java.util.Set<LinearRole> biasOn, String method, Path dir) {
        Architectures.of(config).cannotSave(biasOn).ifPresent(why -> {
            throw new PrunelabException.InvalidArgument("cannot save " + (method == null ? "the model" : "a " + method
                    + "-pruned " + config.architecture() + " model") + " to " + dir + ": " + why + "; run it"
                    + " without saving (a point of a sweep spec, or prune(...) in a notebook, which keeps the model in"
                    + " memory), or use a method that adds no bias there (fasp restores by least squares instead)");
        });
    }

    /**
     * The linears of {@code model} that carry a bias, by role: what {@link Architecture#cannotSave} checks.
     */
    public static java.util.Set<LinearRole> biasedRoles(DecoderModel model) {
        java.util.EnumSet<LinearRole> roles = java.util.EnumSet.noneOf(LinearRole.class);
        for (DecoderBlock b : model.blocks()) {
            for (LinearRole role : LinearRole.values()) if (org.prunelab.format.WeightFormats.bias(b.linear(role)) != null) roles.add(role);
        }
        return roles;
    }

    /** Temporary files and directories are owner-only; a saved model is as readable as any new file. */
    static void openUp(Path dir) throws IOException {
        try (Stream<Path> paths = Files.list(dir)) {
            for (Path p : paths.toList()) Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException notPosix) {
            // non-POSIX file systems keep their default permissions
        }
    }

    static void deleteTree(Path dir) {
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
