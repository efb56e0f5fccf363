// Example 5: fitting a Padé activation unit to GELU. This is how PAU is initialised in the paper (Molina et al. 2020):
// before a network trains, the rational P(x) / (1 + |Q(x)|) of degrees (5, 4) is fitted to a known activation on an
// interval, by gradient descent on its ten coefficients. symgrad derives the gradients of the mean squared error
// with respect to every coefficient and compiles them once; Adam does the rest.
//
//   ./build/release/examples/05_fit_pade_to_gelu
#include <cmath>
#include <iostream>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

int main() {
    constexpr std::int64_t points = 401;
    std::vector<double> grid;
    for (std::int64_t i = 0; i < points; ++i) grid.push_back(-4.0 + 8.0 * static_cast<double>(i) / (points - 1));
    const Expr x = var("x", {points});
    const Expr target = gelu(x);

    // The ten coefficients, shared scalars, starting from the identity: P(x) = x, Q(x) = 0.
    std::vector<nn::Parameter> coefficients;
    std::vector<Operand> a, b;
    for (int j = 0; j <= 5; ++j) {
        const std::string name = fmt::format("a{}", j);
        coefficients.push_back({name, var(name), Tensor::scalar(j == 1 ? 1.0 : 0.0), "activation"});
        a.push_back(coefficients.back().variable);
    }
    for (int k = 1; k <= 4; ++k) {
        const std::string name = fmt::format("b{}", k);
        // Q starts at a small nonzero value, so that |Q| has a gradient (abs'(0) is 0).
        coefficients.push_back({name, var(name), Tensor::scalar(0.01), "activation"});
        b.push_back(coefficients.back().variable);
    }
    const Expr fit = pau(x, a, b);
    const Expr error = fit - target;
    const Expr loss = mean(error * error);
    std::vector<Expr> wrt;
    for (const auto& p : coefficients) wrt.push_back(p.variable);
    std::vector<Expr> outputs{loss, amax(abs(error))};
    for (const Expr& g : grad(loss, wrt)) outputs.push_back(g);
    const Program program = compile(outputs);

    nn::OptimizerOptions options;
    options.kind = "adam";
    options.lr = 0.005;
    const auto adam = nn::make_optimizer(options);
    Bindings at = {{"x", Tensor::from_values({points}, grid)}};
    double first_max_error = 0;
    double max_error = 0;
    constexpr int steps = 20000;
    for (int step = 0; step <= steps; ++step) {
        for (const auto& p : coefficients) at[p.name] = p.value;
        const auto values = program.run(at);
        max_error = values[1].item();
        if (step == 0) first_max_error = max_error;
        if (step % 4000 == 0) std::cout << fmt::format("step {:>4}: mse {:.3e}, max |error| {:.4f}\n", step, values[0].item(), max_error);
        if (step == steps) break;
        adam->step(coefficients, std::vector<Tensor>(values.begin() + 2, values.end()));
        // Gradual learning-rate decay: the last steps polish.
        adam->set_learning_rate(0.005 * (1.0 - 0.95 * step / steps));
    }
    std::cout << "\nfitted coefficients (pau(x, 5, 4, a0, ..., a5, b1, ..., b4)):\n ";
    for (const auto& p : coefficients) std::cout << fmt::format(" {}={:.4f}", p.name, p.value.item());
    std::cout << "\n\nthe fitted activation, to paste into symgrad:\n  pau(x, 5, 4";
    for (const auto& p : coefficients) std::cout << fmt::format(", {:.6g}", p.value.item());
    std::cout << ")\n";
    // It must have improved by far, and fit GELU to within 0.02 on [-4, 4].
    const bool ok = max_error < 0.02 && max_error < first_max_error / 20;
    std::cout << fmt::format("\nmax |pau - gelu| on [-4, 4]: {:.4f} (from {:.4f}) {}\n", max_error, first_max_error, ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
