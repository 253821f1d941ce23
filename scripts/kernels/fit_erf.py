#!/usr/bin/env python3
"""Fits the coefficients of the vector erf in Sources/CKernels/templates/math.h (verf).

erf(x) for |x| < T:  x + x * P(x^2)          P ~ erf(x)/x - 1, degree 6 in x^2
erf(x) for |x| >= T: 1 - exp(-a^2 + S(a - M)) S ~ log(erfc(a)) + a^2 on [T, CUT], degree 8

Each polynomial is a near-minimax fit of the absolute error (Lawson's iteratively reweighted
least squares from Chebyshev nodes) in double, printed rounded to float. The C code is then
measured over every float (scripts/kernels/erf_sweep.c): the fit only proposes coefficients.
Needs numpy and mpmath:  python3 scripts/kernels/fit_erf.py
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
T, CUT, MID = 0.9375, 4.0, 2.5  # as in math.h


def minimax(f, lo, hi, degree, var, nodes=2000, rounds=200):
    k = np.arange(nodes)
    xs = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / nodes)
    ys = np.array([float(f(mp.mpf(x))) for x in xs])
    vander = np.vander(np.array([var(x) for x in xs]), degree + 1, increasing=True)
    weights = np.ones(nodes)
    for _ in range(rounds):
        root = np.sqrt(weights)
        coefficients, *_ = np.linalg.lstsq(vander * root[:, None], ys * root, rcond=None)
        error = np.abs(vander @ coefficients - ys)
        weights = weights * error
        weights /= weights.sum()
    return coefficients, np.max(np.abs(vander @ coefficients - ys))


def small(t):  # erf(x)/x - 1 as a function of t = x^2
    if t == 0:
        return 2 / mp.sqrt(mp.pi) - 1
    x = mp.sqrt(t)
    return mp.erf(x) / x - 1


def large(a):  # log(erfc(a)) + a^2
    return mp.log(mp.erfc(a)) + a * a


for name, f, lo, hi, degree, var in [("P (x^2)", small, 0, T * T, 6, lambda t: t),
                                     ("S (a - %g)" % MID, large, T, CUT, 8, lambda a: a - MID)]:
    coefficients, error = minimax(f, lo, hi, degree, var)
    print("%s, max abs error %.3g, highest degree first:" % (name, error))
    print("  " + ", ".join("%.9ef" % np.float32(c) for c in coefficients[::-1]))
print("erfc(%g) = %.3g (< 2^-25 = %.3g: 1 - erfc rounds to 1 from there on)" % (CUT, mp.erfc(CUT), 2.0 ** -25))
