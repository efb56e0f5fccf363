// The activation zoo: composites of primitives, and the catalog that describes them.
#include "symgrad/activations.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace symgrad {

Expr leaky_relu(const Operand& x, const Operand& slope) { return where(x > 0, x, slope * x); }

Expr prelu(const Operand& x, const Operand& a) { return where(x > 0, x, a * x); }

Expr elu(const Operand& x, const Operand& alpha) { return where(x > 0, x, alpha * expm1(x)); }

Expr selu(const Operand& x) {
    constexpr double alpha = 1.6732632423543772848170429916717;
    constexpr double scale = 1.0507009873554804934193349852946;
    return scale * elu(x, alpha);
}

Expr celu(const Operand& x, const Operand& alpha) { return where(x > 0, x, alpha * expm1(x / alpha)); }

Expr gelu(const Operand& x) {
    constexpr double sqrt1_2 = 0.70710678118654752440;
    return 0.5 * x * (1 + erf(x * sqrt1_2));
}

Expr gelu_tanh(const Operand& x) {
    constexpr double sqrt_2_over_pi = 0.79788456080286535588;
    const Expr x2 = x * x;
    return 0.5 * x * (1 + tanh(sqrt_2_over_pi * (x + 0.044715 * (x2 * x))));
}

Expr silu(const Operand& x) { return x * sigmoid(x); }

Expr swish(const Operand& x, const Operand& beta) { return x * sigmoid(beta * x); }

Expr mish(const Operand& x) { return x * tanh(softplus(x)); }

Expr softplus(const Operand& x, const Operand& beta) { return softplus(beta * x) / beta; }

Expr softsign(const Operand& x) { return x / (1 + abs(x)); }

// The bounds are where()s rather than clamp: PyTorch's hardtanh gives x no gradient at x == lo or x == hi,
// while clamp (PyTorch's and ours) passes it on the closed interval.
Expr hardtanh(const Operand& x, const Operand& lo, const Operand& hi) { return where(x <= lo, lo, where(x >= hi, hi, x)); }

Expr hardsigmoid(const Operand& x) { return where(x <= -3, 0, where(x >= 3, 1, (x + 3) / 6)); }

// Closed middle interval: PyTorch's derivative at -3 and 3 is the middle piece's, (2x + 3) / 6.
Expr hardswish(const Operand& x) { return where(x < -3, 0, where(x > 3, x, x * (x + 3) / 6)); }

Expr logsigmoid(const Operand& x) { return neg(softplus(neg(x))); }

Expr tanhshrink(const Operand& x) { return x - tanh(x); }

Expr snake(const Operand& x, const Operand& a) {
    const Expr s = sin(a * x);
    return x + s * s / a;
}

Expr gaussian(const Operand& x, const Operand& sigma) {
    const Expr z = x / sigma;
    return exp(-0.5 * z * z);
}

// sin(x)/x is 0/0 at 0, and its derivatives lose digits near it (sinc'' from the quotient rule subtracts terms of
// size 1/x^2 to get about -1/3: a relative error of 6 eps / x^2). So for |x| < 1 the Taylor series
// sum_k (-1)^k x^(2k) / (2k+1)! takes over, to x^18: the next term, and its second derivative, are below 1e-17 there,
// so the value and its first two derivatives are correct to float64's rounding on both sides of the switch. The
// division sees a safe x (1) where the series is chosen, so neither branch of the where() yields NaN or infinity,
// in the value or in any derivative.
Expr sinc(const Operand& x) {
    const Expr small = abs(x) < 1;
    const Expr safe_x = where(small, 2, x);
    const Expr x2 = x * x;
    constexpr int terms = 10;
    double coefficients[terms];
    coefficients[0] = 1.0;
    for (int k = 1; k < terms; ++k) coefficients[k] = -coefficients[k - 1] / ((2.0 * k) * (2.0 * k + 1));
    Operand series = coefficients[terms - 1];
    for (int k = terms - 1; k-- > 0;) series = coefficients[k] + x2 * series;
    return where(small, series, sin(safe_x) / safe_x);
}

Expr acon_c(const Operand& x, const Operand& p1, const Operand& p2, const Operand& beta) {
    const Expr dx = (p1 - p2) * x;
    return dx * sigmoid(beta * dx) + p2 * x;
}

