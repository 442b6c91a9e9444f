package org.prunelab.prune;

import org.prunelab.PrunelabException;

import java.util.List;

/** The per-matrix methods by their MLflow {@code method} name. */
public final class PruningMethods {
    /** Names {@link #byName} accepts. */
    public static final List<String> NAMES = List.of("magnitude", "wanda", "sparsegpt");

    private PruningMethods() {}

    /**
     * A new method with the reference settings.
     *
     * @throws PrunelabException.InvalidArgument for a name not in {@link #NAMES}
     */
    public static PruningMethod<?> byName(String name) {
        return switch (name) {
            case "magnitude" -> new MagnitudePruner();
            case "wanda" -> new WandaPruner();
            case "sparsegpt" -> new SparseGptPruner();
            default -> throw new PrunelabException.InvalidArgument("unknown pruning method '" + name + "': use one of "
                    + String.join(", ", NAMES));
        };
    }
}
