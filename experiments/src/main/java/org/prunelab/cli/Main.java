package org.prunelab.cli;

import org.prunelab.PrunelabException;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Command;

/**
 * The prunelab command line. Every subcommand prints human-readable text by default and one JSON
 * object on stdout with {@code --json}; progress goes to stderr. A {@link PrunelabException} is printed
 * as one line without a stack trace and exits with status 1; a usage error exits with status 2.
 */
@Command(name = "prunelab", mixinStandardHelpOptions = true, version = "prunelab 0.1.0",
        description = "Prune large language models and measure what it costs and buys.",
        subcommands = {SetupCommand.class, EvalCommand.class, PruneCommand.class, BenchCommand.class, TradeoffCommand.class,
                MethodsCommand.class, FormatsCommand.class, QuantizeCommand.class, MlflowCommand.class, KernelCommand.class,
                SynthCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** netlib announces its BLAS backend at INFO on every start; keep a reference so the level sticks. */
    private static final java.util.logging.Logger NETLIB_LOG = java.util.logging.Logger.getLogger("dev.ludovic.netlib");

    static {
        NETLIB_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI on stdout/stderr and returns its exit status. */
    public static int execute(String... args) {
        return execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the CLI with the given streams and returns its exit status (tests call this). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        PruneCommand.addMethodOptions(cli.getSubcommands().get("prune").getCommandSpec());
        cli.setOut(out);
        cli.setErr(err);
        boolean json = java.util.Arrays.asList(args).contains("--json");
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            UnaryOperator<String> spelling = cmd.getCommand() instanceof Spelling.Spelled s ? s.spelling() : Spelling.PRUNE;
            String message;
            String type;
            if (ex instanceof PrunelabException p) {
                message = p.message(spelling);
                type = p.getClass() == PrunelabException.class ? "Error" : p.getClass().getSimpleName();
            } else if (ex instanceof java.io.UncheckedIOException || ex instanceof java.io.IOException) {
                // A file that cannot be read or written is the user's to fix; no stack trace for it.
                Throwable io = ex instanceof java.io.UncheckedIOException u ? u.getCause() : ex;
                message = (ex.getMessage() != null && ex != io ? ex.getMessage() + ": " : "") + io.getMessage()
                        + " (" + io.getClass().getSimpleName() + ")";
                type = "IO";
            } else if (json) {
                // A defect, not a user error: the stack trace goes to stderr, and --json still gets its error object.
                ex.printStackTrace(cmd.getErr());
                report(cmd, true, "InternalError", ex.toString());
                return 1;
            } else {
                throw ex;
            }
            report(cmd, json, type, message);
            return 1;
        });
        cli.setParameterExceptionHandler((ex, strings) -> {
            CommandLine cmd = ex.getCommandLine();
            report(cmd, json, "Usage", ex.getMessage());
            if (!json) {
                cmd.getErr().println("Run 'prunelab " + cmd.getCommandSpec().qualifiedName(" ").replaceFirst("^prunelab ?", "")
                        + " --help' for the options.");
                cmd.getErr().flush();
            }
            return 2;
        });
        return cli.execute(args);
    }

    /**
     * An error as one line on stderr ({@code error: ...}) and, with {@code --json}, as a JSON object on stdout:
     * {@code {"error": {"type": "InvalidArgument", "message": "...", "command": "prune"}}}.
     */
    private static void report(CommandLine cmd, boolean json, String type, String message) {
        cmd.getErr().println("error: " + message);
        cmd.getErr().flush();
        if (json) {
            var o = JsonOutput.object();
            o.putObject("error").put("type", type).put("message", message).put("command", cmd.getCommandName());
            JsonOutput.print(cmd.getOut(), o);
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
