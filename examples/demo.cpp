// The quick-start demo: differentiate the seed activation p1 * sigmoid(p2 * x + b1) + b2, whose four
// parameters are per-unit (shape [U]) while x is a batch (shape [B, U]), print the derivatives, their
// shapes, their values at a random point, and check them against finite differences.
#include <cstdio>

#include <symgrad/symgrad.hpp>

int main() {
    using namespace symgrad;
    constexpr std::int64_t batch = 4;
    constexpr std::int64_t units = 3;

    const Expr x = var("x", {batch, units});
    const Expr p1 = var("p1", {units});
    const Expr p2 = var("p2", {units});
    const Expr b1 = var("b1", {units});
    const Expr b2 = var("b2", {units});
    const Expr y = p1 * sigmoid(p2 * x + b1) + b2;

    const Expr wrt[] = {x, p1, p2, b1, b2};
    const auto grads = grad(y, wrt);
    const std::vector<std::string> names = {"dx", "dp1", "dp2", "db1", "db2"};

    fmt::print("activation:\n  y = {}\n\n", to_string(y));
    fmt::print("gradients of sum(y):\n{}\n\n", to_string(grads, names));
    for (std::size_t i = 0; i < grads.size(); ++i) {
        fmt::print("  {:<4} has shape {:<7} (its variable: {})\n", names[i], grads[i].shape(), wrt[i].shape());
    }

    const Bindings at = {
        {"x", Tensor::normal({batch, units}, 0.0, 2.0, 1)}, {"p1", Tensor::uniform({units}, 0.5, 1.5, 2)},
        {"p2", Tensor::uniform({units}, 0.5, 1.5, 3)},      {"b1", Tensor::uniform({units}, -0.5, 0.5, 4)},
        {"b2", Tensor::uniform({units}, -0.5, 0.5, 5)},
    };
    const auto values = evaluate(grads, at);
    fmt::print("\nat a random point:\n");
    for (std::size_t i = 0; i < values.size(); ++i) fmt::print("{} =\n{}\n", names[i], values[i]);

    const auto first = gradcheck(y, wrt, at);
    const auto second = gradgradcheck(y, wrt, at);
    fmt::print("\n{}\n\n{}\n", to_string(first), to_string(second));
    return first.passed && second.passed ? 0 : 1;
}
