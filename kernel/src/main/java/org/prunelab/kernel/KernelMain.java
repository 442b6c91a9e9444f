package org.prunelab.kernel;

import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Entry point Jupyter starts (kernel.json's {@code argv}): {@code KernelMain <connection_file>}. Extra jars
 * or class folders named in {@code JJAVA_CLASSPATH} (paths separated by ':', globs allowed) are added as by
 * {@code %classpath}.
 */
public final class KernelMain {
    /** The process's stderr as it was at start: Jupyter's kernel log, kept apart from cells' output. */
    static final PrintStream LOG = System.err;

    /** netlib announces its BLAS backend at INFO, which would land in the first cell's output; a strong reference keeps the level. */
    private static final java.util.logging.Logger NETLIB_LOG = java.util.logging.Logger.getLogger("dev.ludovic.netlib");

    private KernelMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1 || !Files.isRegularFile(Path.of(args[0]))) {
            LOG.println("usage: KernelMain <connection_file> (Jupyter passes it; install the kernel with "
                    + "'./prunelab kernel install' and start it from Jupyter)");
            System.exit(2);
        }
        NETLIB_LOG.setLevel(java.util.logging.Level.WARNING);
        KernelConnectionProperties props = KernelConnectionProperties.parse(Files.readString(Path.of(args[0])));
        JupyterConnection connection = new JupyterConnection(props);
        PrunelabKernel kernel = PrunelabKernel.create(KernelMain.class.getPackage().getImplementationVersion());
        kernel.addToClasspath(System.getenv("JJAVA_CLASSPATH"));
        kernel.becomeHandlerForConnection(connection);
        connection.connect();
        connection.waitUntilClose();
    }
}
