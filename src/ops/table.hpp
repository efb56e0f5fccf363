// THE primitive table: one row per primitive, in the order of enum Op, and the only place that describes one. A row
// holds its name and description, its scalar kernels (elementwise) or shape rule and reference kernel
// (structural), its vector-Jacobian product written with the public builders (the math on the line above), its
// printed, LaTeX and exported forms, the hooks of the few ops that need one, and where the generated tests sample it.
//
// Private to the library. ops.cpp serves the rows (op_info); the fused engine's kernel sets (src/exec/kernels_isa.inc)
// read the scalar kernels off the rows at compile time to build their block loops, so this header is compiled with
// the wider -m flags too. The rule of src/exec/kernels_isa.hpp holds because everything here has internal linkage
// (the unnamed namespace) and those files read the table only in constant expressions, so that at -O3 (which they
// are always compiled with) neither the table nor its rules is emitted there; were it emitted, its VJP rules would
// bring weak copies of inline functions (Expr's) with them, which tests/check_isa_objects.cmake would refuse.
#pragma once

#include <algorithm>
#include <array>

#include "math/ops_kernels.hpp"
#include "ops/structural.hpp"
#include "symgrad/ops.hpp"

namespace symgrad {
namespace {

// ---------------------------------------------------------------------------------------------
// The hooks of the ops that are special
// ---------------------------------------------------------------------------------------------

// pow with a constant whole exponent from 2 to 8 is the product its kernel computes (the same bits, without the
// selects of the general kernel).
inline KernelVariant pow_variant(const Node& node) {
    const Node& exponent = node.input(1).node();
    if (!exponent.is_scalar_constant()) return KernelVariant::general;
    const double n = exponent.scalar_value();
    for (int k = 2; k <= max_product_power; ++k) {
        if (n == k) return static_cast<KernelVariant>(k);
    }
    return KernelVariant::general;
}

// where(c, a, b) selects a where c is nonzero (a comparison already is 0/1) and b where c is 0.
inline Expr where_selects(const Node& node, std::size_t operand) {
    const Expr cond = node.input(0);
    if (operand == 1) return is_comparison(cond.op()) ? cond : ne(cond, 0);
    if (operand == 2) return eq(cond, 0);
    return {};
}

// The sum of two tangents, where a null one is zero.
inline Expr plus(const Expr& a, const Expr& b) { return !a ? b : (!b ? a : a + b); }

// ---------------------------------------------------------------------------------------------
// The rows
// ---------------------------------------------------------------------------------------------

constexpr double two_over_sqrt_pi = 2.0 / 1.772453850905516027298167483341145182797549456122387128213807789852911284591025748;

// Where generated tests sample each operand.
constexpr TestRegion anywhere{};
constexpr TestRegion region(Interval a, Interval b = {}, Interval c = {}) { return TestRegion{{a, b, c}}; }
constexpr Interval positive{0.2, 3.0};
constexpr Interval negative{-3.0, -0.2};

// The operand names of the signatures listed by `symgrad list` and the language's help.
constexpr std::array<std::string_view, max_arity> unary{"x"};
constexpr std::array<std::string_view, max_arity> binary{"a", "b"};

#define SYMGRAD_KERNELS(name) .f32 = &kernels::name<float>, .f64 = &kernels::name<double>, .kernel_name = #name

// A field a row leaves out is null on purpose; g++ 12 warns about every one under -Wextra.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

// Not formatted: the rows keep the layout of the table (a row's head on one line, one field per line after),
// which a formatter would break into one field per line.
// clang-format off
constexpr std::array<OpInfo, op_count> primitive_table{{
    {.op = Op::variable, .name = "variable", .print = {"", "", atom_precedence}},
    {.op = Op::constant, .name = "constant", .print = {"", "", atom_precedence}},

    // d/dx (-x) = -1
    {.op = Op::neg, .name = "neg", .arity = 1, .kind = OpClass::elementwise, .description = "-x", .operands = unary,
     SYMGRAD_KERNELS(neg),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return -v.grad; },
     .jvp = [](const Jvp& j) -> Expr { return -j.tangent(0); },
     .print = {"-{0}", "-{0}", 4, Assoc::right},
     .exports = {.infix = "-", .torch_in_place = "neg_"},
     .test_regions = {anywhere}},
    // d/da (a + b) = 1, d/db (a + b) = 1
    {.op = Op::add, .name = "add", .arity = 2, .kind = OpClass::elementwise, .description = "a + b", .operands = binary,
     SYMGRAD_KERNELS(add),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad; },
     .jvp = [](const Jvp& j) -> Expr { return plus(j.tangent(0), j.tangent(1)); },
     .print = {"{0} + {1}", "{0} + {1}", 2},
     .exports = {.infix = "+", .torch_in_place = "add_"},
     .test_regions = {anywhere}},
    // d/da (a - b) = 1, d/db (a - b) = -1
    {.op = Op::sub, .name = "sub", .arity = 2, .kind = OpClass::elementwise, .description = "a - b", .operands = binary,
     SYMGRAD_KERNELS(sub),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr { return i == 0 ? Expr(v.grad) : -v.grad; },
     .jvp = [](const Jvp& j) -> Expr { return plus(j.tangent(0), j.tangent(1) ? -j.tangent(1) : Expr()); },
     .print = {"{0} - {1}", "{0} - {1}", 2},
     .exports = {.infix = "-", .torch_in_place = "sub_"},
     .test_regions = {anywhere}},
    // d/da (a * b) = b, d/db (a * b) = a
    {.op = Op::mul, .name = "mul", .arity = 2, .kind = OpClass::elementwise, .description = "a * b", .operands = binary,
     SYMGRAD_KERNELS(mul),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr { return i == 0 ? v.grad * v.rhs() : v.grad * v.lhs(); },
     .jvp = [](const Jvp& j) -> Expr {
         return plus(j.tangent(0) ? j.tangent(0) * j.rhs() : Expr(), j.tangent(1) ? j.lhs() * j.tangent(1) : Expr());
     },
     .print = {"{0} * {1}", "{0} \\cdot {1}", 3},
     .exports = {.infix = "*", .torch_in_place = "mul_"},
     .test_regions = {anywhere}},
    // d/da (a / b) = 1 / b, d/db (a / b) = -a / b^2 = -(a / b) / b
    {.op = Op::div, .name = "div", .arity = 2, .kind = OpClass::elementwise, .description = "a / b", .operands = binary,
     SYMGRAD_KERNELS(div),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr { return i == 0 ? v.grad / v.rhs() : -(v.grad * (v.result / v.rhs())); },
     .print = {"{0} / {1}", "\\frac{{0}}{{1}}", 3, Assoc::left, atom_precedence},
     .exports = {.infix = "/", .torch_in_place = "div_"},
     .test_regions = {region({-2, 2}, {0.5, 2})}},
    // d/da a^b = b * a^(b - 1), and 0 where b = 0 (as in PyTorch; 0 * 0^-1 would be NaN at a = 0);
    // d/db a^b = a^b * log(a), taken as 0 where a = 0 and b >= 0 (the limit from above)
    {.op = Op::pow, .name = "pow", .arity = 2, .kind = OpClass::elementwise, .description = "a ^ b", .operands = binary,
     SYMGRAD_KERNELS(pow),
     .variant = pow_variant,
     .vjp = [](const Vjp& v, std::size_t i) -> Expr {
         if (i == 0) {
             // A constant exponent decides the b = 0 case now, so the gradient needs no where().
             if (v.rhs().node().is_scalar_constant()) {
                 if (v.rhs().node().scalar_value() == 0.0) return {};
                 return v.grad * (v.rhs() * pow(v.lhs(), v.rhs() - 1));
             }
             return v.grad * where(eq(v.rhs(), 0), 0, v.rhs() * pow(v.lhs(), v.rhs() - 1));
         }
         return v.grad * where(eq(v.lhs(), 0) * ge(v.rhs(), 0), 0, v.result * log(v.lhs()));
     },
     .print = {"{0} ^ {1}", "{0}^{{1}}", 5, Assoc::right},
     .exports = {.torch = "torch.pow", .torch_in_place = "pow_", .cpp = "std::pow"},
     .test_regions = {region({0.5, 2}, {-2, 2})}},
    // d/dx exp(x) = exp(x)
    {.op = Op::exp, .name = "exp", .arity = 1, .kind = OpClass::elementwise, .description = "e^x", .operands = unary,
     SYMGRAD_KERNELS(exp),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * v.result; },
     .print = {"exp({0})", "e^{{0}}", atom_precedence, Assoc::left, 5},
     .exports = {.torch = "torch.exp", .torch_in_place = "exp_", .cpp = "std::exp"},
     .test_regions = {anywhere}},
    // d/dx log(x) = 1 / x
    {.op = Op::log, .name = "log", .arity = 1, .kind = OpClass::elementwise, .description = "natural logarithm",
     .operands = unary,
     SYMGRAD_KERNELS(log),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad / v.x(); },
     .print = {"log({0})", "\\log\\left({0}\\right)"},
     .exports = {.torch = "torch.log", .torch_in_place = "log_", .cpp = "std::log"},
     .test_regions = {region(positive)}},
    // d/dx log(1 + x) = 1 / (x + 1)
    {.op = Op::log1p, .name = "log1p", .arity = 1, .kind = OpClass::elementwise,
     .description = "log(1 + x), accurate near 0", .operands = unary,
     SYMGRAD_KERNELS(log1p),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad / (v.x() + 1); },
     .print = {"log1p({0})", "\\log\\left(1 + {0}\\right)"},
     .exports = {.torch = "torch.log1p", .torch_in_place = "log1p_", .cpp = "std::log1p"},
     .test_regions = {region({-0.5, 2})}},
    // d/dx (exp(x) - 1) = exp(x) = expm1(x) + 1
    {.op = Op::expm1, .name = "expm1", .arity = 1, .kind = OpClass::elementwise,
     .description = "exp(x) - 1, accurate near 0", .operands = unary,
     SYMGRAD_KERNELS(expm1),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * (v.result + 1); },
     .print = {"expm1({0})", "\\left(e^{{0}} - 1\\right)"},
     .exports = {.torch = "torch.expm1", .torch_in_place = "expm1_", .cpp = "std::expm1"},
     .test_regions = {anywhere}},
    // d/dx sqrt(x) = 1 / (2 sqrt(x))
    {.op = Op::sqrt, .name = "sqrt", .arity = 1, .kind = OpClass::elementwise, .description = "square root",
     .operands = unary,
     SYMGRAD_KERNELS(sqrt),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad / (2 * v.result); },
     .print = {"sqrt({0})", "\\sqrt{{0}}"},
     .exports = {.torch = "torch.sqrt", .torch_in_place = "sqrt_", .cpp = "std::sqrt"},
     .test_regions = {region(positive)}},
    // d/dx |x| = sign(x), which is 0 at 0 (PyTorch's convention)
    {.op = Op::abs, .name = "abs", .arity = 1, .kind = OpClass::elementwise, .description = "absolute value",
     .operands = unary,
     SYMGRAD_KERNELS(abs),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * sign(v.x()); },
     .print = {"abs({0})", "\\left|{0}\\right|"},
     .exports = {.torch = "torch.abs", .torch_in_place = "abs_", .cpp = "std::fabs"},
     .test_regions = {region(positive), region(negative)}},
    // d/dx sign(x) = 0: no gradient flows
    {.op = Op::sign, .name = "sign", .arity = 1, .kind = OpClass::elementwise, .description = "-1, 0 or 1",
     .operands = unary,
     SYMGRAD_KERNELS(sign),
     .print = {"sign({0})", "\\operatorname{sign}\\left({0}\\right)"},
     .exports = {.torch = "torch.sign", .torch_in_place = "sign_", .cpp = "detail::sign"},
     .test_regions = {region(positive), region(negative)}},
    // Rounding to an integer: steps, whose derivative is 0 wherever it exists (PyTorch's convention, everywhere): no
    // gradient flows. A straight-through estimator replaces it where the user says so.
    {.op = Op::round, .name = "round", .arity = 1, .kind = OpClass::elementwise,
     .description = "the nearest integer, halves to even (torch.round)", .operands = unary,
     SYMGRAD_KERNELS(round),
     .print = {"round({0})", "\\operatorname{round}\\left({0}\\right)"},
     .exports = {.torch = "torch.round", .torch_in_place = "round_", .cpp = "std::nearbyint"},
     .test_regions = {region({-0.4, 0.4}), region({0.6, 1.4})}},
    {.op = Op::floor, .name = "floor", .arity = 1, .kind = OpClass::elementwise, .description = "the largest integer <= x",
     .operands = unary,
     SYMGRAD_KERNELS(floor),
     .print = {"floor({0})", "\\left\\lfloor {0} \\right\\rfloor"},
     .exports = {.torch = "torch.floor", .torch_in_place = "floor_", .cpp = "std::floor"},
     .test_regions = {region({0.1, 0.9}), region({-1.9, -1.1})}},
    {.op = Op::ceil, .name = "ceil", .arity = 1, .kind = OpClass::elementwise, .description = "the smallest integer >= x",
     .operands = unary,
     SYMGRAD_KERNELS(ceil),
     .print = {"ceil({0})", "\\left\\lceil {0} \\right\\rceil"},
     .exports = {.torch = "torch.ceil", .torch_in_place = "ceil_", .cpp = "std::ceil"},
     .test_regions = {region({0.1, 0.9}), region({-1.9, -1.1})}},
    // d/dx heaviside(x, v) = 0 (a step, as round); d/dv heaviside(x, v) = [x == 0]
    {.op = Op::heaviside, .name = "heaviside", .arity = 2, .kind = OpClass::elementwise,
     .description = "0 where x < 0, v where x == 0, 1 where x > 0", .operands = {"x", "v"},
     SYMGRAD_KERNELS(heaviside),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr { return i == 0 ? Expr() : where(eq(v.lhs(), 0), v.grad, 0); },
     .print = {"heaviside({0}, {1})", "H\\left({0}; {1}\\right)"},
     .exports = {.torch = "_heaviside", .cpp = "detail::heaviside"},
     .test_regions = {region(positive, {-2, 2}), region(negative, {-2, 2})}},
    // d/dx sin(x) = cos(x)
    {.op = Op::sin, .name = "sin", .arity = 1, .kind = OpClass::elementwise, .description = "sine", .operands = unary,
     SYMGRAD_KERNELS(sin),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * cos(v.x()); },
     .print = {"sin({0})", "\\sin\\left({0}\\right)"},
     .exports = {.torch = "torch.sin", .torch_in_place = "sin_", .cpp = "std::sin"},
     .test_regions = {anywhere}},
    // d/dx cos(x) = -sin(x)
    {.op = Op::cos, .name = "cos", .arity = 1, .kind = OpClass::elementwise, .description = "cosine", .operands = unary,
     SYMGRAD_KERNELS(cos),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * -sin(v.x()); },
     .print = {"cos({0})", "\\cos\\left({0}\\right)"},
     .exports = {.torch = "torch.cos", .torch_in_place = "cos_", .cpp = "std::cos"},
     .test_regions = {anywhere}},
    // d/dx tanh(x) = 1 - tanh(x)^2
    {.op = Op::tanh, .name = "tanh", .arity = 1, .kind = OpClass::elementwise, .description = "hyperbolic tangent",
     .operands = unary,
     SYMGRAD_KERNELS(tanh),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * (1 - v.result * v.result); },
     .print = {"tanh({0})", "\\tanh\\left({0}\\right)"},
     .exports = {.torch = "torch.tanh", .torch_in_place = "tanh_", .cpp = "std::tanh"},
     .test_regions = {anywhere}},
    // d/dx sigmoid(x) = sigmoid(x) (1 - sigmoid(x))
    {.op = Op::sigmoid, .name = "sigmoid", .arity = 1, .kind = OpClass::elementwise,
     .description = "1 / (1 + exp(-x)), stable", .operands = unary,
     SYMGRAD_KERNELS(sigmoid),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * (v.result * (1 - v.result)); },
     .print = {"sigmoid({0})", "\\sigma\\left({0}\\right)"},
     .exports = {.torch = "torch.sigmoid", .torch_in_place = "sigmoid_", .cpp = "detail::sigmoid"},
     .test_regions = {anywhere}},
    // d/dx log(1 + exp(x)) = sigmoid(x)
    {.op = Op::softplus, .name = "softplus", .arity = 1, .kind = OpClass::elementwise,
     .description = "log(1 + exp(x)), stable", .operands = unary,
     SYMGRAD_KERNELS(softplus),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * sigmoid(v.x()); },
     .print = {"softplus({0})", "\\operatorname{softplus}\\left({0}\\right)"},
     .exports = {.torch = "F.softplus", .cpp = "detail::softplus"},
     .test_regions = {anywhere}},
    // d/dx erf(x) = 2 / sqrt(pi) * exp(-x^2)
    {.op = Op::erf, .name = "erf", .arity = 1, .kind = OpClass::elementwise, .description = "error function",
     .operands = unary,
     SYMGRAD_KERNELS(erf),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad * (two_over_sqrt_pi * exp(-(v.x() * v.x()))); },
     .print = {"erf({0})", "\\operatorname{erf}\\left({0}\\right)"},
     .exports = {.torch = "torch.erf", .torch_in_place = "erf_", .cpp = "std::erf"},
     .test_regions = {anywhere}},
    // d/dx relu(x) = 1 where x > 0, else 0 (0 at the kink, as in PyTorch)
    {.op = Op::relu, .name = "relu", .arity = 1, .kind = OpClass::elementwise, .description = "max(x, 0)",
     .operands = unary,
     SYMGRAD_KERNELS(relu),
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return where(v.x() > 0, v.grad, 0); },
     .print = {"relu({0})", "\\operatorname{relu}\\left({0}\\right)"},
     .exports = {.torch = "torch.relu", .torch_in_place = "relu_", .cpp = "detail::relu"},
     .test_regions = {region(positive), region(negative)}},
    // d/da max(a, b) = 1 where a > b, 1/2 where a = b, else 0 (ties split evenly, as in PyTorch)
    {.op = Op::maximum, .name = "maximum", .arity = 2, .kind = OpClass::elementwise,
     .description = "the larger of a and b (NaN if either is)", .operands = binary,
     SYMGRAD_KERNELS(maximum),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr {
         const Expr mine = v.operand(i);
         const Expr other = v.operand(1 - i);
         return where(mine > other, v.grad, where(eq(mine, other), 0.5 * Expr(v.grad), 0));
     },
     .print = {"max({0}, {1})", "\\max\\left({0}, {1}\\right)"},
     .exports = {.torch = "torch.maximum", .cpp = "detail::maximum"},
     .test_regions = {region({0.5, 2}, {-2, -0.5}), region({-2, -0.5}, {0.5, 2})}},
    // d/da min(a, b) = 1 where a < b, 1/2 where a = b, else 0
    {.op = Op::minimum, .name = "minimum", .arity = 2, .kind = OpClass::elementwise,
     .description = "the smaller of a and b (NaN if either is)", .operands = binary,
     SYMGRAD_KERNELS(minimum),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr {
         const Expr mine = v.operand(i);
         const Expr other = v.operand(1 - i);
         return where(mine < other, v.grad, where(eq(mine, other), 0.5 * Expr(v.grad), 0));
     },
     .print = {"min({0}, {1})", "\\min\\left({0}, {1}\\right)"},
     .exports = {.torch = "torch.minimum", .cpp = "detail::minimum"},
     .test_regions = {region({0.5, 2}, {-2, -0.5}), region({-2, -0.5}, {0.5, 2})}},
    // d/da where(c, a, b) = [c], d/db where(c, a, b) = [not c]; the condition gets none.
    // The reverse sweep also keeps the unselected branch's own derivative out (the `selects` hook).
    {.op = Op::where, .name = "where", .arity = 3, .kind = OpClass::elementwise,
     .description = "a where cond is nonzero, else b", .operands = {"cond", "a", "b"},
     SYMGRAD_KERNELS(where),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr {
         if (i == 0) return {};
         return i == 1 ? where(v.cond(), v.grad, 0) : where(v.cond(), 0, v.grad);
     },
     .jvp = [](const Jvp& j) -> Expr {
         if (!j.tangent(1) && !j.tangent(2)) return {};
         return where(j.x(), j.tangent(1) ? Operand(j.tangent(1)) : Operand(0), j.tangent(2) ? Operand(j.tangent(2)) : Operand(0));
     },
     .selects = where_selects,
     .print = {"where({0}, {1}, {2})", "\\begin{cases} {1} & \\text{if } {0} \\ne 0 \\\\ {2} & \\text{otherwise} \\end{cases}"},
     .test_regions = {region({0.5, 2}), region({0, 0})}},
    // comparisons are piecewise constant: no gradient
    {.op = Op::lt, .name = "lt", .arity = 2, .kind = OpClass::elementwise, .description = "a < b as 0/1",
     .operands = binary,
     SYMGRAD_KERNELS(lt),
     .print = {"{0} < {1}", "\\left[{0} < {1}\\right]", 1},
     .exports = {.infix = "<"},
     .test_regions = {region({0.5, 2}, {-2, -0.5})}},
    {.op = Op::le, .name = "le", .arity = 2, .kind = OpClass::elementwise, .description = "a <= b as 0/1",
     .operands = binary,
     SYMGRAD_KERNELS(le),
     .print = {"{0} <= {1}", "\\left[{0} \\le {1}\\right]", 1},
     .exports = {.infix = "<="},
     .test_regions = {region({0.5, 2}, {-2, -0.5})}},
    {.op = Op::gt, .name = "gt", .arity = 2, .kind = OpClass::elementwise, .description = "a > b as 0/1",
     .operands = binary,
     SYMGRAD_KERNELS(gt),
     .print = {"{0} > {1}", "\\left[{0} > {1}\\right]", 1},
     .exports = {.infix = ">"},
     .test_regions = {region({0.5, 2}, {-2, -0.5})}},
    {.op = Op::ge, .name = "ge", .arity = 2, .kind = OpClass::elementwise, .description = "a >= b as 0/1",
     .operands = binary,
     SYMGRAD_KERNELS(ge),
     .print = {"{0} >= {1}", "\\left[{0} \\ge {1}\\right]", 1},
     .exports = {.infix = ">="},
     .test_regions = {region({0.5, 2}, {-2, -0.5})}},
    {.op = Op::eq, .name = "eq", .arity = 2, .kind = OpClass::elementwise, .description = "a == b as 0/1",
     .operands = binary,
     SYMGRAD_KERNELS(eq),
     .print = {"{0} == {1}", "\\left[{0} = {1}\\right]", 1},
     .exports = {.infix = "=="},
     .test_regions = {region({0.5, 2}, {-2, -0.5})}},
    {.op = Op::ne, .name = "ne", .arity = 2, .kind = OpClass::elementwise, .description = "a != b as 0/1",
     .operands = binary,
     SYMGRAD_KERNELS(ne),
     .print = {"{0} != {1}", "\\left[{0} \\ne {1}\\right]", 1},
     .exports = {.infix = "!="},
     .test_regions = {region({0.5, 2}, {-2, -0.5})}},
    // clamp(x, lo, hi) = min(max(x, lo), hi): the gradient passes to x on the closed interval [lo, hi],
    // to lo where x < lo, to hi where x > hi (and to hi everywhere when lo > hi, since then the result is hi)
    {.op = Op::clamp, .name = "clamp", .arity = 3, .kind = OpClass::elementwise, .description = "min(max(x, lo), hi)",
     .operands = {"x", "lo", "hi"},
     SYMGRAD_KERNELS(clamp),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr {
         const Expr x = v.operand(0);
         const Expr lo = v.operand(1);
         const Expr hi = v.operand(2);
         if (i == 0) return where(ge(x, lo) * le(x, hi), v.grad, 0);
         if (i == 1) return where(lt(x, lo) * le(lo, hi), v.grad, 0);
         return where(maximum(gt(x, hi), gt(lo, hi)), v.grad, 0);
     },
     .print = {"clamp({0}, {1}, {2})", "\\operatorname{clamp}\\left({0}, {1}, {2}\\right)"},
     .exports = {.torch = "torch.clamp", .cpp = "detail::clamp"},
     .test_regions = {region({-0.5, 0.5}, {-2, -1}, {1, 2}), region({2.5, 3}, {-2, -1}, {1, 2})}},
    // Gradient overrides: the value of the first operand, a gradient that is not its derivative (on purpose).
    // stop_gradient(e): no gradient flows to e.
    {.op = Op::stop_gradient, .name = "stop_gradient", .arity = 1, .kind = OpClass::elementwise,
     .description = "the value of x; no gradient flows through it", .operands = unary,
     SYMGRAD_KERNELS(stop_gradient),
     .gradient_override = "the value of {0}; no gradient flows back through it",
     .print = {"stop_gradient({0})", "\\operatorname{stop\\_gradient}\\left({0}\\right)"},
     .exports = {.torch = "torch.detach", .cpp = "detail::stop_gradient"},
     .test_regions = {anywhere}},
    // custom_grad(value, surrogate): d/dvalue = 0, d/dsurrogate = 1 (the surrogate's gradient replaces value's)
    {.op = Op::custom_grad, .name = "custom_grad", .arity = 2, .kind = OpClass::elementwise,
     .description = "the value of value, the gradient of surrogate", .operands = {"value", "surrogate"},
     SYMGRAD_KERNELS(custom_grad),
     .vjp = [](const Vjp& v, std::size_t i) -> Expr { return i == 0 ? Expr() : Expr(v.grad); },
     .jvp = [](const Jvp& j) -> Expr { return j.tangent(1); },
     .gradient_override = "the value of {0}; its gradient is replaced by that of {1}",
     .print = {"custom_grad({0}, {1})", "\\operatorname{custom\\_grad}\\left({0}, {1}\\right)"},
     .exports = {.torch = "_custom_grad", .cpp = "detail::custom_grad"},
     .test_regions = {anywhere}},

    // d/dx broadcast_to(x) = the adjoint summed over the broadcast axes (the sweep's unbroadcast does it)
    {.op = Op::broadcast_to, .name = "broadcast_to", .arity = 1, .kind = OpClass::structural,
     .shape = detail::shape_broadcast_to, .eval = detail::eval_broadcast_to,
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return v.grad; },
     .jvp = [](const Jvp& j) -> Expr { return j.tangent(0); },  // it broadcasts to the result as it is
     .print = {"broadcast_to({0}{a})", "\\operatorname{broadcast}\\left({0}{a}\\right)"},
     .attr_text = detail::ints_attr_text,
     .test_regions = {anywhere}},
    // d/dx sum(x) = ones: the adjoint broadcast back over the summed axes
    {.op = Op::sum, .name = "sum", .arity = 1, .kind = OpClass::structural,
     .shape = detail::shape_reduce, .eval = detail::eval_sum,
     .vjp = [](const Vjp& v, std::size_t) -> Expr { return detail::reduction_grad(v); },
     .jvp = [](const Jvp& j) -> Expr { return sum(j.full_tangent(0), j.attrs().ints, j.attrs().keepdims); },
     .print = {"sum({0}{a})", "\\operatorname{sum}\\left({0}{a}\\right)"},
     .attr_text = detail::reduce_attr_text,
     .test_regions = {anywhere}},
    // d/dx mean(x) = 1 / n: the adjoint broadcast back, divided by the count
    {.op = Op::mean, .name = "mean", .arity = 1, .kind = OpClass::structural,
     .shape = detail::shape_reduce, .eval = detail::eval_mean,
     .vjp = [](const Vjp& v, std::size_t) -> Expr {
         const double count = static_cast<double>(v.x().shape().numel()) /
                              static_cast<double>(std::max<std::int64_t>(v.node.shape().numel(), 1));
         return detail::reduction_grad(v) / constant(count, v.node.dtype());
     },
     .jvp = [](const Jvp& j) -> Expr { return mean(j.full_tangent(0), j.attrs().ints, j.attrs().keepdims); },
     .print = {"mean({0}{a})", "\\operatorname{mean}\\left({0}{a}\\right)"},
     .attr_text = detail::reduce_attr_text,
     .test_regions = {anywhere}},
    // d/dx amax(x) = [x == amax(x)] / (number of such elements): the adjoint shared by the ties
    {.op = Op::amax, .name = "amax", .arity = 1, .kind = OpClass::structural,
     .shape = detail::shape_reduce, .eval = detail::eval_amax,
     .vjp = [](const Vjp& v, std::size_t) -> Expr {
         const Shape kept = detail::reduced_shape(v.x().shape(), v.attrs().ints, true);
         const Expr at_max = eq(v.x(), reshape(v.result, kept.dims()));
         const Expr ties = sum(at_max, v.attrs().ints, true);
         return at_max * (detail::reduction_grad(v) / ties);
     },
     .jvp = [](const Jvp& j) -> Expr {
         // the mean of the tangents of the elements equal to the maximum (none over no elements: the result is -inf)
         if (j.x().shape().numel() == 0) return {};
         const Shape kept = detail::reduced_shape(j.x().shape(), j.attrs().ints, true);
         const Expr at_max = eq(j.x(), reshape(j.result, kept.dims()));
         const Expr selected = where(at_max, j.full_tangent(0), 0);  // (not at_max * t: 0 * inf elsewhere would be NaN)
         const Expr shared = sum(selected, j.attrs().ints, true) / sum(at_max, j.attrs().ints, true);
         return reshape(shared, j.node.shape().dims());
     },
     .print = {"amax({0}{a})", "\\operatorname{amax}\\left({0}{a}\\right)"},
     .attr_text = detail::reduce_attr_text,
     .test_regions = {anywhere}},
    // d/dx reshape(x) = the adjoint reshaped back
    {.op = Op::reshape, .name = "reshape", .arity = 1, .kind = OpClass::structural,
     .shape = detail::shape_reshape, .eval = detail::eval_reshape,
     .vjp = [](const Vjp& v, std::size_t) -> Expr {
         if (v.grad.is_one()) return v.grad;
         return reshape(v.full_grad(), v.x().shape().dims());
     },
     .jvp = [](const Jvp& j) -> Expr { return reshape(j.full_tangent(0), j.node.shape().dims()); },
     .print = {"reshape({0}{a})", "\\operatorname{reshape}\\left({0}{a}\\right)"},
     .attr_text = detail::ints_attr_text,
     .test_regions = {anywhere}},
    // d/dx permute(x, p) = the adjoint permuted by the inverse of p
    {.op = Op::permute, .name = "permute", .arity = 1, .kind = OpClass::structural,
     .shape = detail::shape_permute, .eval = detail::eval_permute,
     .vjp = [](const Vjp& v, std::size_t) -> Expr {
         if (v.grad.is_one()) return v.grad;
         return permute(v.full_grad(), detail::inverse_permutation(v.attrs().ints));
     },
     .jvp = [](const Jvp& j) -> Expr { return permute(j.full_tangent(0), j.attrs().ints); },
     .print = {"permute({0}{a})", "\\operatorname{permute}\\left({0}{a}\\right)"},
     .attr_text = detail::ints_attr_text,
     .test_regions = {anywhere}},
    // d/dA (A @ B) = G @ B^T, d/dB (A @ B) = A^T @ G (batch axes summed by the sweep's unbroadcast)
    {.op = Op::matmul, .name = "matmul", .arity = 2, .kind = OpClass::structural,
     .shape = detail::shape_matmul, .eval = detail::eval_matmul,
     .vjp = [](const Vjp& v, std::size_t i) -> Expr {
         const Expr g = v.full_grad();
         return i == 0 ? matmul(g, transpose(v.rhs())) : matmul(transpose(v.lhs()), g);
     },
     .jvp = [](const Jvp& j) -> Expr {
         return plus(j.tangent(0) ? matmul(j.full_tangent(0), j.rhs()) : Expr(), j.tangent(1) ? matmul(j.lhs(), j.full_tangent(1)) : Expr());
     },
     .print = {"{0} @ {1}", "{0} {1}", 3},
     .test_regions = {anywhere}},
}};
// clang-format on
#pragma GCC diagnostic pop

#undef SYMGRAD_KERNELS

// The enum and the table must agree, row for row, and every row that computes something has operands. (That an
// elementwise row has kernels and test regions, and a structural row a shape rule and a tensor kernel, is checked
// by tests/test_ops_table.cpp: comparing a function's address with null is not a constant expression under the
// sanitizers.)
constexpr bool table_matches_enum() {
    for (std::size_t i = 0; i < primitive_table.size(); ++i) {
        if (static_cast<std::size_t>(primitive_table[i].op) != i) return false;
    }
    return true;
}
constexpr bool rows_have_operands() {
    for (const OpInfo& row : primitive_table) {
        if (row.kind != OpClass::leaf && row.arity == 0) return false;
    }
    return true;
}
static_assert(primitive_table.size() == op_count, "one row per op in enum Op");
static_assert(table_matches_enum(), "rows are in the order of enum Op");
static_assert(rows_have_operands(), "a row that is not a leaf has operands");

}  // namespace
}  // namespace symgrad
