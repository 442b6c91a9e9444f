package org.prunelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of a Hugging Face checkpoint directory: either {@code model.safetensors} or a
 * {@code model.safetensors.index.json} whose {@code weight_map} names the shard holding each tensor (the
 * single file wins when both exist, as in transformers). Tensor names are the file's (Hugging Face's) and
 * weights already {@code [out_features, in_features]}; F16 and BF16 are widened to fp32. Weights saved in
 * compressed-tensors' {@code sparse-bitmask} format ({@code P.shape}, {@code P.compressed}, {@code P.bitmask},
 * {@code P.row_offsets}) appear as the dense {@code P.weight} they encode and are decompressed when read
 * ({@link SparseBitmaskTensors}). The directory's
 * {@code config.json} is read by the model's {@code Architecture}, not here.
 */
public final class SafetensorsTensorSource implements TensorSource {
    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;
    /** sparse-bitmask weights by dense name; their part tensors are hidden from {@link #names()}. */
    private final Map<String, SparseBitmaskTensors.Entry> compressed;
    private final Set<String> names;

    private SafetensorsTensorSource(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.dir = dir;
        this.files = files;
        this.byName = Collections.unmodifiableMap(byName);
        this.compressed = SparseBitmaskTensors.find(byName);
        Set<String> visible = new java.util.LinkedHashSet<>();
        for (String n : byName.keySet()) {
            if (!SparseBitmaskTensors.isPart(n, compressed)) visible.add(n);
            else if (n.endsWith(SparseBitmaskTensors.BITMASK)) visible.add(n.substring(0, n.length() - SparseBitmaskTensors.BITMASK.length()) + ".weight");
        }
        this.names = Collections.unmodifiableSet(visible);
    }

