package org.prunelab.prune;

import org.prunelab.PrunelabException;

/**
 * Which weights of a matrix a pruning method may remove. Weights are {@code [out_features, in_features]};
 * every pattern compares weights along the input dimension (columns).
 *
 * <ul>
 *   <li>{@link Unstructured}: a fraction {@code sparsity} of the weights, wherever the scores are lowest
 *       (the comparison group — whole matrix or each row — is the method's choice);</li>
 *   <li>{@link NM}: at most {@code n} nonzeros in every group of {@code m} consecutive weights of a row
 *       (2:4 and 4:8 are what sparse tensor cores accelerate).</li>
 * </ul>
 */
public sealed interface SparsityPattern permits SparsityPattern.Unstructured, SparsityPattern.NM {

    /** The nominal fraction of weights removed, in [0, 1). */
    double sparsity();

    /** The MLflow {@code pattern} value: {@code unstructured}, or {@code n:m} such as {@code 2:4}. */
    String label();

    /** @throws PrunelabException.InvalidArgument if sparsity is outside [0, 1) */
    static SparsityPattern unstructured(double sparsity) {
        return new Unstructured(sparsity);
    }

    /** @throws PrunelabException.InvalidArgument unless 0 &lt; n &lt; m */
    static SparsityPattern nm(int n, int m) {
        return new NM(n, m);
    }

    /**
     * Parses {@code "2:4"} as N:M and a plain number such as {@code "0.5"} as unstructured sparsity.
     *
     * @throws PrunelabException.InvalidArgument if the text is neither, or the values are out of range
     */
    static SparsityPattern parse(String text) {
        String t = text.strip();
        try {
            int colon = t.indexOf(':');
            if (colon >= 0) {
                return new NM(Integer.parseInt(t.substring(0, colon).strip()),
                        Integer.parseInt(t.substring(colon + 1).strip()));
            }
            return new Unstructured(Double.parseDouble(t));
        } catch (NumberFormatException e) {
            throw new PrunelabException.InvalidArgument("cannot read sparsity pattern '" + text
                    + "': write a fraction such as 0.5 for unstructured sparsity or n:m such as 2:4");
        }
    }

    /** Remove a fraction {@code sparsity} in [0, 1) of the weights. */
    record Unstructured(double sparsity) implements SparsityPattern {
        public Unstructured {
            if (!(sparsity >= 0 && sparsity < 1)) {
                throw new PrunelabException.InvalidArgument("sparsity " + sparsity
                        + " is outside [0, 1): give the fraction of weights to remove, e.g. 0.5");
            }
        }

        @Override
        public String label() { return "unstructured"; }
    }

    /** Keep {@code n} of every {@code m} consecutive weights of a row along the input dimension. */
    record NM(int n, int m) implements SparsityPattern {
        public NM {
            if (m < 2 || n <= 0 || n >= m) {
                throw new PrunelabException.InvalidArgument("N:M pattern " + n + ":" + m
                        + " is invalid: N (weights kept) and M (group size) need 0 < N < M, e.g. 2:4 or 4:8");
            }
        }

        @Override
        public double sparsity() { return 1.0 - (double) n / m; }

        @Override
        public String label() { return n + ":" + m; }

        /** Weights pruned in each group of m. */
        public int prunedPerGroup() { return m - n; }

        /** @throws PrunelabException.InvalidArgument if m does not divide {@code inFeatures} */
        void checkDivides(int inFeatures, String what) {
            if (inFeatures % m != 0) {
                throw new PrunelabException.InvalidArgument("N:M pattern " + label() + " needs in_features divisible by "
                        + m + ", but " + what + " has " + inFeatures + " input features: choose an M that divides it");
            }
        }
    }
}
