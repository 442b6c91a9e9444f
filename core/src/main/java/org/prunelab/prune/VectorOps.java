package org.prunelab.prune;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/** The two double-precision kernels the Hessian-based code spends its time in, on the Vector API. */
final class VectorOps {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

    private VectorOps() {}

    /** sum_{k < len} a[ao + k] * b[bo + k] (lane-parallel summation order). */
    static double dot(double[] a, int ao, double[] b, int bo, int len) {
        int k = 0;
        int upper = S.loopBound(len);
        DoubleVector acc = DoubleVector.zero(S);
        for (; k < upper; k += S.length()) {
            acc = DoubleVector.fromArray(S, a, ao + k).fma(DoubleVector.fromArray(S, b, bo + k), acc);
        }
        double sum = org.prunelab.tensor.VectorMath.sumLanes(acc);
        for (; k < len; k++) sum += a[ao + k] * b[bo + k];
        return sum;
    }

    /** y[yo + k] += alpha * x[xo + k] for k < len. */
    static void axpy(double alpha, double[] x, int xo, double[] y, int yo, int len) {
        int k = 0;
        int upper = S.loopBound(len);
        DoubleVector va = DoubleVector.broadcast(S, alpha);
        for (; k < upper; k += S.length()) {
            DoubleVector.fromArray(S, x, xo + k).fma(va, DoubleVector.fromArray(S, y, yo + k)).intoArray(y, yo + k);
        }
        for (; k < len; k++) y[yo + k] += alpha * x[xo + k];
    }
}
