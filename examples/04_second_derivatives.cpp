// Example 4: second derivatives. A gradient is an expression like any other, so it can be differentiated again:
// the second derivative of an activation as a formula, the Hessian of a small function of a vector, and a
// Hessian-vector product (the Hessian never formed). Each is checked against central differences of the gradient.
//
//   ./build/release/examples/04_second_derivatives
#include <cmath>
#include <iostream>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

namespace {

// Central difference of the gradient g(point) along direction v: (g(p + h v) - g(p - h v)) / 2h, elementwise.
Tensor gradient_difference(const Expr& gradient, const std::string& name, const Tensor& point, const Tensor& direction, Bindings at) {
    constexpr double h = 1e-5;
    Tensor plus = point.clone();
    Tensor minus = point.clone();
    for (std::int64_t i = 0; i < point.numel(); ++i) {
        plus.set(i, point.get(i) + h * direction.get(i));
        minus.set(i, point.get(i) - h * direction.get(i));
    }
    at[name] = plus;
    const Tensor g_plus = evaluate(gradient, at);
    at[name] = minus;
    const Tensor g_minus = evaluate(gradient, at);
    Tensor result = Tensor::zeros(g_plus.shape());
    for (std::int64_t i = 0; i < result.numel(); ++i) result.set(i, (g_plus.get(i) - g_minus.get(i)) / (2 * h));
    return result;
}

double max_difference(const Tensor& a, const Tensor& b) {
    double worst = 0;
    for (std::int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(a.get(i) - b.get(i)));
    return worst;
}

}  // namespace

int main() {
    int failures = 0;
    auto check = [&](const std::string& what, double error) {
        const bool ok = error < 1e-7;
        std::cout << fmt::format("  {}: largest difference {:.1e}  {}\n", what, error, ok ? "PASS" : "FAIL");
        failures += ok ? 0 : 1;
    };

    // 1. swish'' as a formula, and at a few points.
    const Expr x = var("x");
    const Expr beta = var("beta");
    const Expr y = swish(x, beta);
    const Expr d1 = simplify(grad(y, {x})[0]);
    const Expr d2 = simplify(grad(d1, {x})[0]);
    std::cout << "swish(x, beta) = " << to_string(y) << "\n";
    std::cout << "d/dx:\n" << to_string(d1) << "\n";
    std::cout << "d2/dx2:\n" << to_string(d2) << "\n";
    const Tensor xs = Tensor::from_values({5}, {-3.0, -1.0, 0.0, 1.0, 3.0});
    const Expr xv = var("x", {5});
    const Expr d1v = grad(sum(swish(xv, beta)), {xv})[0];
    const Expr d2v = grad(sum(d1v), {xv})[0];
    const Bindings at_x = {{"x", xs}, {"beta", Tensor::scalar(1.5)}};
    std::cout << "  at x = -3, -1, 0, 1, 3 (beta = 1.5): " << fmt::format("{:.6f}", fmt::join(evaluate(d2v, at_x).to_vector(), ", "))
              << "\n";
    check("swish'' vs differences of swish'",
          max_difference(evaluate(d2v, at_x), gradient_difference(d1v, "x", xs, Tensor::ones({5}), at_x)));

    // 2. The Hessian of f(z) = sum(w * softmax(z)) for z of 4 elements: softmax couples them, so it is a full 4x4.
    const Expr z = var("z", {4});
    const Expr w = var("w", {4});
    const Expr f = sum(w * softmax(z));
    const Expr H = hessian(f, z);
    const Bindings at_z = {{"z", Tensor::from_values({4}, {0.5, -1.0, 2.0, 0.0})}, {"w", Tensor::from_values({4}, {1.0, -2.0, 0.5, 3.0})}};
    const Tensor h_value = evaluate(H, at_z);
    std::cout << "\nHessian of sum(w * softmax(z)) at z = [0.5, -1, 2, 0], shape " << to_string(h_value.shape()) << ":\n";
    for (std::int64_t i = 0; i < 4; ++i) {
        std::vector<double> row;
        for (std::int64_t j = 0; j < 4; ++j) row.push_back(h_value.get(i * 4 + j));
        std::cout << fmt::format("  [{:9.5f}]\n", fmt::join(row, ", "));
    }
    const Expr gz = grad(f, {z})[0];
    double worst = 0;
    for (std::int64_t j = 0; j < 4; ++j) {
        Tensor e = Tensor::zeros({4});
        e.set(j, 1.0);
        const Tensor column = gradient_difference(gz, "z", at_z.at("z"), e, at_z);
        for (std::int64_t i = 0; i < 4; ++i) worst = std::max(worst, std::abs(column.get(i) - h_value.get(i * 4 + j)));
    }
    check("Hessian vs differences of the gradient", worst);

    // 3. A Hessian-vector product for the weights of a linear layer with a softmax cross-entropy-like loss:
    //    H v = d/dW (grad(L, W) . v), never forming the 12x12 Hessian.
    const Expr input = var("input", {6, 3});
    const Expr W = var("W", {3, 4});
    const Expr target = var("target", {6, 4});
    const Expr L = -sum(target * log_softmax(matmul(input, W)));
    const Expr v = var("v", {3, 4});
    const Expr Hv = hvp(L, W, v);
    const Bindings at_w = {{"input", Tensor::normal({6, 3}, 0, 1, 1)},
                           {"W", Tensor::normal({3, 4}, 0, 0.5, 2)},
                           {"target", Tensor::uniform({6, 4}, 0, 1, 3)},
                           {"v", Tensor::normal({3, 4}, 0, 1, 4)}};
    std::cout << "\nHessian-vector product of the loss in W [3, 4]: Hv has shape " << to_string(Hv.shape()) << "\n";
    check("Hv vs the difference of gradients along v",
          max_difference(evaluate(Hv, at_w), gradient_difference(grad(L, {W})[0], "W", at_w.at("W"), at_w.at("v"), at_w)));
    // The same product from the full Hessian, reshaped to [12, 12].
    const Tensor full = evaluate(reshape(hessian(L, W), {12, 12}), at_w);
    const Tensor hv = evaluate(Hv, at_w);
    worst = 0;
    for (std::int64_t i = 0; i < 12; ++i) {
        double row = 0;
        for (std::int64_t j = 0; j < 12; ++j) row += full.get(i * 12 + j) * at_w.at("v").get(j);
        worst = std::max(worst, std::abs(row - hv.get(i)));
    }
    check("Hv vs the full Hessian times v", worst);
    std::cout << (failures == 0 ? "\nall second derivatives check out\n" : "\nFAILED\n");
    return failures == 0 ? 0 : 1;
}
