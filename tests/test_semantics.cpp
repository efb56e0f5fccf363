// Each "Semantics we promise" line of DESIGN.md, as tests.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace symgrad;

namespace {

// Values of d/dx f and d2/dx2 f at the given points (x is a vector variable).
std::pair<std::vector<double>, std::vector<double>> derivatives(const std::function<Expr(const Expr&)>& f, std::vector<double> points,
                                                                DType dtype = DType::float64) {
    const auto n = static_cast<std::int64_t>(points.size());
    const Expr x = var("x", {n}, dtype);
    const Expr d1 = grad(f(x), {x})[0];
    const Expr d2 = grad(d1, {x})[0];
    const auto values = evaluate(std::vector<Expr>{d1, d2}, {{"x", Tensor::from_values({n}, points, dtype)}});
    return {values[0].to_vector(), values[1].to_vector()};
}

std::vector<double> values_of(const std::function<Expr(const Expr&)>& f, std::vector<double> points, DType dtype = DType::float64) {
    const auto n = static_cast<std::int64_t>(points.size());
    const Expr x = var("x", {n}, dtype);
    return evaluate(f(x), {{"x", Tensor::from_values({n}, points, dtype)}}).to_vector();
}

const double not_a_number = std::numeric_limits<double>::quiet_NaN();
const double infinity = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, sign' = 0", "[semantics]") {
    CHECK(derivatives([](const Expr& x) { return relu(x); }, {-1, 0, 2}).first == std::vector<double>{0, 0, 1});
    CHECK(derivatives([](const Expr& x) { return abs(x); }, {-1, 0, 2}).first == std::vector<double>{-1, 0, 1});
    CHECK(derivatives([](const Expr& x) { return sign(x); }, {-1, 0, 2}).first == std::vector<double>{0, 0, 0});
    CHECK(derivatives([](const Expr& x) { return maximum(x, 0); }, {-1, 0, 2}).first == std::vector<double>{0, 0.5, 1});
}

TEST_CASE("round takes halves to even as torch.round; round, floor and ceil pass no gradient, at their steps too", "[semantics]") {
    const std::vector<double> points{-2.5, -1.5, -0.5, -0.25, 0.5, 1.5, 2.5, 2.7, 3.0};
    for (const DType dtype : {DType::float32, DType::float64}) {
        const auto rounded = values_of([](const Expr& x) { return round(x); }, points, dtype);
        CHECK(rounded == std::vector<double>{-2, -2, -0.0, -0.0, 0, 2, 2, 3, 3});
        CHECK(std::signbit(rounded[2]));  // -0.5 rounds to -0, as in PyTorch
        CHECK(values_of([](const Expr& x) { return floor(x); }, points, dtype) == std::vector<double>{-3, -2, -1, -1, 0, 1, 2, 2, 3});
        CHECK(values_of([](const Expr& x) { return ceil(x); }, points, dtype) == std::vector<double>{-2, -1, -0.0, -0.0, 1, 2, 3, 3, 3});
        // (each with the derivative it must have everywhere, the steps included)
        const std::pair<std::function<Expr(const Expr&)>, double> cases[] = {{[](const Expr& x) { return round(x) * 3; }, 0.0},
                                                                             {[](const Expr& x) { return floor(x) + x; }, 1.0},
                                                                             {[](const Expr& x) { return ceil(x * x); }, 0.0}};
        for (const auto& [f, expected] : cases) {
            const auto [d1, d2] = derivatives(f, points, dtype);
            for (const double d : d1) CHECK(d == expected);
            for (const double d : d2) CHECK(d == 0);
        }
    }
    const auto nan_values = values_of([](const Expr& x) { return round(x) + floor(x) + ceil(x); }, {not_a_number, infinity});
    CHECK(std::isnan(nan_values[0]));
    CHECK(nan_values[1] == infinity);
}