Expr srelu(const Operand& x, const Operand& tl, const Operand& al, const Operand& tr, const Operand& ar) {
    return where(x >= tr, tr + ar * (x - tr), where(x <= tl, tl + al * (x - tl), x));
}

Expr apl(const Operand& x, std::span<const Operand> a, std::span<const Operand> b) {
    if (a.size() != b.size()) {
        throw ShapeError(fmt::format("apl: {} slopes a_s but {} hinge positions b_s; each hinge needs one of each", a.size(), b.size()));
    }
    Expr result = relu(x);
    for (std::size_t s = 0; s < a.size(); ++s) result = result + a[s] * relu(b[s] - x);
    return result;
}

Expr pau(const Operand& x, std::span<const Operand> numerator, std::span<const Operand> denominator, PauDenominator kind) {
    if (numerator.empty()) throw ShapeError("pau: the numerator needs at least one coefficient (a_0)");
    // Horner's rule: P = a_0 + x (a_1 + x (a_2 + ...)).
    Operand p = numerator.back();
    for (std::size_t k = numerator.size() - 1; k-- > 0;) p = numerator[k] + x * p;
    if (denominator.empty() && numerator.size() == 1) {
        // a constant activation: still one value per element of x
        const Expr c = p * 1;
        return x.is_expr() ? broadcast_to(c, broadcast_shapes(x.expr().shape(), c.shape())) : c;
    }
    if (denominator.empty()) return p * 1;  // an Expr even when every coefficient is a number
    // sum_k b_k x^k = x (b_1 + x (b_2 + ...)); for the sum of absolute values, the same with |b_k| and |x|.
    const bool sum_of_abs = kind == PauDenominator::sum_of_abs;
    const Operand base = sum_of_abs ? Operand(abs(x)) : x;
    auto coefficient = [&](std::size_t k) { return sum_of_abs ? Operand(abs(denominator[k])) : denominator[k]; };
    Operand q = coefficient(denominator.size() - 1);
    for (std::size_t k = denominator.size() - 1; k-- > 0;) q = coefficient(k) + base * q;
    const Expr series = base * q;
    return p / (1 + (sum_of_abs ? series : abs(series)));
}

Expr softmax(const Expr& x, std::int64_t axis) {
    const Expr shifted = x - amax(x, {axis}, true);
    const Expr e = exp(shifted);
    return e / sum(e, {axis}, true);
}

Expr log_softmax(const Expr& x, std::int64_t axis) {
    const Expr shifted = x - amax(x, {axis}, true);
    return shifted - log(sum(exp(shifted), {axis}, true));
}

// ---------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------

