package org.prunelab.kernel;

import jdk.jshell.JShell;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.spi.ExecutionControl;
import jdk.jshell.spi.ExecutionControlProvider;
import jdk.jshell.spi.ExecutionEnv;
import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.HelpLink;
import org.dflib.jjava.jupyter.kernel.JupyterIO;
import org.dflib.jjava.jupyter.kernel.LanguageInfo;
import org.dflib.jjava.jupyter.kernel.ReplacementOptions;
import org.dflib.jjava.jupyter.kernel.comm.CommManager;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.magic.LineMagic;
import org.dflib.jjava.jupyter.kernel.magic.MagicParser;
import org.dflib.jjava.jupyter.kernel.magic.MagicTranspiler;
import org.dflib.jjava.jupyter.kernel.magic.MagicsRegistry;
import org.dflib.jjava.jupyter.kernel.util.PathsHandler;
import org.dflib.jjava.jupyter.kernel.util.StringStyler;
import org.dflib.jjava.jupyter.kernel.util.TextColor;
import org.dflib.jjava.jupyter.messages.Message;
import org.dflib.jjava.jupyter.messages.publish.PublishError;
import org.dflib.jjava.jupyter.messages.publish.PublishExecuteInput;
import org.dflib.jjava.jupyter.messages.publish.PublishExecuteResult;
import org.dflib.jjava.jupyter.messages.reply.ErrorReply;
import org.dflib.jjava.jupyter.messages.reply.ExecuteReply;
import org.dflib.jjava.jupyter.messages.request.ExecuteRequest;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The prunelab Jupyter kernel: Java cells run in JShell inside the kernel's JVM, with prunelab (core,
 * experiments, the notebook facade) and its libraries on the class path and {@link #STARTUP_IMPORTS}
 * already imported. Protocol, display and magics come from {@code org.dflib.jjava:jjava-jupyter};
 * execution is ours ({@link CellExecutionControl}, {@link CellEvaluator}).
 *
 * <p>Magics: {@code %classpath <paths or globs>} adds jars or class folders (and any renderers they
 * register). Maven resolution ({@code %maven}) lives in JJava modules that Maven Central does not serve,
 * so it is not offered.
 *
 * <p>Errors show as one short line, {@code InvalidArgument: --seqlen 9000 is above ...}, not a stack trace;
 * an interrupt (Jupyter's "stop" button, {@code interrupt_mode: message}) stops the running cell and
 * leaves the kernel's state intact.
 */
public final class PrunelabKernel extends BaseKernel {

    /** What every notebook starts with: the facade, Tablesaw tables, XChart charts, the display helpers. */
    static final List<String> STARTUP_IMPORTS = List.of(
            "import java.util.*;",
            "import java.util.stream.*;",
            "import java.nio.file.*;",
            "import org.prunelab.notebook.*;",
            "import static org.prunelab.notebook.Prunelab.*;",
            "import tech.tablesaw.api.*;",
            "import org.knowm.xchart.*;",
            "import static org.dflib.jjava.jupyter.kernel.BaseNotebookStatics.display;",
            "import static org.dflib.jjava.jupyter.kernel.BaseNotebookStatics.updateDisplay;");

    private final KernelIO kernelIO;
    private final JShell shell;
    private final CellExecutionControl control;
    private final CellEvaluator evaluator;

    private PrunelabKernel(KernelIO io, MagicsRegistry magics, String version) {
        super("prunelab", version,
                new LanguageInfo.Builder("Java").version(Runtime.version().toString()).mimetype("text/x-java-source")
                        .fileExtension(".jshell").pygments("java").codemirror("java").build(),
                List.of(new HelpLink("prunelab README", "https://github.com/prunelab/prunelab#readme")),
                null, io, new CommManager(), new Renderer(),
                // JJava's own pattern: a line magic starts a line or follows '=' ("var x = %magic").
                new MagicParser("(?<=(?:^|=))\\s*%", "%%", new MagicTranspiler()), magics, true,
                new StringStyler.Builder().addPrimaryStyle(TextColor.BOLD_RESET_FG)
                        .addSecondaryStyle(TextColor.BOLD_RED_FG).addHighlightStyle(TextColor.BOLD_RED_FG).build());
        this.kernelIO = io;
        this.control = new CellExecutionControl();
        this.shell = JShell.builder()
                .out(io.out).err(io.err).in(io.in)
                .executionEngine(new SingleControl(control), Map.of())
                .compilerOptions("--add-modules", "jdk.incubator.vector")
                .build();
        // The compiler needs the kernel's class path to see prunelab; the classes themselves come from the
        // system class loader, which the snippets' loader delegates to.
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!entry.isBlank()) shell.addToClasspath(entry);
        }
        this.evaluator = new CellEvaluator(shell, control);
    }

    /**
     * A kernel with prunelab's magics, imports evaluated and renderers (from
     * {@code META-INF/services/org.dflib.jjava.jupyter.Extension}) installed.
     */
    public static PrunelabKernel create(String version) {
        MagicsRegistry magics = new MagicsRegistry();
        magics.registerLineMagic("classpath", (LineMagic<Void, PrunelabKernel>) (kernel, args) -> {
            kernel.addToClasspath(String.join(File.pathSeparator, args));
            return null;
        });
        PrunelabKernel kernel = new PrunelabKernel(new KernelIO(), magics, version);
        kernel.onStartup();
        for (String imp : STARTUP_IMPORTS) kernel.evaluator.eval(imp);
        return kernel;
    }

    /**
     * Adds jars or class folders to what cells can use, and installs any renderers they register.
     *
     * @param classpath paths separated by {@link File#pathSeparator}; globs such as {@code lib/*.jar} allowed
     */
    public void addToClasspath(String classpath) {
        if (classpath == null || classpath.isBlank()) return;
        String resolved = PathsHandler.joinPaths(PathsHandler.splitAndResolveGlobs(classpath));
        for (String entry : PathsHandler.split(resolved)) shell.addToClasspath(entry);
        installExtensions(resolved);
    }

    /**
     * Evaluates a cell; its value is what the cell shows. A cell ending in {@code System.out.printf(...)} would show the
     * stream printf returns ({@code java.io.PrintStream@5e41...}): streams and writers show nothing, as in a terminal.
     */
    @Override
    public Object evalRaw(String source) {
        Object value = evaluator.eval(magicParser.resolveMagics(source));
        return value instanceof java.io.PrintStream || value instanceof java.io.PrintWriter ? null : value;
    }

    @Override
    public DisplayData inspect(String code, int at, boolean extraDetail) {
        List<SourceCodeAnalysis.Documentation> docs = shell.sourceCodeAnalysis().documentation(code, at, true);
        if (docs == null || docs.isEmpty()) return null;
        return new DisplayData(docs.stream()
                .map(d -> d.javadoc() == null ? d.signature() : d.signature() + "\n" + d.javadoc())
                .collect(Collectors.joining("\n\n")));
    }

    @Override
    public ReplacementOptions complete(String code, int at) {
        int[] anchor = new int[1];
        List<SourceCodeAnalysis.Suggestion> suggestions = shell.sourceCodeAnalysis().completionSuggestions(code, at, anchor);
        if (suggestions == null || suggestions.isEmpty()) return null;
        return new ReplacementOptions(suggestions.stream().map(SourceCodeAnalysis.Suggestion::continuation)
                .distinct().toList(), anchor[0], at);
    }

    @Override
    public String isComplete(String code) {
        return switch (shell.sourceCodeAnalysis().analyzeCompletion(code).completeness()) {
            case COMPLETE, COMPLETE_WITH_SEMI, EMPTY -> IS_COMPLETE_YES;
            case CONSIDERED_INCOMPLETE, DEFINITELY_INCOMPLETE -> "    ";
            case UNKNOWN -> IS_COMPLETE_BAD;
        };
    }

    @Override
    public void interrupt() {
        control.interrupt();
    }

    @Override
    public void onShutdown(boolean isRestarting) {
        super.onShutdown(isRestarting);
        shell.close();
    }

    /** One red line, {@code Name: message}; the kernel log (stderr of the process) keeps the stack. */
    @Override
    public List<String> formatError(Throwable e) {
        String name = e instanceof CellException ce ? ce.name() : e.getClass().getSimpleName();
        String message = e.getMessage() == null ? "" : e.getMessage();
        return List.of(errorStyler.secondary(name) + ": " + message);
    }

    /**
     * As {@link BaseKernel}'s handler, except that a failed cell reports the user's error by its own short
     * name ({@code InvalidArgument}) rather than the kernel's wrapper class.
     */
    @Override
    protected synchronized void handleExecuteRequest(ShellReplyEnvironment env, Message<ExecuteRequest> message) {
        commManager.setMessageContext(message);
        ExecuteRequest request = message.getContent();
        int count = executionCount.getAndIncrement();
        env.setBusyDeferIdle();
        env.publish(new PublishExecuteInput(request.getCode(), count));
        replaceOutputStreams(env);
        kernelIO.attach(env);
        env.defer(() -> kernelIO.detach(env));
        kernelIO.stdinEnabled(request.isStdinEnabled());
        try {
            DisplayData out = eval(request.getCode());
            if (out != null) env.publish(new PublishExecuteResult(count, out));
            env.defer().reply(new ExecuteReply(count, Collections.emptyMap()));
        } catch (Exception e) {
            // A user error (PrunelabException) is fully said by its message; anything else keeps its stack in the log.
            if (e.getCause() != null && !(e.getCause() instanceof org.prunelab.PrunelabException)) {
                e.getCause().printStackTrace(kernelLog());
            }
            String name = e instanceof CellException ce ? ce.name() : e.getClass().getSimpleName();
            String text = e.getMessage() == null ? "" : e.getMessage();
            List<String> lines = formatError(e);
            env.publish(new PublishError(name, text, lines));
            ErrorReply error = new ErrorReply(name, text, lines);
            error.setExecutionCount(count);
            env.defer().replyError(ExecuteReply.MESSAGE_TYPE.error(), error);
        }
    }

    /** The kernel process's own stderr (Jupyter's log), not the cell's. */
    private static java.io.PrintStream kernelLog() {
        return KernelMain.LOG;
    }

    /** Lets the kernel attach Jupyter's reply environment, which {@link JupyterIO} keeps protected. */
    private static final class KernelIO extends JupyterIO {
        KernelIO() {
            super(StandardCharsets.UTF_8);
        }

        void attach(ShellReplyEnvironment env) {
            setEnv(env);
        }

        void detach(ShellReplyEnvironment env) {
            retractEnv(env);
        }

        void stdinEnabled(boolean enabled) {
            setJupyterInEnabled(enabled);
        }
    }

    /** Hands JShell the one execution control this kernel owns, so interrupts reach it. */
    private record SingleControl(CellExecutionControl control) implements ExecutionControlProvider {
        @Override
        public String name() {
            return "prunelab";
        }

        @Override
        public ExecutionControl generate(ExecutionEnv env, Map<String, String> parameters) {
            return control;
        }
    }
}