TEST_CASE("comparisons have no gradient", "[semantics]") {
    for (Op op : {Op::lt, Op::le, Op::gt, Op::ge, Op::eq, Op::ne}) {
        INFO(op_info(op).name);
        const Expr x = var("x", {3});
        const Expr operands[] = {x, constant(0.5)};
        const Expr dx = grad(apply_exprs(op, operands) * x, {x})[0];
        // Only the product rule's own term remains: d/dx [cmp(x)] * x = [cmp(x)].
        CHECK(to_string(dx) == to_string(apply_exprs(op, operands)));
    }
}

TEST_CASE("max and min split the gradient evenly on ties", "[semantics]") {
    const Expr a = var("a", {3});
    const Expr b = var("b", {3});
    const Bindings at = {{"a", Tensor::from_values({3}, {1, 2, 3})}, {"b", Tensor::from_values({3}, {0, 2, 5})}};
    const auto max_grads = evaluate(std::vector<Expr>{grad(maximum(a, b), {a, b})[0], grad(maximum(a, b), {a, b})[1]}, at);
    CHECK(max_grads[0].to_vector() == std::vector<double>{1, 0.5, 0});
    CHECK(max_grads[1].to_vector() == std::vector<double>{0, 0.5, 1});
    const auto min_grads = grad(minimum(a, b), {a, b});
    CHECK(evaluate(min_grads[0], at).to_vector() == std::vector<double>{0, 0.5, 1});
    CHECK(evaluate(min_grads[1], at).to_vector() == std::vector<double>{1, 0.5, 0});
}

TEST_CASE("clamp passes the gradient on its closed interval", "[semantics]") {
    const Expr x = var("x", {5});
    const Expr lo = var("lo", {});
    const Expr hi = var("hi", {});
    const auto [dx, dlo, dhi] = grad(clamp(x, lo, hi), {x, lo, hi});
    const Bindings at = {{"x", Tensor::from_values({5}, {-2, -1, 0, 1, 2})}, {"lo", Tensor::scalar(-1)}, {"hi", Tensor::scalar(1)}};
    CHECK(evaluate(dx, at).to_vector() == std::vector<double>{0, 1, 1, 1, 0});
    CHECK(evaluate(dlo, at).item() == 1);  // only x = -2 is below lo
    CHECK(evaluate(dhi, at).item() == 1);  // only x = 2 is above hi
    CHECK(values_of([](const Expr& v) { return clamp(v, -1, 1); }, {-3, 0.5, 3}) == std::vector<double>{-1, 0.5, 1});
}

TEST_CASE("where gives the unselected branch exactly zero gradient, even where its derivative is inf or NaN", "[semantics]") {
    SECTION("where(x > 0, sqrt(x), 0) at x = -1 and x = 0") {
        const auto [d1, d2] = derivatives([](const Expr& x) { return where(x > 0, sqrt(x), 0); }, {-1, 0, 4});
        CHECK(d1 == std::vector<double>{0, 0, 0.25});
        CHECK(d2 == std::vector<double>{0, 0, -1.0 / 32});
    }
    SECTION("where(x != 0, sin(x) / x, 1) at 0: sinc with a finite gradient") {
        const auto [d1, d2] = derivatives([](const Expr& x) { return where(ne(x, 0), sin(x) / x, 1); }, {0, 1e-3, 2});
        CHECK(d1[0] == 0);
        CHECK(d2[0] == 0);
        CHECK(d1[1] == Approx(-1e-3 / 3).epsilon(1e-6));
        CHECK(d1[2] == Approx((2 * std::cos(2.0) - std::sin(2.0)) / 4).epsilon(1e-12));
        CHECK(std::isfinite(d2[1]));
    }
    SECTION("an unselected branch whose value is infinite") {
        const auto [d1, d2] = derivatives([](const Expr& x) { return where(x > 0, 1 / x, x * x); }, {0, -2, 0.5});
        CHECK(d1 == std::vector<double>{0, -4, -4});
        CHECK(d2 == std::vector<double>{2, 2, 16});
    }
    SECTION("through a chain of ops below the where, and a log of a negative number") {
        const auto [d1, d2] = derivatives([](const Expr& x) { return where(x > 0, exp(log(x) * 2), -x); }, {-3, 3});
        CHECK(d1[0] == -1);
        CHECK(d1[1] == Approx(6).epsilon(1e-14));
        CHECK(d2[0] == 0);
        CHECK(d2[1] == Approx(2).epsilon(1e-13));
    }
    SECTION("with a broadcast condition") {
        const Expr x = var("x", {2, 3});
        const Expr c = var("c", {2, 1});
        const Expr dx = grad(where(c, sqrt(x), 0), {x})[0];
        const Tensor value =
            evaluate(dx, {{"x", Tensor::from_values({2, 3}, {-1, 4, 1, -1, 4, 1})}, {"c", Tensor::from_values({2, 1}, {0, 1})}});
        CHECK(value.to_vector()[0] == 0);
        CHECK(value.to_vector()[1] == 0);
        CHECK(std::isnan(value.to_vector()[3]));  // selected: sqrt'(-1) is NaN, and says so
        CHECK(value.to_vector()[4] == 0.25);
    }
}

