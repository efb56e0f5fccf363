// Scalar kernels of the elementwise primitives, written once for float and double.
// Private to the library: the table in ops.cpp points at them.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

namespace symgrad::kernels {

// Each kernel takes three operands and ignores those beyond its arity, so one pointer type fits all rows.
template <class T> T neg(T a, T, T) { return -a; }
template <class T> T add(T a, T b, T) { return a + b; }
template <class T> T sub(T a, T b, T) { return a - b; }
template <class T> T mul(T a, T b, T) { return a * b; }
template <class T> T div(T a, T b, T) { return a / b; }
template <class T> T pow(T a, T b, T) { return std::pow(a, b); }
template <class T> T exp(T a, T, T) { return std::exp(a); }
template <class T> T log(T a, T, T) { return std::log(a); }
template <class T> T log1p(T a, T, T) { return std::log1p(a); }
template <class T> T expm1(T a, T, T) { return std::expm1(a); }
template <class T> T sqrt(T a, T, T) { return std::sqrt(a); }
template <class T> T abs(T a, T, T) { return std::fabs(a); }
template <class T> T sin(T a, T, T) { return std::sin(a); }
template <class T> T cos(T a, T, T) { return std::cos(a); }
template <class T> T tanh(T a, T, T) { return std::tanh(a); }
template <class T> T erf(T a, T, T) { return std::erf(a); }

// sign(NaN) is NaN; sign(±0) is 0.
template <class T> T sign(T a, T, T) {
    if (std::isnan(a)) return a;
    return static_cast<T>((a > 0) - (a < 0));
}

// Stable at |x| = 1000: exp is only ever taken of a non-positive number.
template <class T> T sigmoid(T a, T, T) {
    if (a >= 0) return T(1) / (T(1) + std::exp(-a));
    const T e = std::exp(a);
    return e / (T(1) + e);
}

// softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact form, no overflow, no threshold.
template <class T> T softplus(T a, T, T) {
    if (std::isnan(a)) return a;
    return std::fmax(a, T(0)) + std::log1p(std::exp(-std::fabs(a)));
}

// relu(NaN) is NaN, as in PyTorch.
template <class T> T relu(T a, T, T) { return a <= T(0) ? T(0) : a; }

// maximum/minimum propagate NaN, as PyTorch's torch.maximum/torch.minimum.
template <class T> T maximum(T a, T b, T) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
    return a > b ? a : b;
}
template <class T> T minimum(T a, T b, T) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
    return a < b ? a : b;
}

template <class T> T where(T c, T a, T b) { return c != T(0) ? a : b; }
template <class T> T lt(T a, T b, T) { return static_cast<T>(a < b); }
template <class T> T le(T a, T b, T) { return static_cast<T>(a <= b); }
template <class T> T gt(T a, T b, T) { return static_cast<T>(a > b); }
template <class T> T ge(T a, T b, T) { return static_cast<T>(a >= b); }
template <class T> T eq(T a, T b, T) { return static_cast<T>(a == b); }
template <class T> T ne(T a, T b, T) { return static_cast<T>(a != b); }

// clamp(x, lo, hi) = min(max(x, lo), hi), NaN-propagating like PyTorch.
template <class T> T clamp(T x, T lo, T hi) { return minimum(maximum(x, lo, T(0)), hi, T(0)); }

// A kernel applied to n contiguous elements; F is a template argument, so it is inlined into the loop.
template <class T, T (*F)(T, T, T)> void block(T* out, const T* a, const T* b, const T* c, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = F(a[i], b[i], c[i]);
}

}  // namespace symgrad::kernels
