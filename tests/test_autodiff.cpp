#include <cmath>

#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::message_of;
using symgrad::testing::random_bindings;
using symgrad::testing::require_passes;

TEST_CASE("the example from the README: per-unit beta gets a gradient of shape [U]", "[autodiff]") {
    constexpr std::int64_t B = 5;
    constexpr std::int64_t U = 4;
    auto x = var("x", {B, U});
    auto beta = var("beta", {U});
    auto y = x * sigmoid(beta * x);
    auto [dx, dbeta] = grad(y, {x, beta});
    CHECK(dx.shape() == Shape{B, U});
    CHECK(dbeta.shape() == Shape{U});
    CHECK(to_string(dbeta) == "let t1 = sigmoid(beta * x)\nsum(x * (t1 * (1 - t1)) * x, axes=[0])");
    const Expr vars[] = {x, beta};
    const Bindings at = random_bindings(vars, -2, 2, 1);
    require_passes(gradcheck(y, vars, at), "swish_beta");
    require_passes(gradgradcheck(y, vars, at), "swish_beta");
}

TEST_CASE("the seed activation's per-unit gradients agree with finite differences to 1e-8", "[autodiff]") {
    constexpr std::int64_t B = 8;
    constexpr std::int64_t U = 6;
    const Expr x = var("x", {B, U});
    const Expr p1 = var("p1", {U});
    const Expr p2 = var("p2", {U});
    const Expr b1 = var("b1", {U});
    const Expr b2 = var("b2", {U});
    const Expr y = p1 * sigmoid(p2 * x + b1) + b2;
    const Expr wrt[] = {x, p1, p2, b1, b2};
    const auto grads = grad(y, wrt);
    for (std::size_t i = 1; i < 5; ++i) CHECK(grads[i].shape() == Shape{U});
    const Bindings at = random_bindings(wrt, -1.5, 1.5, 3);
    for (bool random : {true, false}) {
        GradcheckOptions options;
        options.random_projection = random;
        const auto report = gradcheck(y, wrt, at, options);
        INFO(to_string(report));
        CHECK(report.passed);
        CHECK(report.max_rel_error < 1e-8);
    }
    // The bias gradient of sum(y) counts the batch.
    const Tensor db2 = evaluate(grads[4], at);
    for (std::int64_t u = 0; u < U; ++u) CHECK(db2.get(u) == B);
}

TEST_CASE("grad returns one expression per wrt, with its shape, also for lists", "[autodiff]") {
    const Expr x = var("x", {3, 2});
    const Expr w = var("w", {2});
    const Expr unused = var("unused", {7});
    const std::vector<Expr> wrt = {x, w, unused};
    const auto grads = grad(sum(x * w) * 2.0, wrt);
    REQUIRE(grads.size() == 3);
    CHECK(grads[0].shape() == Shape{3, 2});
    CHECK(grads[1].shape() == Shape{2});
    CHECK(grads[2].shape() == Shape{7});
    const Tensor zeros = evaluate(grads[2], {});
    for (auto v : zeros.to_vector()) CHECK(v == 0);
}

TEST_CASE("branches that get no gradient get no nodes", "[autodiff]") {
    const Expr x = var("x", {3});
    const Expr z = var("z", {3});
    const Expr y = x * 2.0 + sin(z) * exp(z);
    const Expr dx = grad(y, {x})[0];
    const Expr roots[] = {dx};
    for (const Node* node : topo_order(roots)) {
        CHECK(node->op() != Op::cos);
        CHECK(node->op() != Op::exp);
        CHECK(node != z.get());
    }
    CHECK(to_string(dx) == "broadcast_to(2, [3])");
}