TEST_CASE("NaN propagates through kinked ops as in PyTorch", "[semantics]") {
    const auto relu_v = values_of([](const Expr& x) { return relu(x); }, {not_a_number});
    CHECK(std::isnan(relu_v[0]));
    CHECK(std::isnan(values_of([](const Expr& x) { return maximum(x, 1); }, {not_a_number})[0]));
    CHECK(std::isnan(values_of([](const Expr& x) { return minimum(1, x); }, {not_a_number})[0]));
    CHECK(std::isnan(values_of([](const Expr& x) { return sign(x); }, {not_a_number})[0]));
    CHECK(std::isnan(values_of([](const Expr& x) { return clamp(x, -1, 1); }, {not_a_number})[0]));
    CHECK(values_of([](const Expr& x) { return relu(x); }, {infinity, -infinity}) == std::vector<double>{infinity, 0});
}

TEST_CASE("sigmoid, softplus and tanh are stable at |x| = 1000 in float32 and float64", "[semantics]") {
    for (DType dtype : {DType::float32, DType::float64}) {
        INFO(dtype_name(dtype));
        const std::vector<double> points = {-1000, -50, 0, 50, 1000};
        const auto s = values_of([](const Expr& x) { return sigmoid(x); }, points, dtype);
        CHECK(s[0] == 0);
        CHECK(s[2] == 0.5);
        CHECK(s[4] == 1);
        CHECK(s[1] == Approx(std::exp(-50.0)).epsilon(1e-6));
        const auto sp = values_of([](const Expr& x) { return softplus(x); }, points, dtype);
        CHECK(sp[0] == 0);
        CHECK(sp[1] == Approx(std::exp(-50.0)).epsilon(1e-6));
        CHECK(sp[2] == Approx(std::log(2.0)).epsilon(1e-7));
        CHECK(sp[3] == 50);
        CHECK(sp[4] == 1000);
        const auto t = values_of([](const Expr& x) { return tanh(x); }, points, dtype);
        CHECK(t[0] == -1);
        CHECK(t[4] == 1);
        for (const auto& f : std::vector<std::function<Expr(const Expr&)>>{[](const Expr& x) { return sigmoid(x); },
                                                                           [](const Expr& x) { return softplus(x); },
                                                                           [](const Expr& x) { return tanh(x); }}) {
            const auto [d1, d2] = derivatives(f, points, dtype);
            for (std::size_t i = 0; i < points.size(); ++i) {
                CHECK(std::isfinite(d1[i]));
                CHECK(std::isfinite(d2[i]));
            }
            CHECK(d2[0] == 0);
            CHECK(d2[4] == 0);
        }
        const auto [sig1, sig2] = derivatives([](const Expr& x) { return sigmoid(x); }, points, dtype);
        CHECK(sig1[0] == 0);
        CHECK(sig1[2] == 0.25);
        CHECK(sig1[4] == 0);
        const auto [sp1, sp2] = derivatives([](const Expr& x) { return softplus(x); }, points, dtype);
        CHECK(sp1[0] == 0);
        CHECK(sp1[4] == 1);
    }
}

