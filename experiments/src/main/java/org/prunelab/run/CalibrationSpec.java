package org.prunelab.run;

import java.util.List;

/**
 * The calibration set of one run: {@code nsamples} windows of {@code seqlen} tokens sampled (with the run's seed)
 * from the calibration split of {@code dataset} (a {@link org.prunelab.data.Datasets} name), as the Wanda and
 * SparseGPT reference code does (REFERENCE.md "Calibration").
 *
 * <p>{@code dataset} may list several datasets separated by commas ({@code udhr:eng,udhr:swh,udhr:yor}: a multilingual
 * calibration set): the windows are spread over them as {@link org.prunelab.prune.CalibrationData#shares} says
 * ({@code nsamples / k} from each, the remainder to the first ones), each sampled with its own seed
 * ({@link org.prunelab.prune.CalibrationData#seedOf}), and each window keeps the language of its dataset. The list is kept
 * as that one comma-joined string, so the spec (and the run key) of a single dataset is what it always was, and MLflow's
 * {@code calib_dataset} names every dataset. A dataset name cannot itself contain a comma here.
 */
public record CalibrationSpec(String dataset, int nsamples, int seqlen) {
    /** The separator of a dataset list. */
    public static final String SEPARATOR = ",";

    /** {@code dataset} with the datasets of a list joined by {@link #SEPARATOR}, blanks around them removed. */
    public CalibrationSpec {
        if (dataset != null && dataset.contains(SEPARATOR)) dataset = join(List.of(dataset.split(SEPARATOR, -1)));
    }

    /**
     * Several datasets as one spec's {@code dataset}.
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument if the list is empty, has an empty name or names one twice
     */
    public static String join(List<String> datasets) {
        List<String> names = datasets.stream().map(String::strip).toList();
        if (names.isEmpty() || names.stream().anyMatch(String::isEmpty)) {
            throw new org.prunelab.PrunelabException.InvalidArgument("${calib.dataset} '" + String.join(SEPARATOR, datasets)
                    + "' has an empty name: list datasets separated by commas, e.g. udhr:eng,udhr:swh,udhr:yor");
        }
        if (names.stream().distinct().count() < names.size()) {
            throw new org.prunelab.PrunelabException.InvalidArgument("${calib.dataset} '" + String.join(SEPARATOR, names)
                    + "' names a dataset twice: list each once");
        }
        return String.join(SEPARATOR, names);
    }

    /** The datasets, in order: one for a plain spec, several for a comma list. */
    public List<String> datasets() {
        return List.of(dataset.split(SEPARATOR));
    }
    /** The CLI's default: 128 windows of 512 tokens of Brown. */
    public static final CalibrationSpec DEFAULT = new CalibrationSpec("brown", 128, 512);

    /** e.g. {@code brown 16x128}. */
    public String label() {
        return dataset + " " + nsamples + "x" + seqlen;
    }
}
