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
// a^n for a whole n from 2 to 8 is a product, by squaring: a^2 = a a, a^3 = a^2 a, a^4 = a^2 a^2, a^5 = a^4 a,
// a^6 = a^4 a^2, a^7 = a^4 a^3, a^8 = a^4 a^4. This is symgrad's definition of pow with those exponents, in
// every backend and both exporters: polynomials in activations (Padé, GELU's x^3) cost a few multiplications and
// vectorize, instead of a call of pow. a^2 and a^3 are PyTorch's CPU pow's own products (the same bits); the others
// are within n - 1 roundings of the exact power (tests/test_vmath.cpp measures it against pow). Signs, zeros,
// infinities and NaN come out as C99's pow gives them for a whole exponent.
template <int n, class T> T power(T a, T, T) {
    static_assert(n >= 2 && n <= 8, "products for exponents 2 to 8");
    if constexpr (n == 2) {
        return a * a;
    } else if constexpr (n == 3) {
        return (a * a) * a;
    } else if constexpr (n == 4) {
        const T a2 = a * a;
        return a2 * a2;
    } else if constexpr (n == 5) {
        return power<4, T>(a, a, a) * a;
    } else if constexpr (n == 6) {
        return power<4, T>(a, a, a) * (a * a);
    } else if constexpr (n == 7) {
        return power<4, T>(a, a, a) * power<3, T>(a, a, a);
    } else {
        const T a4 = power<4, T>(a, a, a);
        return a4 * a4;
    }
}
template <class T> T pow(T a, T b, T) {
    if constexpr (is_f32<T>) {
        // vmath's: vectorizable (every value computed, then selected: no branch in the loop), within 1 ulp.
        T r = vmath::pow(a, b);
        r = b == T(2) ? power<2, T>(a, b, b) : r;
        r = b == T(3) ? power<3, T>(a, b, b) : r;
        r = b == T(4) ? power<4, T>(a, b, b) : r;
        r = b == T(5) ? power<5, T>(a, b, b) : r;
        r = b == T(6) ? power<6, T>(a, b, b) : r;
        r = b == T(7) ? power<7, T>(a, b, b) : r;
        return b == T(8) ? power<8, T>(a, b, b) : r;
    } else {
        if (b == T(2)) return power<2, T>(a, b, b);
        if (b == T(3)) return power<3, T>(a, b, b);
        if (b == T(4)) return power<4, T>(a, b, b);
        if (b == T(5)) return power<5, T>(a, b, b);
        if (b == T(6)) return power<6, T>(a, b, b);
        if (b == T(7)) return power<7, T>(a, b, b);
        if (b == T(8)) return power<8, T>(a, b, b);
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
// Rounding in the default rounding mode (to nearest, halves to even: torch.round); exact, so every kernel set agrees.
template <class T> T round(T a, T, T) { return std::nearbyint(a); }
template <class T> T floor(T a, T, T) { return std::floor(a); }
template <class T> T ceil(T a, T, T) { return std::ceil(a); }
template <class T> T heaviside(T a, T b, T) { return piecewise::heaviside(a, b); }
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

// The gradient overrides evaluate to their first operand (the engine usually drops them before, with the surrogate).
template <class T> T stop_gradient(T a, T, T) { return piecewise::stop_gradient(a); }
template <class T> T custom_grad(T a, T b, T) { return piecewise::custom_grad(a, b); }

// A kernel applied to n contiguous elements; F is a template argument, so it is inlined into the loop.
template <class T, T (*F)(T, T, T)>
void block(T* __restrict out, const T* __restrict a, const T* __restrict b, const T* __restrict c, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = F(a[i], b[i], c[i]);
}

}  // namespace
}  // namespace symgrad::kernels

#undef SYMGRAD_VMATH_KERNEL