TEST_CASE("broadcast operands get gradients summed over the broadcast axes", "[semantics]") {
    const Expr x = var("x", {4, 3});
    const Expr per_unit = var("per_unit", {3});
    const Expr per_row = var("per_row", {4, 1});
    const Expr shared = var("shared", {});
    const Expr y = x * per_unit + per_row * shared;
    const auto g = grad(y, {per_unit, per_row, shared});
    CHECK(g[0].shape() == Shape{3});
    CHECK(g[1].shape() == Shape{4, 1});
    CHECK(g[2].shape() == Shape{});
    const Bindings at = {{"x", Tensor::from_values({4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})},
                         {"per_unit", Tensor::ones({3})},
                         {"per_row", Tensor::from_values({4, 1}, {1, 2, 3, 4})},
                         {"shared", Tensor::scalar(2)}};
    CHECK(evaluate(g[0], at).to_vector() == std::vector<double>{22, 26, 30});
    CHECK(evaluate(g[1], at).to_vector() == std::vector<double>{6, 6, 6, 6});
    CHECK(evaluate(g[2], at).item() == 30);  // 3 units times (1 + 2 + 3 + 4)
}

TEST_CASE("amax: NaN wins, an empty reduction is -inf, ties share the gradient evenly", "[semantics]") {
    const Expr x = var("x", {2, 3});
    const Bindings at = {{"x", Tensor::from_values({2, 3}, {1.0, 5.0, 5.0, NAN, 2.0, 3.0})}};
    const Tensor m = evaluate(amax(x, {1}), at);
    CHECK(m.get(0) == 5.0);
    CHECK(std::isnan(m.get(1)));
    const Tensor g =
        evaluate(grad(amax(x, {1}), std::vector<Expr>{x})[0], {{"x", Tensor::from_values({2, 3}, {1.0, 5.0, 5.0, 4.0, 2.0, 3.0})}});
    CHECK(g.to_vector() == std::vector<double>{0.0, 0.5, 0.5, 1.0, 0.0, 0.0});
    const Expr empty = var("e", {0, 3});
    CHECK(evaluate(amax(empty, {0}), {{"e", Tensor::zeros({0, 3})}}).to_vector() == std::vector<double>(3, -INFINITY));
    CHECK(to_string(amax(x, {1})) == "amax(x, axes=[1])");
}

TEST_CASE("heaviside: 0, v or 1 by the sign of x, NaN for NaN; its gradient is 0 for x and [x == 0] for v", "[semantics]") {
    const std::vector<double> points{-infinity, -2, -0.0, 0.0, 1e-30, 3, infinity, not_a_number};
    for (const DType dtype : {DType::float32, DType::float64}) {
        const auto steps = values_of([](const Expr& x) { return heaviside(x, 0.25); }, points, dtype);
        for (std::size_t i = 0; i + 1 < points.size(); ++i) {
            INFO(points[i]);
            CHECK(steps[i] == (points[i] == 0 ? 0.25 : (points[i] > 0 ? 1.0 : 0.0)));
            CHECK(!std::signbit(steps[i]));
        }
        CHECK(std::isnan(steps.back()));
        const auto [d1, d2] = derivatives([](const Expr& x) { return heaviside(x, 0.25) * 3; }, {-1, 0, 2}, dtype);
        CHECK(d1 == std::vector<double>{0, 0, 0});
        CHECK(d2 == std::vector<double>{0, 0, 0});
    }
    // d/dv: the elements where x is 0, summed over the axes along which the shared v was broadcast.
    const Expr x = var("x", {4});
    const Expr v = var("v", {});
    const auto dv = evaluate(grad(heaviside(x, v) * 2, {v})[0], {{"x", Tensor::from_values({4}, {0, -1, -0.0, 3})}, {"v", Tensor::scalar(0.5)}});
    CHECK(dv.item() == 4);
}
