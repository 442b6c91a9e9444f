package org.prunelab.sweep;

import org.prunelab.run.RunResult;
import java.util.List;
import java.util.Optional;

/**
 * What {@link SweepRunner#run} did.
 *
 * @param spec      the sweep
 * @param results   a result for every point that has one (run now or by an earlier, resumed invocation), in
 *                  spec order
 * @param ran       points run by this invocation
 * @param skipped   points skipped because a finished run with their key was found
 * @param failures  one line per point that failed ("name: message"); those points have no result
 * @param parentRunId the MLflow id of this invocation's parent run, when it reached the server
 */
public record SweepOutcome(SweepSpec spec, List<RunResult> results, int ran, int skipped, List<String> failures,
                           Optional<String> parentRunId) {
    public SweepOutcome {
        results = List.copyOf(results);
        failures = List.copyOf(failures);
    }

    /** Points finished by an earlier invocation whose results are not on this machine (run elsewhere). */
    public int missingResults() {
        return spec.points().size() - results.size() - failures.size();
    }
}
