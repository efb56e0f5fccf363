// Operation counts of the gradients of the activations in docs/performance.md: the forward graph, the raw
// gradient (as the reverse sweep builds it), the simplified gradient, and a hand derivation written out
// below. All gradients of one activation (x and every parameter) count together, shared nodes once;
// variables and constants are not operations. x has shape [64, 16]; parameters are per-unit [16] or shared [].
#include <functional>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

namespace {

constexpr std::int64_t B = 64;
constexpr std::int64_t U = 16;

struct Activation {
    std::string name;
    std::string text;
    std::map<std::string, Shape, std::less<>> shapes;  // besides x
    // The hand derivation: gradients of sum(y) in the order of the expression's variables.
    std::function<std::vector<Expr>(std::function<Expr(const std::string&)>)> by_hand;
};

Expr per_unit_sum(const Expr& e) { return sum(e, {0}); }

std::vector<Activation> activations() {
    const Shape unit{U};
    const Shape shared{};
    return {
        {"swish_beta",
         "x * sigmoid(beta * x)",
         {{"beta", unit}},
         [](auto v) {
             const Expr x = v("x"), beta = v("beta");
             const Expr s = sigmoid(beta * x);
             const Expr d = x * (s * (1 - s));
             return std::vector<Expr>{s + beta * d, per_unit_sum(x * d)};
         }},
        {"seed",
         "p1 * sigmoid(p2 * x + b1) + b2",
         {{"p1", unit}, {"p2", unit}, {"b1", unit}, {"b2", unit}},
         [](auto v) {
             const Expr x = v("x"), p1 = v("p1"), p2 = v("p2"), b1 = v("b1");
             const Expr s = sigmoid(p2 * x + b1);
             const Expr g = p1 * (s * (1 - s));
             return std::vector<Expr>{per_unit_sum(s), per_unit_sum(x * g), p2 * g, per_unit_sum(g),
                                      broadcast_to(constant(static_cast<double>(B)), {U})};
         }},
        {"PAU (5,4)",
         "(a0 + a1*x + a2*x^2 + a3*x^3 + a4*x^4 + a5*x^5) / (1 + abs(b1*x + b2*x^2 + b3*x^3 + b4*x^4))",
         {{"a0", shared},
          {"a1", shared},
          {"a2", shared},
          {"a3", shared},
          {"a4", shared},
          {"a5", shared},
          {"b1", shared},
          {"b2", shared},
          {"b3", shared},
          {"b4", shared}},
         [](auto v) {
             const Expr x = v("x");
             const Expr x2 = x * x, x3 = x2 * x, x4 = x3 * x, x5 = x4 * x;
             const Expr p = v("a0") + v("a1") * x + v("a2") * x2 + v("a3") * x3 + v("a4") * x4 + v("a5") * x5;
             const Expr r = v("b1") * x + v("b2") * x2 + v("b3") * x3 + v("b4") * x4;
             const Expr inverse_q = 1 / (1 + abs(r));
             const Expr w = p * inverse_q * inverse_q * sign(r);
             const Expr dp = v("a1") + 2 * v("a2") * x + 3 * v("a3") * x2 + 4 * v("a4") * x3 + 5 * v("a5") * x4;
             const Expr dr = v("b1") + 2 * v("b2") * x + 3 * v("b3") * x2 + 4 * v("b4") * x3;
             return std::vector<Expr>{sum(inverse_q),      sum(x * inverse_q),  dp * inverse_q - w * dr,
                                      sum(x2 * inverse_q), sum(x3 * inverse_q), sum(x4 * inverse_q),
                                      sum(x5 * inverse_q), -sum(x * w),         -sum(x2 * w),
                                      -sum(x3 * w),        -sum(x4 * w)};
         }},
        {"PReLU",
         "max(x, 0) + a * min(x, 0)",
         {{"a", unit}},
         [](auto v) {
             const Expr x = v("x");
             return std::vector<Expr>{where(x > 0, 1, v("a")), per_unit_sum(minimum(x, 0))};
         }},
        {"GELU (tanh)",
         "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))",
         {},
         [](auto v) {
             const Expr x = v("x");
             const Expr t = tanh(0.7978845608028654 * (x + 0.044715 * x * x * x));
             return std::vector<Expr>{0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.7978845608028654 * (1 + 0.134145 * x * x)};
         }},
        {"Mish",
         "x * tanh(softplus(x))",
         {},
         [](auto v) {
             const Expr x = v("x");
             const Expr t = tanh(softplus(x));
             return std::vector<Expr>{t + x * (1 - t * t) * sigmoid(x)};
         }},
        {"ELU",
         "where(x > 0, x, alpha * expm1(x))",
         {{"alpha", shared}},
         [](auto v) {
             const Expr x = v("x");
             const Expr positive = x > 0;
             return std::vector<Expr>{where(positive, 1, v("alpha") * exp(x)), sum(where(positive, 0, expm1(x)))};
         }},
        {"Snake",
         "x + sin(a * x)^2 / a",
         {{"a", unit}},
         [](auto v) {
             const Expr x = v("x"), a = v("a");
             const Expr ax = a * x;
             const Expr s = sin(ax);
             const Expr sin_2ax = sin(2 * ax);
             return std::vector<Expr>{1 + sin_2ax, per_unit_sum(x * sin_2ax / a - s * s / (a * a))};
         }},
    };
}

}  // namespace

int main() {
    fmt::print("| activation | forward | raw gradient | simplified gradient | hand derivation |\n");
    fmt::print("|---|---:|---:|---:|---:|\n");
    for (const auto& a : activations()) {
        ParseOptions options;
        options.shapes = a.shapes;
        options.shapes["x"] = Shape{B, U};
        const Expr y = parse(a.text, options);
        const Expr roots[] = {y};
        const auto vars = variables(roots);
        const auto raw = grad(y, vars);
        const auto simplified = simplify(raw);
        const auto hand = a.by_hand([&](const std::string& name) { return var(name, options.shapes.at(name)); });
        if (hand.size() != vars.size()) {
            fmt::print(stderr, "{}: the hand derivation has {} gradients, the expression {} variables\n", a.name, hand.size(), vars.size());
            return 1;
        }
        // The hand derivation must be right, or its count means nothing.
        const Bindings at = [&] {
            Bindings b;
            std::uint64_t seed = 1;
            for (const auto& v : vars) b.emplace(v.node().attrs().name, Tensor::uniform(v.shape(), 0.2, 1.3, seed++));
            return b;
        }();
        const auto expected = evaluate(raw, at);
        const auto mine = evaluate(hand, at);
        for (std::size_t k = 0; k < vars.size(); ++k) {
            for (std::int64_t i = 0; i < expected[k].numel(); ++i) {
                const double e = expected[k].get(i);
                if (std::fabs(mine[k].get(i) - e) > 1e-6 * (1 + std::fabs(e))) {
                    fmt::print(stderr, "{}: the hand derivation of d/d{} is wrong at {}: {} vs {}\n", a.name, vars[k].node().attrs().name,
                               i, mine[k].get(i), e);
                    return 1;
                }
            }
        }
        fmt::print("| {} `{}` | {} | {} | {} | {} |\n", a.name, a.text, operation_count(roots), operation_count(raw),
                   operation_count(simplified), operation_count(hand));
    }
    return 0;
}
