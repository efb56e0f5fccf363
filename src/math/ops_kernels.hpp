// Scalar kernels of the elementwise primitives, written once for float and double.
// Private to the library: the table's rows (src/ops/table.hpp) point at them, and src/exec/kernels_isa.inc compiles
// a block loop of each row's kernel once per vector instruction set. float32 transcendental functions are vmath's
// (vectorizable, the same bits at every width); float64 ones are the C library's.
//
// Everything here has internal linkage (the unnamed namespace): each translation unit that includes this
// header, whatever its -march flags, gets its own copy, so no copy built for AVX-512 can stand in for another.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "math/vmath.hpp"

namespace symgrad::kernels {
namespace {

template <class T> constexpr bool is_f32 = std::is_same_v<T, float>;

// A transcendental function: vmath's in float32 (vectorizable, the same bits at every width), the C library's in
// float64.
#define SYMGRAD_VMATH_KERNEL(name)         \
    template <class T> T name(T a, T, T) { \
        if constexpr (is_f32<T>) {         \
            return vmath::name(a);         \
        } else {                           \
            return std::name(a);           \
        }                                  \
    }

// Each kernel takes three operands and ignores those beyond its arity, so one pointer type fits all rows.
template <class T> T neg(T a, T, T) { return -a; }
template <class T> T add(T a, T b, T) { return a + b; }
template <class T> T sub(T a, T b, T) { return a - b; }
template <class T> T mul(T a, T b, T) { return a * b; }
template <class T> T div(T a, T b, T) { return a / b; }
// Squares and cubes are products, as in PyTorch's CPU pow with a scalar exponent of 2 or 3 (the same bits);
// they are what polynomials in activations use, and they vectorize (the engine picks square/cube for them).
template <class T> T square(T a, T, T) { return a * a; }
template <class T> T cube(T a, T, T) { return a * a * a; }
template <class T> T pow(T a, T b, T) {
    if constexpr (is_f32<T>) {
        // vmath's: vectorizable (every value computed, then selected: no branch in the loop), within 1 ulp.
        T r = vmath::pow(a, b);
        const T squared = square<T>(a, b, b);
        r = b == T(2) ? squared : r;
        const T cubed = cube<T>(a, b, b);
        return b == T(3) ? cubed : r;
    } else {
        if (b == T(2)) return square<T>(a, b, b);
        if (b == T(3)) return cube<T>(a, b, b);
        return std::pow(a, b);
    }
}
SYMGRAD_VMATH_KERNEL(exp)
SYMGRAD_VMATH_KERNEL(log)
SYMGRAD_VMATH_KERNEL(log1p)
SYMGRAD_VMATH_KERNEL(expm1)
template <class T> T sqrt(T a, T, T) { return std::sqrt(a); }
template <class T> T abs(T a, T, T) { return std::fabs(a); }
template <class T> T sin(T a, T, T) { return std::sin(a); }
template <class T> T cos(T a, T, T) { return std::cos(a); }
SYMGRAD_VMATH_KERNEL(tanh)
SYMGRAD_VMATH_KERNEL(erf)

// The primitives of more than one operation: src/math/piecewise.inc, which the C++ export copies too. Its exp and
// log1p are the kernels' (vmath's in float32).
namespace piecewise {
inline float exp(float a) { return vmath::exp(a); }
inline double exp(double a) { return std::exp(a); }
inline float log1p(float a) { return vmath::log1p(a); }
inline double log1p(double a) { return std::log1p(a); }
#include "math/piecewise.inc"
}  // namespace piecewise

template <class T> T sign(T a, T, T) { return piecewise::sign(a); }
template <class T> T sigmoid(T a, T, T) { return piecewise::sigmoid(a); }
template <class T> T softplus(T a, T, T) { return piecewise::softplus(a); }
// relu(NaN) is NaN, as in PyTorch; maximum and minimum propagate NaN, as torch.maximum and torch.minimum.
template <class T> T relu(T a, T, T) { return piecewise::relu(a); }
template <class T> T maximum(T a, T b, T) { return piecewise::maximum(a, b); }
template <class T> T minimum(T a, T b, T) { return piecewise::minimum(a, b); }

template <class T> T where(T c, T a, T b) { return c != T(0) ? a : b; }
template <class T> T lt(T a, T b, T) { return static_cast<T>(a < b); }
template <class T> T le(T a, T b, T) { return static_cast<T>(a <= b); }
template <class T> T gt(T a, T b, T) { return static_cast<T>(a > b); }
template <class T> T ge(T a, T b, T) { return static_cast<T>(a >= b); }
template <class T> T eq(T a, T b, T) { return static_cast<T>(a == b); }
template <class T> T ne(T a, T b, T) { return static_cast<T>(a != b); }

// clamp(x, lo, hi) = min(max(x, lo), hi), NaN-propagating like PyTorch.
template <class T> T clamp(T x, T lo, T hi) { return piecewise::clamp(x, lo, hi); }

// A kernel applied to n contiguous elements; F is a template argument, so it is inlined into the loop.
template <class T, T (*F)(T, T, T)>
void block(T* __restrict out, const T* __restrict a, const T* __restrict b, const T* __restrict c, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = F(a[i], b[i], c[i]);
}

}  // namespace
}  // namespace symgrad::kernels

#undef SYMGRAD_VMATH_KERNEL