    /**
     * Opens checkpoint directory {@code dir}.
     *
     * @throws PrunelabException.ModelFormat if the weights are missing or malformed, a shard named
     *                                       by the index is missing or lacks a tensor, or two shards hold the same name
     */
    public static SafetensorsTensorSource open(Path dir) {
        Path single = dir.resolve(SafetensorsWriter.SINGLE_FILE);
        Path index = dir.resolve(SafetensorsWriter.INDEX_FILE);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        try {
            if (Files.isRegularFile(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                files.add(f);
                for (String n : f.names()) byName.put(n, f);
            } else if (Files.isRegularFile(index)) {
                openShards(dir, index, files, byName);
            } else {
                String pickled = TensorSource.pickleWeights(dir);
                throw new PrunelabException.ModelFormat("checkpoint directory " + dir + " has neither "
                        + SafetensorsWriter.SINGLE_FILE + " nor " + SafetensorsWriter.INDEX_FILE
                        + (pickled == null ? ". Save the model with save_pretrained(..., safe_serialization=True) or pass a .gguf file."
                        : "; it holds " + pickled + TensorSource.PICKLE_REFUSAL));
            }
            return new SafetensorsTensorSource(dir, files, byName);
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static void openShards(Path dir, Path index, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        JsonNode weightMap;
        try {
            weightMap = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new PrunelabException.ModelFormat("cannot read shard index " + index + ": " + e.getMessage()
                    + ". Restore the index saved with the checkpoint.", e);
        }
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new PrunelabException.ModelFormat("shard index " + index + " has no weight_map object. Restore the"
                    + " index saved with the checkpoint.");
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        for (var e : (Iterable<Map.Entry<String, JsonNode>>) weightMap::fields) {
            String shardName = e.getValue().asText();
            Path shardPath = dir.resolve(shardName).normalize();
            if (!shardPath.startsWith(dir.normalize()) || shardName.contains("/")) {
                throw new PrunelabException.ModelFormat("shard index " + index + " maps '" + e.getKey() + "' to '"
                        + shardName + "', which is not a file in " + dir + ". Restore the index saved with the checkpoint.");
            }
            SafetensorsFile shard = shards.get(shardName);
            if (shard == null) {
                if (!Files.isRegularFile(shardPath)) {
                    throw new PrunelabException.ModelFormat("shard index " + index + " names shard " + shardName
                            + " (for '" + e.getKey() + "'), but " + shardPath + " does not exist. Copy all shards of"
                            + " the checkpoint.");
                }
                shard = SafetensorsFile.open(shardPath);
                shards.put(shardName, shard);
                files.add(shard);
            }
            if (!shard.names().contains(e.getKey())) {
                throw new PrunelabException.ModelFormat("shard index " + index + " says '" + e.getKey() + "' is in "
                        + shardName + ", but that shard does not hold it. The index and shards are from different saves.");
            }
        }
        for (SafetensorsFile shard : shards.values()) {
            for (String n : shard.names()) {
                SafetensorsFile before = byName.putIfAbsent(n, shard);
                if (before != null) {
                    throw new PrunelabException.ModelFormat("tensor '" + n + "' appears in both " + before.path()
                            + " and " + shard.path() + ". The shards are from different saves; re-save the checkpoint.");
                }
            }
        }
    }

    /** The checkpoint directory. */
    public Path directory() { return dir; }

    @Override
    public Set<String> names() { return names; }

    /** Whether {@code hfName} is stored in sparse-bitmask form (it still reads as a dense matrix). */
    public boolean isSparseBitmask(String hfName) { return compressed.containsKey(hfName); }

    @Override
    public FloatMatrix matrix(String hfName) {
        SparseBitmaskTensors.Entry e = compressed.get(hfName);
        if (e == null) return fileFor(hfName).matrix(hfName);
        long[] shape = SparseBitmaskTensors.shape(e);
        if (shape.length != 2) throw notRank(hfName, shape, 2);
        return new FloatMatrix((int) shape[0], (int) shape[1], SparseBitmaskTensors.decompress(e));
    }

    @Override
    public float[] vector(String hfName) {
        SparseBitmaskTensors.Entry e = compressed.get(hfName);
        if (e == null) return fileFor(hfName).vector(hfName);
        long[] shape = SparseBitmaskTensors.shape(e);
        if (shape.length != 1) throw notRank(hfName, shape, 1);
        return SparseBitmaskTensors.decompress(e);
    }

    private PrunelabException.ModelFormat notRank(String name, long[] shape, int rank) {
        return new PrunelabException.ModelFormat("checkpoint " + dir + ": sparse-bitmask tensor '" + name + "' has shape "
                + java.util.Arrays.toString(shape) + " where " + rank + " dimension(s) were expected. The checkpoint"
                + " does not match the architecture.");
    }

    @Override
    public java.util.Optional<long[]> shape(String hfName) {
        SparseBitmaskTensors.Entry e = compressed.get(hfName);
        if (e != null) return java.util.Optional.of(SparseBitmaskTensors.shape(e));
        SafetensorsFile f = byName.get(hfName);
        return f == null ? java.util.Optional.empty() : java.util.Optional.of(f.info(hfName).shape());
    }

    @Override
    public void evict(String hfName) {
        SafetensorsFile f = byName.get(hfName);
        if (f != null && !compressed.containsKey(hfName)) PageRelease.release(f.data(f.info(hfName)));
    }

    private SafetensorsFile fileFor(String hfName) {
        SafetensorsFile f = byName.get(hfName);
        if (f == null) {
            throw new PrunelabException.ModelFormat("checkpoint " + dir + " has no tensor '" + hfName + "'; "
                    + NearbyNames.describe(hfName, byName.keySet()) + ". Check the name, or that the checkpoint is a"
                    + " complete checkpoint of its family.");
        }
        return f;
    }

    @Override
    public void close() { files.forEach(SafetensorsFile::close); }

    @Override
    public String toString() { return "SafetensorsTensorSource[" + dir + "]"; }
}
