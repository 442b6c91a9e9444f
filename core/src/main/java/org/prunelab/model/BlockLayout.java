package org.prunelab.model;

import org.prunelab.PrunelabException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A family's names for the linears of a decoder block, as its {@code Architecture} gives them (one per
 * {@link LinearRole}), and what follows from the block's structure: which linears read the same input (the input groups
 * that calibration keeps one statistics object for) and which rows and columns structured pruning removes together.
 *
 * <p>Coupled units, which structured pruning removes as one: a <b>key/value group</b> g is the rows of {@link
 * LinearRole#K} and {@link LinearRole#V} for head g, the rows of {@link LinearRole#Q} for the query heads that read it
 * and the matching columns of {@link LinearRole#O} (biases of the row-cut linears go with their rows; per-head norms
 * of width head_dim are shared and stay); an <b>MLP channel</b> j is row j of {@link LinearRole#GATE} and {@link
 * LinearRole#UP} and column j of {@link LinearRole#DOWN}. The consumers — the linears whose input columns a unit
 * owns — are O and DOWN ({@link #consumers()}).
 *
 * @param names the name of each role, all seven roles present, names distinct
 */
public record BlockLayout(Map<LinearRole, String> names) {

    public BlockLayout {
        EnumMap<LinearRole, String> copy = new EnumMap<>(LinearRole.class);
        copy.putAll(names);
        if (copy.size() != LinearRole.values().length || copy.values().stream().distinct().count() != copy.size()) {
            throw new IllegalArgumentException("a block layout names every linear role once, got " + names);
        }
        names = Collections.unmodifiableMap(copy);
    }

    /** The linears' names in forward order (Q, K, V, O, GATE, UP, DOWN). */
    public List<String> linearNames() {
        List<String> out = new ArrayList<>();
        for (LinearRole r : LinearRole.values()) out.add(names.get(r));
        return out;
    }

    /** The name of {@code role}. */
    public String name(LinearRole role) {
        return names.get(role);
    }

    /**
     * The role of linear {@code name}.
     *
     * @throws PrunelabException.InvalidArgument for a name the layout does not have
     */
    public LinearRole role(String name) {
        for (Map.Entry<LinearRole, String> e : names.entrySet()) if (e.getValue().equals(name)) return e.getKey();
        throw new PrunelabException.InvalidArgument("unknown linear '" + name + "'; a block has " + linearNames());
    }

    /** Whether the layout has a linear called {@code name}. */
    public boolean has(String name) {
        return names.containsValue(name);
    }

    /**
     * The linears that read the same input tensor, in forward order: Q/K/V read the attention input norm's output, O
     * the attention output, GATE/UP the MLP input norm's output, DOWN the gated activation. The first name is the
     * group's key.
     */
    public List<List<String>> inputGroups() {
        return List.of(List.of(name(LinearRole.Q), name(LinearRole.K), name(LinearRole.V)), List.of(name(LinearRole.O)),
                List.of(name(LinearRole.GATE), name(LinearRole.UP)), List.of(name(LinearRole.DOWN)));
    }

    /** The consumers of the coupled units, whose input statistics structured pruning scores: O and DOWN. */
    public List<String> consumers() {
        return List.of(name(LinearRole.O), name(LinearRole.DOWN));
    }
}
