// The float32 exp, log, log1p, expm1, tanh, erf and pow of src/math/vmath.hpp (which the table's float32 kernels use) against the
// C library's float64 functions, over a sweep of every 509th float and the special values.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <catch2/catch.hpp>

#include "../src/math/ops_kernels.hpp"
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

// ([slow]: left out under emulated CPUs, where it takes half a minute: products in one order, nothing CPU-dependent.)
TEST_CASE("pow with a whole exponent from 2 to 8 is a product within n - 1 ulp of the exact power", "[vmath][slow]") {
    // symgrad's definition (src/math/ops_kernels.hpp, power<n>), measured against the exact power (in double, exact
    // for these) wherever the result is a normal float: every 509th float.
    const auto check = [](auto n_constant) {
        constexpr int n = decltype(n_constant)::value;
        double worst = 0;
        float worst_at = 0;
        for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 509) {
            const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
            const double exact = std::pow(static_cast<double>(x), n);
            if (std::isnan(exact) || std::fabs(exact) < double(std::numeric_limits<float>::min()) ||
                std::fabs(exact) > double(std::numeric_limits<float>::max()))
                continue;
            const double e = ulp_error(symgrad::kernels::power<n, float>(x, 0.0f, 0.0f), exact);
            if (e > worst) {
                worst = e;
                worst_at = x;
            }
        }
        INFO("x^" << n << ": worst " << worst << " ulp at x = " << worst_at);
        CHECK(worst <= n - 1);
        // C99's pow for a whole exponent at the special values: signs of zeros and infinities, NaN.
        const float inf = std::numeric_limits<float>::infinity();
        for (const float x : {0.0f, -0.0f, inf, -inf, 1.0f, -1.0f, 1e30f, -1e30f, 1e-30f, -1e-30f}) {
            const float expected = std::pow(x, static_cast<float>(n));
            const float got = symgrad::kernels::power<n, float>(x, 0.0f, 0.0f);
            INFO("(" << x << ")^" << n);
            CHECK(std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(expected));
        }
        CHECK(std::isnan(symgrad::kernels::power<n, float>(std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f)));
        // The general kernel computes the same product when the exponent is n.
        for (const float x : {-1.7f, 0.3f, 2.9f, -0.0f}) {
            CHECK(std::bit_cast<std::uint32_t>(symgrad::kernels::pow<float>(x, static_cast<float>(n), 0.0f)) ==
                  std::bit_cast<std::uint32_t>(symgrad::kernels::power<n, float>(x, 0.0f, 0.0f)));
            CHECK(symgrad::kernels::pow<double>(x, n, 0.0) == symgrad::kernels::power<n, double>(x, 0.0, 0.0));
        }
        WARN("x^" << n << " as a product: worst error " << worst << " ulp (x = " << worst_at << ")");
    };
    check(std::integral_constant<int, 2>{});
    check(std::integral_constant<int, 3>{});
    check(std::integral_constant<int, 4>{});
    check(std::integral_constant<int, 5>{});
    check(std::integral_constant<int, 6>{});
    check(std::integral_constant<int, 7>{});
    check(std::integral_constant<int, 8>{});
}