TEST_CASE("a seed weights the output; a wrong seed is refused with both shapes", "[autodiff]") {
    const Expr x = var("x", {2, 3});
    const Expr seed = var("seed", {2, 3});
    const Expr y = x * x;
    const Expr dx = grad(y, {x}, seed)[0];
    const Bindings at = {{"x", Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6})}, {"seed", Tensor::from_values({2, 3}, {1, 0, 2, 0, 1, 1})}};
    CHECK(evaluate(dx, at).to_vector() == std::vector<double>{2, 0, 12, 0, 10, 12});
    CHECK(message_of([&] { grad(y, {x}, var("s", {4})); }) ==
          "grad: the seed has shape [4], which does not broadcast to the output's shape [2, 3] ('x * x')");
    CHECK(message_of([&] { grad(y, {x}, var("s", {2, 3}, DType::float32)); }).find("the seed is float32") != std::string::npos);
    CHECK(message_of([&] { grad(Expr(), {x}); }).find("empty") != std::string::npos);
}

TEST_CASE("gradients of gradients: second and third derivatives of tanh", "[autodiff]") {
    const Expr x = var("x", {5});
    const Expr y = tanh(x);
    const Expr d1 = grad(y, {x})[0];
    const Expr d2 = grad(d1, {x})[0];
    const Expr d3 = grad(d2, {x})[0];
    const Tensor at = Tensor::uniform({5}, -2, 2, 9);
    const auto values = evaluate(std::vector<Expr>{d1, d2, d3}, {{"x", at}});
    for (std::int64_t i = 0; i < 5; ++i) {
        const double t = std::tanh(at.get(i));
        CHECK(values[0].get(i) == Approx(1 - t * t).epsilon(1e-14));
        CHECK(values[1].get(i) == Approx(-2 * t * (1 - t * t)).epsilon(1e-13));
        CHECK(values[2].get(i) == Approx(-2 * (1 - t * t) * (1 - 3 * t * t)).epsilon(1e-12));
    }
}

TEST_CASE("hvp equals the Hessian times the vector, and both match finite differences", "[autodiff]") {
    const Expr x = var("x", {3});
    const Expr y = sum(sin(x) * x) * sum(x * x) + x * exp(x);
    const Expr v = var("v", {3});
    const Expr h = hessian(y, x);
    CHECK(h.shape() == Shape{3, 3});
    const Expr hv = hvp(y, x, v);
    const Tensor at = Tensor::from_values({3}, {0.3, -0.7, 1.1});
    const Tensor dir = Tensor::from_values({3}, {1.0, 2.0, -0.5});
    const Bindings b = {{"x", at}, {"v", dir}};
    const Tensor H = evaluate(h, b);
    const Tensor HV = evaluate(hv, b);
    // Symmetric, and H v == hvp.
    for (std::int64_t i = 0; i < 3; ++i) {
        double row = 0;
        for (std::int64_t j = 0; j < 3; ++j) {
            CHECK(H.at({i, j}) == Approx(H.at({j, i})).epsilon(1e-12));
            row += H.at({i, j}) * dir.get(j);
        }
        CHECK(HV.get(i) == Approx(row).epsilon(1e-12));
    }
    // Each Hessian column by central differences of the gradient.
    const Expr g = grad(y, {x})[0];
    const double eps = 1e-5;
    for (std::int64_t j = 0; j < 3; ++j) {
        Tensor plus = at.clone();
        Tensor minus = at.clone();
        plus.set(j, at.get(j) + eps);
        minus.set(j, at.get(j) - eps);
        const Tensor gp = evaluate(g, {{"x", plus}});
        const Tensor gm = evaluate(g, {{"x", minus}});
        for (std::int64_t i = 0; i < 3; ++i) CHECK(H.at({i, j}) == Approx((gp.get(i) - gm.get(i)) / (2 * eps)).epsilon(1e-7));
    }
    CHECK(message_of([&] { hvp(y, x, var("v", {4})); }).find("shape [4]") != std::string::npos);
    CHECK(message_of([&] { hessian(y, var("big", {2000})); }).find("use hvp()") != std::string::npos);
}