namespace {

// An argument that must be a whole number written as a number (a degree, an axis).
std::int64_t whole_number(std::span<const Expr> args, std::size_t index, const char* function, const char* what, std::int64_t lo,
                          std::int64_t hi) {
    const Node& node = args[index].node();
    const double value = node.is_scalar_constant() ? node.scalar_value() : 0.5;
    if (!node.is_scalar_constant() || !(value >= static_cast<double>(lo) && value <= static_cast<double>(hi)) ||
        value != std::trunc(value)) {
        throw ActivationArgumentError(index, fmt::format("{}'s {} must be a whole number from {} to {}", function, what, lo, hi));
    }
    return static_cast<std::int64_t>(value);
}

std::vector<Operand> operands(std::span<const Expr> exprs) { return {exprs.begin(), exprs.end()}; }

Expr build_pau(std::span<const Expr> args, PauDenominator kind, const char* name) {
    constexpr std::int64_t max_degree = 32;
    const std::int64_t m = whole_number(args, 1, name, "numerator degree m", 0, max_degree);
    const std::int64_t n = whole_number(args, 2, name, "denominator degree n", 0, max_degree);
    const std::size_t expected = static_cast<std::size_t>(3 + (m + 1) + n);
    if (args.size() != expected) {
        const std::string a_names = m == 0 ? "a0" : fmt::format("a0..a{}", m);
        const std::string b_names = n == 0 ? "" : n == 1 ? ", then b1" : fmt::format(", then b1..b{}", n);
        // pointing at the first argument too many, or at the last one given when too few
        throw ActivationArgumentError(args.size() > expected ? expected : args.size() - 1,
                                      fmt::format("{}(x, {}, {}, ...) takes {} coefficients after the degrees ({}{}), got {}", name, m, n,
                                                  expected - 3, a_names, b_names, args.size() - 3),
                                      false);
    }
    const std::vector<Operand> a = operands(args.subspan(3, static_cast<std::size_t>(m + 1)));
    const std::vector<Operand> b = operands(args.subspan(static_cast<std::size_t>(4 + m)));
    return pau(args[0], a, b, kind);
}

std::int64_t axis_argument(std::span<const Expr> args, const char* function) {
    if (args.size() < 2) return -1;
    return whole_number(args, 1, function, "axis", -64, 63);
}

using P = ActivationParameter;
constexpr auto per_unit = ParameterRole::per_unit;
constexpr auto shared = ParameterRole::shared;
constexpr auto fixed = ParameterRole::fixed;
constexpr std::size_t many = 3 + 2 * 33;

std::vector<ActivationInfo> make_catalog() {
    std::vector<ActivationInfo> c = {
        {.name = "relu",
         .signature = "relu(x)",
         .formula = "max(x, 0)",
         .latex = "\\max(x, 0)",
         .params = {},
         .torch = "F.relu(x)",
         .note = "a primitive; relu'(0) = 0, while max(x, 0) written out splits the tie: 1/2",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return relu(a[0]); }},
        {.name = "leaky_relu",
         .signature = "leaky_relu(x, slope)",
         .formula = "where(x > 0, x, slope * x)",
         .latex = "\\begin{cases} x & x > 0 \\\\ s x & x \\le 0 \\end{cases}",
         .params = {P{.name = "slope", .default_value = 0.01, .role = fixed, .meaning = "the slope for x <= 0"}},
         .torch = "F.leaky_relu(x, slope)",
         .note = "derivative at 0: slope",
         .min_args = 2,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return leaky_relu(a[0], a[1]); }},
        {.name = "prelu",
         .signature = "prelu(x, a)",
         .formula = "where(x > 0, x, a * x)",
         .latex = "\\begin{cases} x & x > 0 \\\\ a x & x \\le 0 \\end{cases}",
         .params = {P{.name = "a", .default_value = 0.25, .role = per_unit, .meaning = "the learned slope for x <= 0"}},
         .torch = "F.prelu(x, a)",
         .note = "derivative at 0: a (He et al. 2015)",
         .min_args = 2,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return prelu(a[0], a[1]); }},
        {.name = "elu",
         .signature = "elu(x, alpha)",
         .formula = "where(x > 0, x, alpha * expm1(x))",
         .latex = "\\begin{cases} x & x > 0 \\\\ \\alpha (e^x - 1) & x \\le 0 \\end{cases}",
         .params = {P{.name = "alpha", .default_value = 1.0, .role = shared, .meaning = "the value approached as x -> -inf is -alpha"}},
         .torch = "F.elu(x, alpha)",
         .note = "derivative at 0: alpha (Clevert et al. 2016)",
         .min_args = 2,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return elu(a[0], a[1]); }},
        {.name = "selu",
         .signature = "selu(x)",
         .formula = "1.0507009873554805 * where(x > 0, x, 1.6732632423543772 * expm1(x))",
         .latex = "\\lambda \\begin{cases} x & x > 0 \\\\ \\alpha (e^x - 1) & x \\le 0 \\end{cases}",
         .params = {},
         .torch = "F.selu(x)",
         .note = "lambda = 1.0507..., alpha = 1.6733... (Klambauer et al. 2017)",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return selu(a[0]); }},
        {.name = "celu",
         .signature = "celu(x, alpha)",
         .formula = "where(x > 0, x, alpha * expm1(x / alpha))",
         .latex = "\\begin{cases} x & x > 0 \\\\ \\alpha (e^{x/\\alpha} - 1) & x \\le 0 \\end{cases}",
         .params = {P{.name = "alpha", .default_value = 1.0, .role = shared, .meaning = "the scale of the negative part"}},
         .torch = "F.celu(x, alpha)",
         .note = "continuously differentiable for every alpha (Barron 2017)",
         .min_args = 2,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return celu(a[0], a[1]); }},
        {.name = "gelu",
         .signature = "gelu(x)",
         .formula = "0.5 * x * (1 + erf(x * 0.7071067811865476))",
         .latex = "\\frac{x}{2} \\left(1 + \\operatorname{erf}\\frac{x}{\\sqrt 2}\\right)",
         .params = {},
         .torch = "F.gelu(x)",
         .note = "x times the standard normal CDF (Hendrycks and Gimpel 2016)",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return gelu(a[0]); }},
        {.name = "gelu_tanh",
         .signature = "gelu_tanh(x)",
         .formula = "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))",
         .latex = "\\frac{x}{2} \\left(1 + \\tanh\\left(\\sqrt{2/\\pi}\\,(x + 0.044715 x^3)\\right)\\right)",
         .params = {},
         .torch = "F.gelu(x, approximate='tanh')",
         .note = "the tanh approximation of gelu",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return gelu_tanh(a[0]); }},
        {.name = "silu",
         .signature = "silu(x)",
         .formula = "x * sigmoid(x)",
         .latex = "x \\sigma(x)",
         .params = {},
         .torch = "F.silu(x)",
         .note = "swish with beta = 1",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return silu(a[0]); }},
        {.name = "swish",
         .signature = "swish(x, beta)",
         .formula = "x * sigmoid(beta * x)",
         .latex = "x \\sigma(\\beta x)",
         .params = {P{.name = "beta", .default_value = 1.0, .role = per_unit, .meaning = "the sharpness; 1 is silu, large is relu"}},
         .torch = "",
         .note = "Ramachandran et al. 2017",
         .min_args = 2,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return swish(a[0], a[1]); }},
        {.name = "mish",
         .signature = "mish(x)",
         .formula = "x * tanh(softplus(x))",
         .latex = "x \\tanh(\\operatorname{softplus}(x))",
         .params = {},
         .torch = "F.mish(x)",
         .note = "Misra 2019",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return mish(a[0]); }},
        {.name = "softplus",
         .signature = "softplus(x[, beta])",
         .formula = "softplus(beta * x) / beta",
         .latex = "\\frac{1}{\\beta} \\log(1 + e^{\\beta x})",
         .params = {P{.name = "beta", .default_value = 1.0, .role = fixed, .meaning = "the sharpness"}},
         .torch = "F.softplus(x, beta)",
         .note = "computed stably everywhere; PyTorch switches to x above 20/beta (a relative difference below 1e-9)",
         .min_args = 1,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return a.size() == 1 ? softplus(a[0]) : softplus(a[0], a[1]); }},
        {.name = "softsign",
         .signature = "softsign(x)",
         .formula = "x / (1 + abs(x))",
         .latex = "\\frac{x}{1 + |x|}",
         .params = {},
         .torch = "F.softsign(x)",
         .note = "",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return softsign(a[0]); }},
        {.name = "hardtanh",
         .signature = "hardtanh(x[, lo, hi])",
         .formula = "where(x <= lo, lo, where(x >= hi, hi, x))",
         .latex = "\\min(\\max(x, lo), hi)",
         .params = {P{.name = "lo", .default_value = -1.0, .role = fixed, .meaning = "the lower bound"},
                    P{.name = "hi", .default_value = 1.0, .role = fixed, .meaning = "the upper bound"}},
         .torch = "F.hardtanh(x, lo, hi)",
         .note = "no gradient to x at the bounds (unlike clamp)",
         .min_args = 1,
         .max_args = 3,
         .build =
             [](std::span<const Expr> a) {
                 if (a.size() == 2)
                     throw ActivationArgumentError(1, "hardtanh takes x alone (bounds -1 and 1) or x with both bounds lo and hi", false);
                 return a.size() == 1 ? hardtanh(a[0]) : hardtanh(a[0], a[1], a[2]);
             }},
        {.name = "hardsigmoid",
         .signature = "hardsigmoid(x)",
         .formula = "where(x <= -3, 0, where(x >= 3, 1, (x + 3) / 6))",
         .latex = "\\min(\\max(x + 3, 0), 6) / 6",
         .params = {},
         .torch = "F.hardsigmoid(x)",
         .note = "no gradient at -3 and 3",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return hardsigmoid(a[0]); }},
        {.name = "hardswish",
         .signature = "hardswish(x)",
         .formula = "where(x < -3, 0, where(x > 3, x, x * (x + 3) / 6))",
         .latex = "x \\min(\\max(x + 3, 0), 6) / 6",
         .params = {},
         .torch = "F.hardswish(x)",
         .note = "derivative at -3 and 3: the middle piece's, (2x + 3)/6 (Howard et al. 2019)",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return hardswish(a[0]); }},
        {.name = "logsigmoid",
         .signature = "logsigmoid(x)",
         .formula = "-softplus(-x)",
         .latex = "\\log \\sigma(x)",
         .params = {},
         .torch = "F.logsigmoid(x)",
         .note = "",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return logsigmoid(a[0]); }},
        {.name = "tanhshrink",
         .signature = "tanhshrink(x)",
         .formula = "x - tanh(x)",
         .latex = "x - \\tanh x",
         .params = {},
         .torch = "F.tanhshrink(x)",
         .note = "",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return tanhshrink(a[0]); }},
        {.name = "snake",
         .signature = "snake(x, a)",
         .formula = "x + sin(a * x)^2 / a",
         .latex = "x + \\frac{\\sin^2(a x)}{a}",
         .params = {P{.name = "a", .default_value = 1.0, .role = per_unit, .meaning = "the frequency (not 0)"}},
         .torch = "",
         .note = "Ziyin et al. 2020",
         .min_args = 2,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return snake(a[0], a[1]); }},
        {.name = "gaussian",
         .signature = "gaussian(x, sigma)",
         .formula = "exp(-0.5 * (x / sigma)^2)",
         .latex = "e^{-x^2 / (2 \\sigma^2)}",
         .params = {P{.name = "sigma", .default_value = 1.0, .role = shared, .meaning = "the width"}},
         .torch = "",
         .note = "",
         .min_args = 2,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return gaussian(a[0], a[1]); }},
        {.name = "sinc",
         .signature = "sinc(x)",
         .formula = "sin(x) / x (1 at 0)",
         .latex = "\\frac{\\sin x}{x}",
         .params = {},
         .torch = "torch.sinc(x / pi)",
         .note = "unnormalized; exact at 0 with sinc'(0) = 0 and sinc''(0) = -1/3 (its Taylor series for |x| < 1)",
         .min_args = 1,
         .max_args = 1,
         .build = [](std::span<const Expr> a) { return sinc(a[0]); }},
        {.name = "acon_c",
         .signature = "acon_c(x, p1, p2, beta)",
         .formula = "(p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x",
         .latex = "(p_1 - p_2) x \\,\\sigma(\\beta (p_1 - p_2) x) + p_2 x",
         .params = {P{.name = "p1", .default_value = 1.0, .role = per_unit, .meaning = "the slope for large x"},
                    P{.name = "p2", .default_value = 0.0, .role = per_unit, .meaning = "the slope for very negative x"},
                    P{.name = "beta", .default_value = 1.0, .role = per_unit, .meaning = "the switching sharpness"}},
         .torch = "",
         .note = "ACON-C (Ma et al. 2021); p1 = 1, p2 = 0 is swish",
         .min_args = 4,
         .max_args = 4,
         .build = [](std::span<const Expr> a) { return acon_c(a[0], a[1], a[2], a[3]); }},
        {.name = "srelu",
         .signature = "srelu(x, tl, al, tr, ar)",
         .formula = "where(x >= tr, tr + ar * (x - tr), where(x <= tl, tl + al * (x - tl), x))",
         .latex =
             "\\begin{cases} t_r + a_r (x - t_r) & x \\ge t_r \\\\ x & t_l < x < t_r \\\\ t_l + a_l (x - t_l) & x \\le t_l \\end{cases}",
         .params = {P{.name = "tl", .default_value = 0.0, .role = per_unit, .meaning = "the left threshold"},
                    P{.name = "al", .default_value = 0.01, .role = per_unit, .meaning = "the slope left of tl"},
                    P{.name = "tr", .default_value = 1.0, .role = per_unit, .meaning = "the right threshold"},
                    P{.name = "ar", .default_value = 1.0, .role = per_unit, .meaning = "the slope right of tr"}},
         .torch = "",
         .note = "S-shaped ReLU (Jin et al. 2016)",
         .min_args = 5,
         .max_args = 5,
         .build = [](std::span<const Expr> a) { return srelu(a[0], a[1], a[2], a[3], a[4]); }},
        {.name = "apl",
         .signature = "apl(x, a1, b1, a2, b2, ...)",
         .formula = "max(x, 0) + a1 * max(b1 - x, 0) + a2 * max(b2 - x, 0) + ...",
         .latex = "\\max(x, 0) + \\sum_{s=1}^{S} a_s \\max(b_s - x, 0)",
         .params = {P{.name = "a_s", .default_value = 0.0, .role = per_unit, .meaning = "hinge s's slope"},
                    P{.name = "b_s", .default_value = 0.0, .role = per_unit, .meaning = "hinge s's position"}},
         .torch = "",
         .note = "adaptive piecewise linear (Agostinelli et al. 2015), S hinges from the (a_s, b_s) pairs given",
         .min_args = 1,
         .max_args = many,
         .build =
             [](std::span<const Expr> a) {
                 if (a.size() % 2 == 0)
                     throw ActivationArgumentError(
                         a.size() - 1, fmt::format("apl takes x, then pairs a_s, b_s: an odd number of arguments, got {}", a.size()),
                         false);
                 std::vector<Operand> slopes, hinges;
                 for (std::size_t i = 1; i < a.size(); i += 2) {
                     slopes.push_back(a[i]);
                     hinges.push_back(a[i + 1]);
                 }
                 return apl(a[0], slopes, hinges);
             }},
        {.name = "pau",
         .signature = "pau(x, m, n, a0, ..., am, b1, ..., bn)",
         .formula = "(a0 + a1*x + ... + am*x^m) / (1 + abs(b1*x + ... + bn*x^n))",
         .latex = "\\frac{\\sum_{j=0}^{m} a_j x^j}{1 + \\left|\\sum_{k=1}^{n} b_k x^k\\right|}",
         .params = {P{.name = "a_j", .default_value = 0.0, .role = shared, .meaning = "numerator coefficients, j = 0..m"},
                    P{.name = "b_k", .default_value = 0.0, .role = shared, .meaning = "denominator coefficients, k = 1..n"}},
         .torch = "",
         .note = "Padé activation unit, the paper's safe denominator (Molina et al. 2020); m, n are whole numbers",
         .min_args = 3,
         .max_args = many,
         .build = [](std::span<const Expr> a) { return build_pau(a, PauDenominator::abs_of_sum, "pau"); }},
        {.name = "pau_sum_abs",
         .signature = "pau_sum_abs(x, m, n, a0, ..., am, b1, ..., bn)",
         .formula = "(a0 + a1*x + ... + am*x^m) / (1 + abs(b1*x) + ... + abs(bn*x^n))",
         .latex = "\\frac{\\sum_{j=0}^{m} a_j x^j}{1 + \\sum_{k=1}^{n} |b_k| |x|^k}",
         .params = {P{.name = "a_j", .default_value = 0.0, .role = shared, .meaning = "numerator coefficients, j = 0..m"},
                    P{.name = "b_k", .default_value = 0.0, .role = shared, .meaning = "denominator coefficients, k = 1..n"}},
         .torch = "",
         .note = "Padé activation unit with the sum of absolute values as denominator (Molina et al. 2020)",
         .min_args = 3,
         .max_args = many,
         .build = [](std::span<const Expr> a) { return build_pau(a, PauDenominator::sum_of_abs, "pau_sum_abs"); }},
        {.name = "softmax",
         .signature = "softmax(x[, axis])",
         .formula = "exp(x - amax(x, axis)) / sum(exp(x - amax(x, axis)), axis)",
         .latex = "\\frac{e^{x_i}}{\\sum_j e^{x_j}}",
         .params = {},
         .torch = "F.softmax(x, dim=axis)",
         .note = "along one axis (default: the last), shifted by the maximum",
         .min_args = 1,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return softmax(a[0], axis_argument(a, "softmax")); }},
        {.name = "log_softmax",
         .signature = "log_softmax(x[, axis])",
         .formula = "x - amax(x, axis) - log(sum(exp(x - amax(x, axis)), axis))",
         .latex = "x_i - \\log \\sum_j e^{x_j}",
         .params = {},
         .torch = "F.log_softmax(x, dim=axis)",
         .note = "along one axis (default: the last), shifted by the maximum",
         .min_args = 1,
         .max_args = 2,
         .build = [](std::span<const Expr> a) { return log_softmax(a[0], axis_argument(a, "log_softmax")); }},
    };
    std::sort(c.begin(), c.end(), [](const ActivationInfo& a, const ActivationInfo& b) { return a.name < b.name; });
    return c;
}

}  // namespace

const std::vector<ActivationInfo>& activation_catalog() {
    static const std::vector<ActivationInfo> catalog = make_catalog();
    return catalog;
}

const ActivationInfo* find_activation(std::string_view name) {
    for (const auto& entry : activation_catalog()) {
        if (entry.name == name) return &entry;
    }
    return nullptr;
}

}  // namespace symgrad
