// The float32 exp, log, log1p, expm1, tanh, erf and pow of src/math/vmath.hpp (which the table's float32 kernels use) against the
// C library's float64 functions, over a sweep of every 509th float and the special values.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <catch2/catch.hpp>

#include "../src/math/vmath.hpp"

namespace {

// The distance from y to the exact value, in units of the last place of the float nearest the exact value.
double ulp_error(float y, double exact) {
    if (std::isnan(exact)) return std::isnan(y) ? 0.0 : INFINITY;
    const float nearest = static_cast<float>(exact);
    if (std::isinf(nearest)) return y == nearest ? 0.0 : (std::isinf(y) ? INFINITY : std::fabs(double(y) - exact) / std::ldexp(1.0, 104));
    const double magnitude = std::fabs(static_cast<double>(nearest));
    int exponent = 0;
    std::frexp(magnitude, &exponent);
    const double ulp = magnitude < double(std::numeric_limits<float>::min()) ? std::ldexp(1.0, -149) : std::ldexp(1.0, exponent - 24);
    return std::fabs(static_cast<double>(y) - exact) / ulp;
}

struct Worst {
    double ulps = 0;
    float at = 0;
};

template <class F, class R> Worst sweep(F f, R reference) {
    Worst worst;
    for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 509) {
        const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
        const double e = ulp_error(f(x), reference(static_cast<double>(x)));
        if (e > worst.ulps) worst = {e, x};
    }
    return worst;
}

}  // namespace

using namespace symgrad;

TEST_CASE("vmath: within a few ulp of the correctly rounded value over the whole float range", "[slow]") {
    const Worst exp = sweep([](float x) { return vmath::exp(x); }, [](double x) { return std::exp(x); });
    const Worst log = sweep([](float x) { return vmath::log(x); }, [](double x) { return std::log(x); });
    const Worst log1p = sweep([](float x) { return vmath::log1p(x); }, [](double x) { return std::log1p(x); });
    const Worst expm1 = sweep([](float x) { return vmath::expm1(x); }, [](double x) { return std::expm1(x); });
    const Worst tanh = sweep([](float x) { return vmath::tanh(x); }, [](double x) { return std::tanh(x); });
    const Worst erf = sweep([](float x) { return vmath::erf(x); }, [](double x) { return std::erf(x); });
    INFO("exp " << exp.ulps << " at " << exp.at << ", log " << log.ulps << " at " << log.at << ", log1p " << log1p.ulps << " at "
                << log1p.at << ", expm1 " << expm1.ulps << " at " << expm1.at << ", tanh " << tanh.ulps << " at " << tanh.at);
    CHECK(exp.ulps <= 1.0);
    CHECK(log.ulps <= 1.0);
    CHECK(log1p.ulps <= 2.0);
    CHECK(expm1.ulps <= 2.0);
    CHECK(tanh.ulps <= 2.0);
    CHECK(erf.ulps <= 2.0);
    WARN("worst errors (ulp): exp " << exp.ulps << ", log " << log.ulps << ", log1p " << log1p.ulps << ", expm1 " << expm1.ulps << ", tanh "
                                    << tanh.ulps << ", erf " << erf.ulps << " at " << erf.at);
}

