package org.prunelab.arch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.data.Tokenizer;
import org.prunelab.io.PageRelease;
import org.prunelab.io.SafetensorsFile;
import org.prunelab.io.SafetensorsWriter;
import org.prunelab.model.BlockResidency;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LinearRole;
import org.prunelab.prune.PruneOptions;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Hugging Face checkpoint folder written one block at a time, as the streaming pipeline prunes: each block that
 * {@link #accept}s is written at once to its own shard ({@code model-0000{l+2}-of-0000{n+1}.safetensors}, F32, the
 * family's names as {@link PrunedModelWriter} writes them) and replaced in the result by a
 * {@linkplain DecoderBlock#streamedFrom streamed} handle that reads it back from that shard when needed, so the pruned
 * model never exists in memory as a whole. {@link #finish} adds shard 1 (embedding, final norm, LM head), the
 * {@code model.safetensors.index.json} that transformers' {@code from_pretrained} follows, {@code config.json},
 * {@code tokenizer.json} and the run's files.
 *
 * <p>All-or-nothing, as {@link PrunedModelWriter}: everything goes into a hidden temporary sibling
 * ({@code .NAME.partial-PID-*}) renamed to the target only by {@link #finish}; {@link #close()} without a finish, a
 * failure, Ctrl-C or SIGTERM remove it, and after a SIGKILL the next save to the same target does. The shards stay open
 * (memory-mapped, pages released after each read) until {@link #close()}, also after the rename.
 */
public final class StreamedCheckpoint implements PruneOptions.BlockSink, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path target;
    private final Architecture arch;
    private final HfConfig.Export flags;
    private final int blocks;
    private final BlockResidency residency;
    private final Map<String, String> weightMap = new TreeMap<>();
    private final List<SafetensorsFile> shards = new ArrayList<>();
    private final Thread cleanup;
    private Path tmp;
    private long totalBytes;
    private boolean finished;

    private StreamedCheckpoint(Path target, Path tmp, Architecture arch, HfConfig.Export flags, int blocks,
                               BlockResidency residency, Thread cleanup) {
        this.target = target;
        this.tmp = tmp;
        this.arch = arch;
        this.flags = flags;
        this.blocks = blocks;
        this.residency = residency;
        this.cleanup = cleanup;
    }

    /**
     * Starts a checkpoint at {@code out} for a model of {@code config}'s family with {@code blocks} blocks.
     *
     * @param attentionBias whether every attention linear is saved with a bias (the source has them, or the method adds
     *                      them); a block's linear without one gets zeros, as transformers expects
     * @param mlpBias       the same for the MLP linears
     * @param residency     bounds how many written blocks are read back into memory at once
     * @throws PrunelabException.InvalidArgument if {@code out} exists
     * @throws PrunelabException if its folder cannot be written
     */
    public static StreamedCheckpoint begin(Path out, DecoderConfig config, int blocks, boolean attentionBias, boolean mlpBias,
                                           BlockResidency residency) {
        PrunedModelWriter.checkWritable(out);
        Path target = out.toAbsolutePath().normalize();
        try {
            PrunedModelWriter.removeStalePartials(target);
            Path tmp = Files.createTempDirectory(target.getParent(), PrunedModelWriter.partialPrefix(target)
                    + ProcessHandle.current().pid() + "-");
            Thread cleanup = new Thread(() -> PrunedModelWriter.deleteTree(tmp), "prunelab-partial-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            return new StreamedCheckpoint(target, tmp, Architectures.of(config),
                    new HfConfig.Export(attentionBias, mlpBias, null, false), blocks, residency, cleanup);
        } catch (IOException e) {
            throw new PrunelabException("cannot start writing the model to " + target + ": " + e
                    + ". Check that the folder is writable and the disk has room.", e);
        }
    }

    /** The shard file name of 1-based shard {@code i}. */
    private String shardName(int i) {
        return String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i, blocks + 1);
    }

    /**
     * Writes {@code block} to its shard now and returns its streamed handle.
     *
     * @throws PrunelabException if the shard cannot be written (disk full, ...): the partial folder is removed
     * @throws IllegalStateException after {@link #finish} or {@link #close}, or for a block index out of range
     */
    @Override
    public synchronized DecoderBlock accept(DecoderBlock block) {
        if (tmp == null || finished) throw new IllegalStateException("checkpoint " + target + " is closed");
        if (block.index() < 0 || block.index() >= blocks) {
            throw new IllegalStateException("block " + block.index() + " of a checkpoint of " + blocks + " blocks");
        }
        Path shard = tmp.resolve(shardName(block.index() + 2));
        SafetensorsWriter w = new SafetensorsWriter();
        arch.addHfBlockTensors(w, block, flags);
        SafetensorsFile file;
        try {
            w.write(shard);
            file = SafetensorsFile.open(shard);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        shards.add(file);
        for (SafetensorsFile.TensorInfo t : file.tensors()) {
            weightMap.put(t.name(), shard.getFileName().toString());
            totalBytes += t.end() - t.begin();
        }
        org.prunelab.model.TensorNames names = arch.hfNames();
        int l = block.index();
        org.prunelab.model.BlockLayout layout = block.layout(); // the reader must not capture the block (its weights)
        return block.streamedFrom(() -> {
            Map<String, Linear> linears = new LinkedHashMap<>();
            for (LinearRole role : LinearRole.values()) {
                String prefix = names.linear(l, role);
                FloatMatrix weight = file.matrix(prefix + ".weight");
                PageRelease.release(file.data(file.info(prefix + ".weight")));
                float[] bias = null;
                if (file.names().contains(prefix + ".bias")) {
                    bias = file.vector(prefix + ".bias");
                    PageRelease.release(file.data(file.info(prefix + ".bias")));
                }
                linears.put(layout.name(role), new DenseLinear(weight, bias));
            }
            return linears;
        }, residency);
    }

    /**
     * Completes the folder and renames it to the target: shard 1 with the embedding, final norm and LM head of
     * {@code model}, the index, {@code config.json} (per-block widths when they differ), {@code tokenizer.json} and
     * {@code extraFiles} (name to UTF-8 text). Every block must have been accepted.
     *
     * @return the target folder
     * @throws PrunelabException if a file cannot be written or the target appeared meanwhile; nothing is left there
     * @throws IllegalStateException if a block is missing
     */
    public synchronized Path finish(DecoderModel model, Tokenizer tokenizer, Map<String, String> extraFiles) {
        if (tmp == null || finished) throw new IllegalStateException("checkpoint " + target + " is closed");
        if (model.blocks().size() != blocks || shards.size() != blocks) {
            throw new IllegalStateException(shards.size() + " of " + blocks + " blocks were written to " + target);
        }
        try {
            SafetensorsWriter w = new SafetensorsWriter();
            arch.addHfFinalTensors(w, model, true);
            Path first = tmp.resolve(shardName(1));
            w.write(first);
            try (SafetensorsFile f = SafetensorsFile.open(first)) {
                for (SafetensorsFile.TensorInfo t : f.tensors()) {
                    weightMap.put(t.name(), first.getFileName().toString());
                    totalBytes += t.end() - t.begin();
                }
            }
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", totalBytes);
            ObjectNode map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            Files.writeString(tmp.resolve(SafetensorsWriter.INDEX_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
            List<BlockShape> shapes = model.blocks().stream().map(DecoderBlock::shape).toList();
            HfConfig.Export export = new HfConfig.Export(flags.attentionBias(), flags.mlpBias(),
                    new java.util.HashSet<>(shapes).size() <= 1 ? null : shapes, false);
            HfConfig.write(arch.writeHfConfig(PrunedModelWriter.savedConfig(model), export), tmp.resolve("config.json"));
            tokenizer.writeTokenizerJson(tmp.resolve("tokenizer.json"));
            for (Map.Entry<String, String> e : extraFiles.entrySet()) {
                Files.writeString(tmp.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
            }
            PrunedModelWriter.openUp(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
            tmp = target;
            finished = true;
            removeHook();
            return target;
        } catch (FileAlreadyExistsException e) {
            close();
            throw new PrunelabException.InvalidArgument("output directory " + target + " appeared while writing: choose another ${out}");
        } catch (IOException e) {
            close();
            throw new PrunelabException("cannot write the model to " + target + ": " + e
                    + ". Check that the folder is writable and the disk has room.", e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The folder being written (the hidden temporary one until {@link #finish}, then the target). */
    public synchronized Path folder() { return tmp; }

    /** Closes the shards; without a {@link #finish}, removes the partial folder. */
    @Override
    public synchronized void close() {
        for (SafetensorsFile f : shards) f.close();
        shards.clear();
        if (!finished && tmp != null) {
            PrunedModelWriter.deleteTree(tmp);
            tmp = null;
            removeHook();
        }
    }

    private void removeHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is exiting; the hook removes the partial folder
        }
    }
}
