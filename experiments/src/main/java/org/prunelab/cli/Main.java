package org.prunelab.cli;

import org.prunelab.PrunelabException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The prunelab command line. Every subcommand prints human-readable text by default and one JSON
 * object on stdout with {@code --json}; progress goes to stderr. A {@link PrunelabException} is printed
 * as one line without a stack trace and exits with status 1; a usage error exits with status 2.
 */
@Command(name = "prunelab", mixinStandardHelpOptions = true, version = "prunelab 0.1.0",
        description = "Prune large language models and measure what it costs and buys.",
        subcommands = {SetupCommand.class, EvalCommand.class, BenchCommand.class, TradeoffCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns its exit status (tests call this instead of {@link #main}). */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof PrunelabException) {
                cmd.getErr().println("error: " + ex.getMessage());
                cmd.getErr().flush();
                return 1;
            }
            throw ex;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