TEST_CASE("vmath: special values") {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float tiny = std::numeric_limits<float>::denorm_min();
    for (float x : {nan, -nan}) {
        CHECK(std::isnan(vmath::exp(x)));
        CHECK(std::isnan(vmath::log(x)));
        CHECK(std::isnan(vmath::log1p(x)));
        CHECK(std::isnan(vmath::expm1(x)));
        CHECK(std::isnan(vmath::tanh(x)));
    }
    CHECK(vmath::exp(inf) == inf);
    CHECK(vmath::exp(-inf) == 0.0f);
    CHECK(vmath::exp(0.0f) == 1.0f);
    CHECK(vmath::exp(-0.0f) == 1.0f);
    CHECK(vmath::exp(88.8f) == inf);
    CHECK(vmath::exp(-104.0f) == 0.0f);
    CHECK(vmath::exp(-103.0f) == std::exp(-103.0f));  // a subnormal result
    CHECK(vmath::log(0.0f) == -inf);
    CHECK(vmath::log(-0.0f) == -inf);
    CHECK(std::isnan(vmath::log(-1.0f)));
    CHECK(std::isnan(vmath::log(-inf)));
    CHECK(vmath::log(inf) == inf);
    CHECK(vmath::log(1.0f) == 0.0f);
    CHECK(vmath::log(tiny) == std::log(tiny));
    CHECK(vmath::log1p(-1.0f) == -inf);
    CHECK(std::isnan(vmath::log1p(-2.0f)));
    CHECK(vmath::log1p(inf) == inf);
    CHECK(vmath::log1p(tiny) == tiny);
    CHECK(std::signbit(vmath::log1p(-0.0f)));
    CHECK(vmath::expm1(inf) == inf);
    CHECK(vmath::expm1(-inf) == -1.0f);
    CHECK(std::signbit(vmath::expm1(-0.0f)));
    CHECK(vmath::expm1(tiny) == tiny);
    CHECK(vmath::tanh(inf) == 1.0f);
    CHECK(vmath::tanh(-inf) == -1.0f);
    CHECK(std::signbit(vmath::tanh(-0.0f)));
    CHECK(vmath::tanh(-tiny) == -tiny);
    CHECK(std::isnan(vmath::erf(nan)));
    CHECK(vmath::erf(inf) == 1.0f);
    CHECK(vmath::erf(-inf) == -1.0f);
    CHECK(std::signbit(vmath::erf(-0.0f)));
    CHECK(vmath::erf(5.0f) == 1.0f);
    CHECK(vmath::erf(-1e-30f) == Approx(std::erf(-1e-30f)).epsilon(2e-7));  // 2x/sqrt(pi), not 0
}

TEST_CASE("vmath: pow within 1 ulp of the exact value, for exponents of every kind, over the whole float range", "[slow]") {
    // Integer, half-integer, small, large and negative exponents, the powers PAU and GELU use, and one past 2^24.
    const float exponents[] = {4.0f, 5.0f, -1.0f, -2.0f, -3.0f, 0.5f, -0.5f, 1.5f, 2.5f, 0.3333333f, 7.1f, -9.75f,
                               100.0f, 0.001f, 33.3f, -150.0f, 1e-7f, 12345.678f, 16777218.0f};
    Worst worst;
    float worst_y = 0;
    for (const float y : exponents) {
        const Worst w = sweep([y](float x) { return vmath::pow(x, y); }, [y](double x) { return std::pow(x, static_cast<double>(y)); });
        if (w.ulps > worst.ulps) {
            worst = w;
            worst_y = y;
        }
    }
    INFO("pow: worst " << worst.ulps << " ulp at x = " << worst.at << ", y = " << worst_y);
    CHECK(worst.ulps <= 1.0);
    WARN("pow: worst error " << worst.ulps << " ulp (x = " << worst.at << ", y = " << worst_y << ")");
}

TEST_CASE("vmath: pow's special cases are C99's (Annex F), as the C library's powf", "[vmath]") {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float values[] = {0.0f, -0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -0.5f, 3.0f, -3.0f, inf, -inf, nan, 1e-45f, -1e-45f,
                            3e38f, -3e38f, 2.5f, -2.5f, 16777216.0f, -16777215.0f, 8388609.0f, -8388609.0f};
    for (const float x : values) {
        for (const float y : values) {
            const float expected = std::pow(x, y);
            const float got = vmath::pow(x, y);
            INFO("pow(" << x << ", " << y << "): libm " << expected << ", vmath " << got);
            if (std::isnan(expected)) {
                CHECK(std::isnan(got));
            } else if (std::isinf(expected) || expected == 0.0f) {
                CHECK(std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(expected));  // the sign of a zero too
            } else {
                CHECK(ulp_error(got, std::pow(static_cast<double>(x), static_cast<double>(y))) <= 1.0);
            }
        }
    }
}