TEST_CASE("a Hessian of a matrix variable has shape x.shape ++ x.shape", "[autodiff]") {
    const Expr w = var("w", {2, 2});
    const Expr h = hessian(sum(w * w * w), w);
    CHECK(h.shape() == Shape{2, 2, 2, 2});
    const Tensor H = evaluate(h, {{"w", Tensor::from_values({2, 2}, {1, 2, 3, 4})}});
    CHECK(H.at({1, 0, 1, 0}) == 18);  // d2/dw^2 of w^3 = 6w, at w = 3
    CHECK(H.at({1, 0, 0, 1}) == 0);
}

TEST_CASE("gradients print like a hand derivation", "[autodiff]") {
    const Expr x = var("x", {});
    CHECK(to_string(grad(tanh(x), {x})[0]) == "let t1 = tanh(x)\n1 - t1 * t1");
    CHECK(to_string(grad(x * x, {x})[0]) == "x + x");
    CHECK(to_string(grad(exp(2.0 * x), {x})[0]) == "exp(2 * x) * 2");
    CHECK(to_string(grad(pow(x, 3), {x})[0]) == "3 * x ^ 2");
    CHECK(to_string(grad(pow(x, 0), {x})[0]) == "0");
    CHECK(to_string(grad(log(x) / x, {x})[0]) == "-(log(x) / x / x) + 1 / x / x");
    // Reductions and reshapes hand the symbolic one back: no "1 *".
    const Expr v = var("v", {3});
    CHECK(to_string(grad(sum(sin(v)), {v})[0]) == "cos(v)");
    CHECK(to_string(grad(reshape(sin(v), {3, 1}), {v})[0]) == "cos(v)");
    CHECK(to_string(grad(mean(sin(v)), {v})[0]) == "0.3333333333333333 * cos(v)");
    CHECK(to_string(grad(sum(v * v), {v})[0]) == "v + v");
}

TEST_CASE("reduce_to_shape sums broadcast axes and counts where the adjoint is constant", "[autodiff]") {
    const Expr g = var("g", {4, 3});
    CHECK(to_string(reduce_to_shape(g, {3}, {4, 3})) == "sum(g, axes=[0])");
    CHECK(to_string(reduce_to_shape(g, {4, 1}, {4, 3})) == "sum(g, axes=[1], keepdims=true)");
    CHECK(to_string(reduce_to_shape(g, {}, {4, 3})) == "sum(g)");
    CHECK(to_string(reduce_to_shape(constant(1.0), {3}, {4, 3})) == "4");
    CHECK(to_string(reduce_to_shape(var("h", {3}), {}, {4, 3})) == "sum(h) * 4");
    CHECK(to_string(unbroadcast(var("h", {3}), {4, 3}, {4, 3})) == "broadcast_to(h, [4, 3])");
    const Expr k = var("k", {2, 4, 3});
    CHECK(to_string(reduce_to_shape(k, {4, 1}, {2, 4, 3})) == "reshape(sum(k, axes=[0, 2], keepdims=true), [4, 1])");
}

TEST_CASE("a where() branch's adjoint flows on through a matmul and a reduction", "[autodiff]") {
    // where() marks which elements of its branches can get a gradient; a structural node below a branch (a matmul
    // changes the shape, a sum too) takes the mark on its own adjoint, not on its operands' (found by prelu in an MLP).
    const Expr x = var("x", {5, 3});
    const Expr w = var("w", {3, 4});
    const Expr a = var("a", {4});
    const Expr v = var("v", {4, 3});
    const Expr h = matmul(x, w);
    const Expr y = sum(tanh(x + matmul(where(h > 0, h, a * h), v)));
    const Expr s = sum(x, {1});
    const Expr z = sum(where(s > 0, s, 0.5 * s) * where(s > 1, 0, sum(x * x, {1})));
    const Expr wrt[] = {x, w, a, v};
    const Expr roots[] = {y};
    const Bindings at = random_bindings(roots, -1, 1, 3);
    require_passes(gradcheck(y, wrt, at), "prelu between two matmuls");
    require_passes(gradgradcheck(y, wrt, at), "prelu between two matmuls");
    const Expr x_only[] = {x};
    require_passes(gradcheck(z, x_only, at), "where over row sums");
    require_passes(gradgradcheck(z, x_only, at), "where over row sums");
}
