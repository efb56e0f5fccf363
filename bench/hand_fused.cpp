// The hand-written reference points of docs/performance.md: swish_beta and PAU (5,4), forward and backward, each
// as one loop written by hand (the backward recomputes the cheap intermediates from x; parameter gradients are
// reduced in the same loop). float32, x of shape [B, U] (default 4096 x 1024), one thread, medians of 15. This is
// the speed a kernel written for one expression reaches; the engine runs any expression. Built twice
// (bench/CMakeLists.txt):
// - hand_fused: -O3 -march=native -ffast-math, what ../shared/ANCHORS.md calls "hand-fused";
// - hand_exact (SYMGRAD_EXACT): symgrad's own semantics, the limit for the engine: the table's kernels (vmath's exp,
//   sigmoid and softplus as src/math/piecewise.inc writes them: one division, stable for any x), no fast-math, no
//   contracted multiply-adds (-ffp-contract=off), per-unit and shared parameter gradients summed in double.
// Usage: hand_fused [B U]   /   hand_exact [B U]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#ifdef SYMGRAD_EXACT
#include "../src/math/vmath.hpp"
#endif

namespace {

using Clock = std::chrono::steady_clock;

template <class F> double median_ms(F&& f) {
    std::vector<double> times;
    for (int r = 0; r < 17; ++r) {
        const auto start = Clock::now();
        f();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (r >= 2) times.push_back(ms);  // two warm-up runs
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

std::vector<float> uniform(std::size_t n, float lo, float hi, unsigned seed) {
    std::vector<float> v(n);
    std::srand(seed);
    for (auto& e : v) e = lo + (hi - lo) * static_cast<float>(std::rand()) / static_cast<float>(RAND_MAX);
    return v;
}

#ifdef SYMGRAD_EXACT
// The kernel's sigmoid (src/math/piecewise.inc with vmath's exp): exp(-|z|), one division.
inline float sigmoid(float z) {
    const float e = symgrad::vmath::exp(z >= 0.0f ? -z : z);
    return (z >= 0.0f ? 1.0f : e) / (1.0f + e);
}
using Sum = double;  // the engine sums parameter gradients in double
constexpr const char* flavour = "exact (symgrad's kernels, -O3 -march=native -ffp-contract=off, sums in double)";
#else
inline float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }
using Sum = float;
constexpr const char* flavour = "hand-fused (-O3 -march=native -ffast-math)";
#endif

}  // namespace

int main(int argc, char** argv) {
    const std::size_t B = argc > 2 ? std::strtoul(argv[1], nullptr, 10) : 4096;
    const std::size_t U = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1024;
    const std::size_t n = B * U;
    const auto x = uniform(n, -2, 2, 1);
    const auto dy = uniform(n, -1, 1, 2);
    const auto beta = uniform(U, -2, 2, 3);
    std::vector<float> y(n), dx(n);
    std::vector<Sum> dbeta(U);

    // swish_beta: y = x * sigmoid(beta * x); dx = dy * (s + beta x s (1 - s)); dbeta = sum_b dy x^2 s (1 - s).
    const double swish_fwd = median_ms([&] {
        for (std::size_t b = 0; b < B; ++b) {
            const float* xb = x.data() + b * U;
            float* yb = y.data() + b * U;
            for (std::size_t j = 0; j < U; ++j) yb[j] = xb[j] * sigmoid(beta[j] * xb[j]);
        }
    });
    const double swish_bwd = median_ms([&] {
        std::fill(dbeta.begin(), dbeta.end(), Sum(0));
        for (std::size_t b = 0; b < B; ++b) {
            const float* xb = x.data() + b * U;
            const float* gb = dy.data() + b * U;
            float* dxb = dx.data() + b * U;
            for (std::size_t j = 0; j < U; ++j) {
                const float s = sigmoid(beta[j] * xb[j]);
                const float ds = s * (1.0f - s);
                dxb[j] = gb[j] * (s + beta[j] * xb[j] * ds);
                dbeta[j] += static_cast<Sum>(gb[j] * xb[j] * xb[j] * ds);
            }
        }
    });

    // PAU (5,4), shared coefficients: y = P(x) / (1 + |x Q(x)|) in Horner form; ten scalar gradients.
    const float a[6] = {0.03f, 0.5f, 0.8f, 0.3f, 0.05f, 0.01f};
    const float c[4] = {0.2f, 0.6f, 0.1f, 0.02f};
    const double pau_fwd = median_ms([&] {
        for (std::size_t i = 0; i < n; ++i) {
            const float v = x[i];
            const float p = a[0] + v * (a[1] + v * (a[2] + v * (a[3] + v * (a[4] + v * a[5]))));
            const float q = v * (c[0] + v * (c[1] + v * (c[2] + v * c[3])));
            y[i] = p / (1.0f + std::fabs(q));
        }
    });
    Sum da[6];
    Sum dc[4];
    // The backward's per-element part: dx, and the terms of the ten parameter gradients (the exact loop's). The
    // fast-math loop below writes the same lines out: called through this lambda, or through one returning the two
    // adjoints, g++ 12 no longer vectorized its float sums, and its backward took 34 ms instead of 3 to 5.
    [[maybe_unused]] auto pau_element = [&](float v, float dyv, float& dxv, float* terms) {
        const float p = a[0] + v * (a[1] + v * (a[2] + v * (a[3] + v * (a[4] + v * a[5]))));
        const float dp = a[1] + v * (2 * a[2] + v * (3 * a[3] + v * (4 * a[4] + v * 5 * a[5])));
        const float q = v * (c[0] + v * (c[1] + v * (c[2] + v * c[3])));
        const float dq = c[0] + v * (2 * c[1] + v * (3 * c[2] + v * 4 * c[3]));
        const float sq = q > 0 ? 1.0f : (q < 0 ? -1.0f : 0.0f);
        const float den = 1.0f + std::fabs(q);
        const float g = dyv / den;
        const float h = -g * p / den * sq;  // d loss / d q
        dxv = g * dp + h * dq;
        float vk = 1.0f;
        for (int k = 0; k < 6; ++k) {
            terms[k] = g * vk;
            vk *= v;
        }
        vk = v;
        for (int k = 0; k < 4; ++k) {
            terms[6 + k] = h * vk;
            vk *= v;
        }
    };
    const double pau_bwd = median_ms([&] {
#ifdef SYMGRAD_EXACT
        // In double and in the engine's order for a sum of everything (src/math/reduce_order.hpp): 64 accumulators
        // per gradient, element i into accumulator i mod 64, folded at the end; the 64 lanes vectorize.
        constexpr std::size_t lanes = 64;
        static std::vector<double> partial(10 * lanes);
        std::fill(partial.begin(), partial.end(), 0.0);
        for (std::size_t start = 0; start < n; start += lanes) {
            const std::size_t count = std::min(lanes, n - start);
            for (std::size_t j = 0; j < count; ++j) {
                float terms[10];
                pau_element(x[start + j], dy[start + j], dx[start + j], terms);
                for (std::size_t k = 0; k < 10; ++k) partial[k * lanes + j] += static_cast<double>(terms[k]);
            }
        }
        for (std::size_t k = 0; k < 10; ++k) {
            double total = 0;
            for (std::size_t j = 0; j < lanes; ++j) total += partial[k * lanes + j];
            (k < 6 ? da[k] : dc[k - 6]) = total;
        }
#else
        Sum ga[6] = {0, 0, 0, 0, 0, 0};
        Sum gc[4] = {0, 0, 0, 0};
        for (std::size_t i = 0; i < n; ++i) {
            const float v = x[i];
            const float p = a[0] + v * (a[1] + v * (a[2] + v * (a[3] + v * (a[4] + v * a[5]))));
            const float dp = a[1] + v * (2 * a[2] + v * (3 * a[3] + v * (4 * a[4] + v * 5 * a[5])));
            const float q = v * (c[0] + v * (c[1] + v * (c[2] + v * c[3])));
            const float dq = c[0] + v * (2 * c[1] + v * (3 * c[2] + v * 4 * c[3]));
            const float sq = q > 0 ? 1.0f : (q < 0 ? -1.0f : 0.0f);
            const float den = 1.0f + std::fabs(q);
            const float g = dy[i] / den;
            const float h = -g * p / den * sq;  // d loss / d q
            dx[i] = g * dp + h * dq;
            float vk = 1.0f;
            for (int k = 0; k < 6; ++k) {
                ga[k] += g * vk;
                vk *= v;
            }
            vk = v;
            for (int k = 0; k < 4; ++k) {
                gc[k] += h * vk;
                vk *= v;
            }
        }
        std::copy(ga, ga + 6, da);
        std::copy(gc, gc + 4, dc);
#endif
    });
    std::printf("%s loops, float32, x [%zu, %zu], one thread, median of 15\n", flavour, B, U);
    std::printf("%-12s %10s %10s %10s\n", "activation", "fwd ms", "bwd ms", "fwd+bwd");
    std::printf("%-12s %10.3f %10.3f %10.3f\n", "swish_beta", swish_fwd, swish_bwd, swish_fwd + swish_bwd);
    std::printf("%-12s %10.3f %10.3f %10.3f\n", "PAU (5,4)", pau_fwd, pau_bwd, pau_fwd + pau_bwd);
    // Keep the results alive.
    double check = 0;
    for (std::size_t i = 0; i < n; i += 4099) check += dx[i] + y[i];
    for (Sum v : dbeta) check += static_cast<double>(v);
    for (Sum v : da) check += static_cast<double>(v);
    for (Sum v : dc) check += static_cast<double>(v);
    std::printf("(checksum %g)\n", check);
    return 0;
}
