#!/usr/bin/env python3
"""Fits the polynomial coefficients of src/math/vmath.hpp (float32 exp, log, tanh).

Weighted least squares on 4,000 Chebyshev points of each interval, in float64, minimising the relative error of
the function the polynomial serves (not of the polynomial itself); coefficients are then rounded to float32 and
the fit is re-checked with the rounded ones. Run: python3 tools/fit_vmath.py
"""
import math

import numpy as np


def chebyshev_points(a, b, n=4000):
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos((2 * k + 1) * np.pi / (2 * n))


def fit(name, basis_x, target, weight, degree):
    """Least squares for sum_k c_k basis_x**k ~ target, rows scaled by weight."""
    v = np.vander(basis_x, degree + 1, increasing=True)
    c, *_ = np.linalg.lstsq(v * weight[:, None], target * weight, rcond=None)
    c32 = c.astype(np.float32).astype(np.float64)
    return c32


def report(name, coefficients, error):
    print(f"{name}: max relative error of the function with float32 coefficients {error:.3g}")
    for c in coefficients:
        print(f"    {np.float32(c).item():.9e}f,")


ln2 = math.log(2.0)

# exp(r) = 1 + r + r^2 P(r), |r| <= ln2/2
r = chebyshev_points(-ln2 / 2, ln2 / 2)
target = (np.expm1(r) - r) / r**2
c = fit("exp", r, target, r**2 / np.exp(r), 5)
approx = 1 + r + r**2 * np.polyval(c[::-1], r)
report("exp: P(r), exp(r) = 1 + r + r^2 P(r)", c, np.max(np.abs(approx / np.exp(r) - 1)))

# log(1 + f) = f - f^2/2 + f^3 P(f), sqrt(1/2) - 1 <= f < sqrt(2) - 1
f = chebyshev_points(math.sqrt(0.5) - 1, math.sqrt(2) - 1)
f = f[np.abs(f) > 1e-6]
target = (np.log1p(f) - f + f**2 / 2) / f**3
c = fit("log", f, target, np.abs(f**3 / np.log1p(f)), 8)
approx = f - f**2 / 2 + f**3 * np.polyval(c[::-1], f)
report("log: P(f), log(1 + f) = f - f^2/2 + f^3 P(f)", c, np.max(np.abs(approx / np.log1p(f) - 1)))

# tanh(x) = x + x^3 P(x^2), |x| < 0.625
x = chebyshev_points(1e-4, 0.625)
z = x * x
target = (np.tanh(x) - x) / x**3
c = fit("tanh", z, target, x**3 / np.tanh(x), 4)
approx = x + x**3 * np.polyval(c[::-1], z)
report("tanh: P(z), tanh(x) = x + x^3 P(x^2)", c, np.max(np.abs(approx / np.tanh(x) - 1)))

# erf(x) = x + x P(x^2) for |x| < 1 (2/sqrt(pi) - 1 rather than 2/sqrt(pi) as the leading coefficient: its
# rounding to float32 then costs 0.1 of an ulp instead of one)
erf = np.vectorize(math.erf)
erfc = np.vectorize(math.erfc)
x = chebyshev_points(1e-4, 1.0)
z = x * x
c = fit("erf small", z, erf(x) / x - 1, x / erf(x), 7)
approx = x + x * np.polyval(c[::-1], z)
report("erf: P(z), erf(x) = x + x P(x^2) for |x| < 1", c, np.max(np.abs(approx / erf(x) - 1)))

# erfc(x) = exp(-x^2) R(x) for 1 <= x < 4, R a polynomial in t = 1/x; erf = 1 - erfc
x = chebyshev_points(1.0, 4.0)
t = 1.0 / x
target = erfc(x) * np.exp(x * x)
c = fit("erfc", t, target, 1.0 / target, 10)
approx = np.exp(-x * x) * np.polyval(c[::-1], t)
report("erfc: R(t), t = 1/x, erfc(x) = exp(-x^2) R(t) for 1 <= x < 4", c, np.max(np.abs(approx / erfc(x) - 1)))
print("   (erf = 1 - erfc there: max error of erf", np.max(np.abs((1 - approx) / erf(x) - 1)), ")")
