// float32 exp, log, log1p, expm1, tanh, erf and pow written so that a compiler can vectorize a loop over them: no branches
// (both sides are computed and one is selected), no calls, no tables, only IEEE +, -, *, / and bit operations.
// The reference evaluator and every vector width of the fused engine run this same code, and IEEE arithmetic
// rounds the same in a vector lane as in a scalar register, so all of them give the same bits.
//
// Accuracy (tests/test_vmath.cpp sweeps every 509th float): within 1 ulp of the exact value for exp and log, 2 ulp
// for log1p, expm1, tanh and erf (worst seen: 0.95, 0.80, 1.44, 1.37, 1.24, and erf's below), subnormal inputs and
// results included; NaN in gives NaN out, infinities and zeros give the IEEE results. The polynomial coefficients come from tools/fit_vmath.py.
//
// Only compiler builtins are used (no std:: inline functions): this header is compiled several times with
// different -march flags (src/exec/kernels_isa.inc), and an out-of-line copy of an inline library function built for
// AVX-512 must not be what the rest of the program links against.
#pragma once

#include <cstdint>

namespace symgrad::vmath {
namespace {

inline float from_bits(std::uint32_t u) { return __builtin_bit_cast(float, u); }
inline std::uint32_t to_bits(float f) { return __builtin_bit_cast(std::uint32_t, f); }
inline bool is_nan(float x) { return x != x; }
inline float abs(float x) { return from_bits(to_bits(x) & 0x7fffffffu); }
// 2^k for -126 <= k <= 127 (other k, which only a NaN's bits give, make some float without undefined behaviour).
inline float pow2(std::int32_t k) { return from_bits((static_cast<std::uint32_t>(k) + 127u) << 23); }

inline constexpr float inf = __builtin_inff();
inline constexpr float ln2_hi = 0.693359375f;  // 9 significant bits: n * ln2_hi is exact for |n| < 2^15
inline constexpr float ln2_lo = -2.12194440e-4f;

// exp(r) - 1 - r for |r| <= ln2/2, as r^2 P(r).
inline float exp_tail(float r) {
    float p = 1.982649555e-04f;
    p = p * r + 1.394602121e-03f;
    p = p * r + 8.333429694e-03f;
    p = p * r + 4.166626930e-02f;
    p = p * r + 1.666666567e-01f;
    p = p * r + 5.000000000e-01f;
    return r * r * p;
}

// exp(x) = 2^n exp(r), n = round(x / ln2), r = x - n ln2 (Cody-Waite, two parts of ln2).
// n is found by adding 1.5 * 2^23, which leaves round(x * log2(e)) in the low bits of the sum.
// x is first clamped to [min_arg, max_arg], where the arithmetic is exact and the ends come out right by
// themselves: exp(max_arg) rounds to inf and exp(min_arg) to 0. NaN passes the clamps (its comparisons are false)
// and every operation after them, so it comes out NaN; the integer steps only move its bits around.
inline float exp(float x) {
    constexpr float max_arg = 88.72283935546875f;  // the float above log(FLT_MAX): exp rounds to inf
    constexpr float min_arg = -103.97208404541015625f;  // the float below log(FLT_TRUE_MIN / 2): exp rounds to 0
    constexpr float shifter = 12582912.0f;  // 1.5 * 2^23
    float xc = x < min_arg ? min_arg : x;
    xc = xc > max_arg ? max_arg : xc;
    const float t = xc * 1.44269504088896341f + shifter;
    const std::int32_t n = static_cast<std::int32_t>(to_bits(t) - to_bits(shifter));  // -150 <= n <= 128
    const float nf = t - shifter;
    const float r = (xc - nf * ln2_hi) - nf * ln2_lo;
    const float e = 1.0f + (r + exp_tail(r));
    // 2^n in two factors, so that neither overflows and a subnormal result is rounded once, at the end.
    const std::int32_t n1 = n >> 1;
    return e * pow2(n1) * pow2(n - n1);
}

// log(1 + f) for sqrt(1/2) - 1 <= f < sqrt(2) - 1, as f - f^2/2 + f^3 P(f), without the exponent part.
inline float log_kernel(float f) {
    float p = 6.675271690e-02f;
    p = p * f - 1.164643466e-01f;
    p = p * f + 1.190471202e-01f;
    p = p * f - 1.241126880e-01f;
    p = p * f + 1.421789080e-01f;
    p = p * f - 1.666764319e-01f;
    p = p * f + 2.000220418e-01f;
    p = p * f - 2.500001490e-01f;
    p = p * f + 3.333331048e-01f;
    const float f2 = f * f;
    return f2 * f * p - 0.5f * f2;
}

// log(x) = e ln2 + log(m), x = m 2^e with sqrt(1/2) <= m < sqrt(2).
inline float log(float x) {
    // Subnormal inputs are scaled into the normal range first.
    const bool subnormal = x < 1.17549435e-38f;
    const float xs = subnormal ? x * 8388608.0f : x;  // 2^23
    const std::uint32_t bits = to_bits(xs);
    // Subtracting the bits of sqrt(1/2) puts m in [sqrt(1/2), sqrt(2)) and its exponent in the top bits.
    const std::uint32_t shifted = bits - 0x3f3504f3u;
    const std::int32_t e = static_cast<std::int32_t>(shifted) >> 23;
    const float m = from_bits((shifted & 0x007fffffu) + 0x3f3504f3u);
    const float ef = static_cast<float>(subnormal ? e - 23 : e);
    const float f = m - 1.0f;
    const float y = (ef * ln2_lo + log_kernel(f)) + f + ef * ln2_hi;
    float result = x == inf ? inf : y;
    result = x == 0.0f ? -inf : result;
    result = x < 0.0f ? __builtin_nanf("") : result;
    return is_nan(x) ? x + x : result;
}

// log1p(x) = log(u) + c / u, where u = 1 + x rounded and c = (1 + x) - u is the rounding error, computed
// exactly (the first-order correction of log at u).
inline float log1p(float x) {
    const float u = 1.0f + x;
    const float c = u > 2.0f ? 1.0f - (u - x) : x - (u - 1.0f);
    const float y = log(u) + c / u;
    float result = x == 0.0f ? x : y;  // keeps the sign of a zero
    result = x == inf ? inf : result;
    result = x == -1.0f ? -inf : result;
    result = x < -1.0f ? __builtin_nanf("") : result;
    return is_nan(x) ? x + x : result;
}

// expm1(r) for |r| <= ln2/2: its Taylor series to r^9 (the next term is below 2^-30 of the value).
inline float expm1_kernel(float r) {
    float p = 1.0f / 362880.0f;
    p = p * r + 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    return r + r * r * p;
}

// expm1(x) = 2^n expm1(r) + (2^n - 1) with x = n ln2 + r, for -30 <= x <= 20 (2^n - 1 is exact there and the
// sum is rounded once); exp(x) - 1 above (where the 1 no longer matters); x itself when |x| < 2^-25.
inline float expm1(float x) {
    constexpr float shifter = 12582912.0f;  // 1.5 * 2^23
    float xc = x < -30.0f ? -30.0f : x;
    xc = xc > 20.0f ? 20.0f : xc;
    xc = is_nan(x) ? 0.0f : xc;
    const float t = xc * 1.44269504088896341f + shifter;
    const std::int32_t n = static_cast<std::int32_t>(to_bits(t) - to_bits(shifter));  // -44 <= n <= 29
    const float nf = t - shifter;
    const float r = (xc - nf * ln2_hi) - nf * ln2_lo;
    const float scale = pow2(n);
    const float y = scale * expm1_kernel(r) + (scale - 1.0f);
    float result = x > 20.0f ? exp(x) - 1.0f : y;
    result = abs(x) < 0x1p-25f ? x : result;
    return is_nan(x) ? x + x : result;
}

// tanh: x + x^3 P(x^2) for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) beyond, with the sign of x.
inline float tanh(float x) {
    const float a = abs(x);
    const float z = x * x;
    float p = -5.718979053e-03f;
    p = p * z + 2.065314166e-02f;
    p = p * z - 5.374466255e-02f;
    p = p * z + 1.333151311e-01f;
    p = p * z - 3.333328664e-01f;
    const float small = x + x * z * p;
    const float large_abs = 1.0f - 2.0f / (exp(a + a) + 1.0f);
    const float large = from_bits(to_bits(large_abs) | (to_bits(x) & 0x80000000u));
    float result = a < 0.625f ? small : large;
    result = a < 0x1p-12f ? x : result;  // x^3/3 is below half an ulp of x; keeps the sign of a zero
    return is_nan(x) ? x + x : result;
}

// erf: x + x P(x^2) for |x| < 1; 1 - exp(-x^2) R(1/|x|) for 1 <= |x| < 4, with the sign of x; +-1 beyond
// (erf rounds to 1 from 3.92). x^2's rounding moves exp(-x^2) by at most 16 ulp-fractions of erfc, which is
// below 2^-26 there, so it does not show in erf.
inline float erf(float x) {
    const float a = abs(x);
    const float z = x * x;
    float p = -9.689733815e-06f;
    p = p * z + 1.127473515e-04f;
    p = p * z - 8.485438302e-04f;
    p = p * z + 5.221138708e-03f;
    p = p * z - 2.686547488e-02f;
    p = p * z + 1.128378361e-01f;
    p = p * z - 3.761263788e-01f;
    p = p * z + 1.283791661e-01f;
    const float small = x + x * p;
    const float t = 1.0f / a;
    float r = -3.821760416e-02f;
    r = r * t + 2.646626234e-01f;
    r = r * t - 8.106041551e-01f;
    r = r * t + 1.424004912e+00f;
    r = r * t - 1.524053931e+00f;
    r = r * t + 8.994859457e-01f;
    r = r * t - 6.926850975e-02f;
    r = r * t - 2.851863205e-01f;
    r = r * t + 3.015458118e-03f;
    r = r * t + 5.637192130e-01f;
    r = r * t + 2.596134800e-05f;
    const float large_abs = a < 4.0f ? 1.0f - exp(-z) * r : 1.0f;
    const float large = from_bits(to_bits(large_abs) | (to_bits(x) & 0x80000000u));
    const float result = a < 1.0f ? small : large;
    return is_nan(x) ? x + x : result;
}

// ---------------------------------------------------------------------------------------------
// pow: |x|^y = exp(y log|x|), computed in double, then the sign and C99's special cases chosen by selects
// ---------------------------------------------------------------------------------------------

inline double from_bits64(std::uint64_t u) { return __builtin_bit_cast(double, u); }
inline std::uint64_t to_bits64(double d) { return __builtin_bit_cast(std::uint64_t, d); }

// log(a) in double for a positive finite float a, to about 2e-11 relative: a = 2^e m with m in [sqrt(1/2), sqrt(2))
// (found in the float's bits, as log() does, subnormals scaled first; 32-bit integers only, which every vector set
// converts), log m = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.1716, as the series 2 (s + s^3/3 + ... + s^13/13),
// whose first term left out is below 2e-11 of the sum: a float result needs t = y log|x| to about 1e-9.
inline double log_of_positive_float(float a) {
    const bool subnormal = a < 1.17549435e-38f;
    const float as = subnormal ? a * 8388608.0f : a;  // 2^23
    const std::uint32_t shifted = to_bits(as) - 0x3f3504f3u;
    const std::int32_t e = (static_cast<std::int32_t>(shifted) >> 23) - (subnormal ? 23 : 0);
    const double m = static_cast<double>(from_bits((shifted & 0x007fffffu) + 0x3f3504f3u));
    const double s = (m - 1.0) / (m + 1.0);
    const double z = s * s;
    double p = 2.0 / 13.0;
    p = p * z + 2.0 / 11.0;
    p = p * z + 2.0 / 9.0;
    p = p * z + 2.0 / 7.0;
    p = p * z + 2.0 / 5.0;
    p = p * z + 2.0 / 3.0;
    p = p * z + 2.0;
    return static_cast<double>(e) * 0.69314718055994530942 + s * p;
}

// exp(t) in double for |t| <= 700, to about 1e-12 relative: 2^n exp(r), r = t - n ln2 (ln2 in two parts, the first
// with trailing zero bits so that n ln2_hi is exact), exp(r) by its Taylor series to r^10 (|r| <= 0.347; the first
// term left out is below 7e-12).
inline double exp_of_bounded(double t) {
    constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52: adding it leaves round(t / ln2) in the low bits
    const double k = t * 1.4426950408889634074 + shifter;
    const auto n = static_cast<std::int64_t>(to_bits64(k) - to_bits64(shifter));
    const double nf = k - shifter;
    const double r = (t - nf * 6.93147180369123816490e-01) - nf * 1.90821492927058770002e-10;
    double p = 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    return p * from_bits64(static_cast<std::uint64_t>(n + 1023) << 52);
}

// x^y with C99's (and PyTorch's) special cases: x^0 = 1 and 1^y = 1 even for NaN; a negative x with an integer y
// gives the sign of y's parity; a negative finite x with a finite non-integer y is NaN; zeros, infinities and
// y = +-inf as Annex F says. |x|^y is computed in double (y log|x| to about 1e-9 absolute, exp to 1e-12), so the
// float result is the correctly rounded one but for a rounding boundary closer than that: within 1 ulp
// (tests/test_vmath.cpp; the sweep's worst is 0.5).
inline float pow(float x, float y) {
    // (Bitwise & and | on the conditions, one select per line and no float-to-int conversion: short-circuit
    // operators and nested selects are control flow, which keeps the loop from vectorizing.)
    const float ax = abs(x);
    const float ay = abs(y);
    // y's parity, in float arithmetic: v rounded to an integer by adding and subtracting 2^23 (every float of 2^23 or
    // more is an integer already); y is an integer when that leaves |y| unchanged, odd when it changes |y| / 2.
    constexpr float two_23 = 8388608.0f;
    const float round_ay = ay < two_23 ? (ay + two_23) - two_23 : ay;
    const float half = ay * 0.5f;
    const float round_half = half < two_23 ? (half + two_23) - two_23 : half;
    const bool integer = round_ay == ay;  // false for NaN; true for inf
    const bool odd = integer & (round_half != half);
    // |x|^y for finite nonzero x and finite y; t is clamped so that 2^n stays a normal double (the float conversion
    // then rounds to 0 or inf).
    double t = static_cast<double>(y) * log_of_positive_float(ax);
    t = t < -700.0 ? -700.0 : t;
    t = t > 700.0 ? 700.0 : t;
    float r = static_cast<float>(exp_of_bounded(t));
    // 0^y and inf^y: 0 or inf by the sign of y; |x|^(+-inf): 1, 0 or inf.
    const bool y_positive = y > 0.0f;
    const float zero_or_inf = y_positive ? 0.0f : inf;
    r = ax == 0.0f ? zero_or_inf : r;
    const float inf_or_zero = y_positive ? inf : 0.0f;
    r = ax == inf ? inf_or_zero : r;
    const float at_infinite_y = (ax > 1.0f) == y_positive ? inf : 0.0f;
    r = (ay == inf) & (ax != 1.0f) ? at_infinite_y : r;
    r = (ay == inf) & (ax == 1.0f) ? 1.0f : r;
    // A negative x (-0 and -inf included) and an odd integer y: the sign of x.
    const float negated = -r;
    r = odd & ((to_bits(x) >> 31) != 0) ? negated : r;
    r = (x < 0.0f) & (ax != inf) & (ay != inf) & !integer ? __builtin_nanf("") : r;
    const float nan_in = x + y;
    r = is_nan(x) | is_nan(y) ? nan_in : r;
    return (x == 1.0f) | (y == 0.0f) ? 1.0f : r;
}

}  // namespace
}  // namespace symgrad::vmath
