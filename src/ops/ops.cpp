#include "symgrad/ops.hpp"

#include <algorithm>
#include <numbers>
#include <numeric>

#include "math/ops_kernels.hpp"
#include "math/reduce_order.hpp"
#include "symgrad/print.hpp"

namespace symgrad {

namespace {

// ---------------------------------------------------------------------------------------------
// Shape rules and tensor kernels of the structural primitives
// ---------------------------------------------------------------------------------------------

Shape reduced_shape(const Shape& in, const std::vector<std::int64_t>& axes, bool keepdims) {
    std::vector<std::int64_t> dims;
    for (std::size_t i = 0; i < in.rank(); ++i) {
        const bool reduced = std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(i)) != axes.end();
        if (!reduced) {
            dims.push_back(in[i]);
        } else if (keepdims) {
            dims.push_back(1);
        }
    }
    return Shape(std::move(dims));
}

Shape shape_broadcast_to(std::span<const Expr> in, const Attrs& attrs) {
    Shape target(attrs.ints);
    if (!broadcastable_to(in[0].shape(), target)) {
        throw ShapeError(fmt::format("cannot broadcast {} to {}", in[0].shape(), target));
    }
    return target;
}

Shape shape_reduce(std::span<const Expr> in, const Attrs& attrs) {
    return reduced_shape(in[0].shape(), attrs.ints, attrs.keepdims);
}

Shape shape_reshape(std::span<const Expr> in, const Attrs& attrs) {
    Shape target(attrs.ints);
    if (target.numel() != in[0].shape().numel()) {
        throw ShapeError(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", in[0].shape(),
                                     in[0].shape().numel(), target, target.numel()));
    }
    return target;
}

Shape shape_permute(std::span<const Expr> in, const Attrs& attrs) {
    const Shape& shape = in[0].shape();
    std::vector<std::int64_t> dims;
    for (auto axis : attrs.ints) dims.push_back(shape[static_cast<std::size_t>(axis)]);
    return Shape(std::move(dims));
}

Shape shape_matmul(std::span<const Expr> in, const Attrs&) {
    const Shape& a = in[0].shape();
    const Shape& b = in[1].shape();
    if (a.rank() < 2 || b.rank() < 2) {
        throw ShapeError(fmt::format("operands need rank 2 or more, got {} and {}", a, b));
    }
    if (a[a.rank() - 1] != b[b.rank() - 2]) {
        throw ShapeError(fmt::format("the inner dimensions of {} and {} differ ({} vs {})", a, b,
                                     a[a.rank() - 1], b[b.rank() - 2]));
    }
    const Shape batch_a(std::vector<std::int64_t>(a.begin(), a.end() - 2));
    const Shape batch_b(std::vector<std::int64_t>(b.begin(), b.end() - 2));
    auto dims = broadcast_shapes(batch_a, batch_b).dims();
    dims.push_back(a[a.rank() - 2]);
    dims.push_back(b[b.rank() - 1]);
    return Shape(std::move(dims));
}

Tensor eval_broadcast_to(const Node& node, std::span<const Tensor> in) {
    Tensor out(node.shape(), node.dtype());
    StridedWalk walk(node.shape(), {broadcast_strides(in[0].shape(), node.shape())});
    for (std::int64_t i = 0; i < out.numel(); ++i, walk.next()) out.set(i, in[0].get(walk.offset(0)));
    return out;
}

// Sums in double whatever the dtype: the reference is meant to be the more accurate side of every comparison.
// Reductions over leading axes (per-unit parameter gradients, and sums of everything) add in the order of
// reduce_order.hpp, which the fused engine repeats; reductions over trailing axes add each group in order; any
// other reduction walks x in row-major order.
template <class T> void accumulate(const Tensor& x, const std::vector<std::int64_t>& axes, const Shape& kept, std::vector<double>& acc) {
    const T* data = x.data<T>();
    const std::int64_t n = x.numel();
    const std::size_t rank = x.rank();
    const auto leading = [&] {
        for (std::size_t i = 0; i < axes.size(); ++i) {
            if (axes[i] != static_cast<std::int64_t>(i)) return false;
        }
        return true;
    }();
    const auto trailing = [&] {
        for (std::size_t i = 0; i < axes.size(); ++i) {
            if (axes[i] != static_cast<std::int64_t>(rank - axes.size() + i)) return false;
        }
        return true;
    }();
    const auto groups = static_cast<std::int64_t>(acc.size());
    if (leading && groups > 0) {
        // In the order of reduce_order.hpp: `period` accumulators, then folded to `groups`.
        const std::int64_t period = detail::accumulation_period(groups);
        std::vector<double> partial(static_cast<std::size_t>(period), 0.0);
        for (std::int64_t i = 0; i < n; i += period) {
            const std::int64_t row = std::min(period, n - i);
            for (std::int64_t j = 0; j < row; ++j) partial[static_cast<std::size_t>(j)] += static_cast<double>(data[i + j]);
        }
        detail::fold_accumulators(partial.data(), period, groups, [&](std::int64_t j, double total) { acc[static_cast<std::size_t>(j)] = total; });
        return;
    }
    if (trailing && groups > 0) {
        const std::int64_t inner = n / groups;
        for (std::int64_t g = 0; g < groups; ++g) {
            double total = 0.0;
            for (std::int64_t j = 0; j < inner; ++j) total += static_cast<double>(data[g * inner + j]);
            acc[static_cast<std::size_t>(g)] = total;
        }
        return;
    }
    StridedWalk walk(x.shape(), {broadcast_strides(kept, x.shape())});
    for (std::int64_t i = 0; i < n; ++i, walk.next()) acc[static_cast<std::size_t>(walk.offset(0))] += static_cast<double>(data[i]);
}

Tensor reduce_sum(const Node& node, const Tensor& x, double scale) {
    const Shape kept = reduced_shape(x.shape(), node.attrs().ints, true);
    std::vector<double> acc(static_cast<std::size_t>(kept.numel()), 0.0);
    if (x.dtype() == DType::float32) {
        accumulate<float>(x, node.attrs().ints, kept, acc);
    } else {
        accumulate<double>(x, node.attrs().ints, kept, acc);
    }
    Tensor out(node.shape(), node.dtype());
    for (std::int64_t i = 0; i < out.numel(); ++i) out.set(i, acc[static_cast<std::size_t>(i)] * scale);
    return out;
}

Tensor eval_sum(const Node& node, std::span<const Tensor> in) {
    return reduce_sum(node, in[0], 1.0);
}

Tensor eval_mean(const Node& node, std::span<const Tensor> in) {
    const std::int64_t count = in[0].numel() / std::max<std::int64_t>(node.shape().numel(), 1);
    // The mean of nothing is NaN, as in NumPy and PyTorch.
    const double scale = count == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / static_cast<double>(count);
    return reduce_sum(node, in[0], scale);
}

Tensor eval_amax(const Node& node, std::span<const Tensor> in) {
    const Tensor& x = in[0];
    const Shape kept = reduced_shape(x.shape(), node.attrs().ints, true);
    std::vector<double> best(static_cast<std::size_t>(kept.numel()), -std::numeric_limits<double>::infinity());
    StridedWalk walk(x.shape(), {broadcast_strides(kept, x.shape())});
    for (std::int64_t i = 0; i < x.numel(); ++i, walk.next()) {
        double& b = best[static_cast<std::size_t>(walk.offset(0))];
        const double v = x.get(i);
        if (std::isnan(v) || v > b) b = std::isnan(b) ? b : v;
    }
    Tensor out(node.shape(), node.dtype());
    for (std::int64_t i = 0; i < out.numel(); ++i) out.set(i, best[static_cast<std::size_t>(i)]);
    return out;
}

Tensor eval_reshape(const Node& node, std::span<const Tensor> in) {
    return in[0].reshape(node.shape());
}

Tensor eval_permute(const Node& node, std::span<const Tensor> in) {
    const auto in_strides = in[0].shape().strides();
    std::vector<std::int64_t> strides;
    for (auto axis : node.attrs().ints) strides.push_back(in_strides[static_cast<std::size_t>(axis)]);
    Tensor out(node.shape(), node.dtype());
    StridedWalk walk(node.shape(), {strides});
    for (std::int64_t i = 0; i < out.numel(); ++i, walk.next()) out.set(i, in[0].get(walk.offset(0)));
    return out;
}

template <class T> void matmul_loop(const Node& node, const Tensor& a, const Tensor& b, Tensor& out) {
    const Shape& shape = node.shape();
    const std::size_t rank = shape.rank();
    const std::int64_t m = shape[rank - 2];
    const std::int64_t n = shape[rank - 1];
    const std::int64_t k = a.shape()[a.rank() - 1];
    const Shape batch(std::vector<std::int64_t>(shape.begin(), shape.end() - 2));
    auto matrix_strides = [&](const Shape& s) {
        // One step along a batch axis of the operand moves by one whole matrix.
        const Shape operand_batch(std::vector<std::int64_t>(s.begin(), s.end() - 2));
        auto strides = broadcast_strides(operand_batch, batch);
        for (auto& st : strides) st *= s[s.rank() - 2] * s[s.rank() - 1];
        return strides;
    };
    StridedWalk walk(batch, {matrix_strides(a.shape()), matrix_strides(b.shape())});
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    for (std::int64_t batch_index = 0; batch_index < batch.numel(); ++batch_index, walk.next()) {
        const T* ma = pa + walk.offset(0);
        const T* mb = pb + walk.offset(1);
        T* mo = po + batch_index * m * n;
        for (std::int64_t i = 0; i < m; ++i) {
            for (std::int64_t j = 0; j < n; ++j) {
                double acc = 0.0;
                for (std::int64_t p = 0; p < k; ++p) acc += static_cast<double>(ma[i * k + p]) * mb[p * n + j];
                mo[i * n + j] = static_cast<T>(acc);
            }
        }
    }
}

Tensor eval_matmul(const Node& node, std::span<const Tensor> in) {
    Tensor out(node.shape(), node.dtype());
    if (node.dtype() == DType::float32) {
        matmul_loop<float>(node, in[0], in[1], out);
    } else {
        matmul_loop<double>(node, in[0], in[1], out);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Attribute text for printing
// ---------------------------------------------------------------------------------------------

std::string dims_text(const std::vector<std::int64_t>& dims) {
    return fmt::format("[{}]", fmt::join(dims, ", "));
}

std::string reduce_attr_text(const Attrs& attrs, std::span<const Expr> in) {
    const bool all_axes = attrs.ints.size() == in[0].rank();
    std::string text = all_axes ? "" : fmt::format(", axes={}", dims_text(attrs.ints));
    if (attrs.keepdims) text += ", keepdims=true";
    return text;
}

std::string ints_attr_text(const Attrs& attrs, std::span<const Expr>) {
    return ", " + dims_text(attrs.ints);
}

// ---------------------------------------------------------------------------------------------
// VJP helpers
// ---------------------------------------------------------------------------------------------

// The adjoint of a reduction's operand: the (kept-dimension) adjoint, broadcast back by the sweep.
Expr reduction_grad(const Vjp& v) {
    // A symbolic one stays one: ones broadcast to any shape.
    if (v.grad.is_one()) return v.grad;
    const Shape kept = reduced_shape(v.x().shape(), v.attrs().ints, true);
    return reshape(v.full_grad(), kept.dims());
}

std::vector<std::int64_t> inverse_permutation(const std::vector<std::int64_t>& perm) {
    std::vector<std::int64_t> inverse(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inverse[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
    return inverse;
}

constexpr double two_over_sqrt_pi = 2.0 / 1.772453850905516027298167483341145182797549456122387128213807789852911284591025748;

#define KERNELS(name) &kernels::name<float>, &kernels::name<double>
#define NO_KERNELS nullptr, nullptr

// Test regions: where generated tests sample each operand.
constexpr TestRegion anywhere{};
constexpr TestRegion region(Interval a, Interval b = {}, Interval c = {}) {
    return TestRegion{{a, b, c}};
}
constexpr Interval positive{0.2, 3.0};
constexpr Interval negative{-3.0, -0.2};

// The table. One row per primitive, in the order of enum Op.
// Columns: op, name, arity, class, shape rule, scalar kernels (float and double), tensor kernel,
// VJP rule, print form, attribute text,
// test regions and their count.
constexpr std::array<OpInfo, op_count> table{{
    {Op::variable, "variable", 0, OpClass::leaf, nullptr, NO_KERNELS, nullptr, nullptr, {"", "", atom_precedence},
     nullptr, {}, 0},
    {Op::constant, "constant", 0, OpClass::leaf, nullptr, NO_KERNELS, nullptr, nullptr, {"", "", atom_precedence},
     nullptr, {}, 0},

    // d/dx (-x) = -1
    {Op::neg, "neg", 1, OpClass::elementwise, nullptr, KERNELS(neg), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return -v.grad; }, {"-{0}", "-{0}", 4, Assoc::right}, nullptr,
     {anywhere}, 1},
    // d/da (a + b) = 1, d/db (a + b) = 1
    {Op::add, "add", 2, OpClass::elementwise, nullptr, KERNELS(add), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad; }, {"{0} + {1}", "{0} + {1}", 2}, nullptr, {anywhere}, 1},
    // d/da (a - b) = 1, d/db (a - b) = -1
    {Op::sub, "sub", 2, OpClass::elementwise, nullptr, KERNELS(sub), nullptr,
     [](const Vjp& v, std::size_t i) -> Expr { return i == 0 ? Expr(v.grad) : -v.grad; },
     {"{0} - {1}", "{0} - {1}", 2}, nullptr, {anywhere}, 1},
    // d/da (a * b) = b, d/db (a * b) = a
    {Op::mul, "mul", 2, OpClass::elementwise, nullptr, KERNELS(mul), nullptr,
     [](const Vjp& v, std::size_t i) -> Expr { return i == 0 ? v.grad * v.rhs() : v.grad * v.lhs(); },
     {"{0} * {1}", "{0} \\cdot {1}", 3}, nullptr, {anywhere}, 1},
    // d/da (a / b) = 1 / b, d/db (a / b) = -a / b^2 = -(a / b) / b
    {Op::div, "div", 2, OpClass::elementwise, nullptr, KERNELS(div), nullptr,
     [](const Vjp& v, std::size_t i) -> Expr {
         return i == 0 ? v.grad / v.rhs() : -(v.grad * (v.result / v.rhs()));
     },
     {"{0} / {1}", "\\frac{{0}}{{1}}", 3, Assoc::left, atom_precedence}, nullptr, {region({-2, 2}, {0.5, 2})}, 1},
    // d/da a^b = b * a^(b - 1), and 0 where b = 0 (as in PyTorch; 0 * 0^-1 would be NaN at a = 0);
    // d/db a^b = a^b * log(a), taken as 0 where a = 0 and b >= 0 (the limit from above)
    {Op::pow, "pow", 2, OpClass::elementwise, nullptr, KERNELS(pow), nullptr,
     [](const Vjp& v, std::size_t i) -> Expr {
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
     {"{0} ^ {1}", "{0}^{{1}}", 5, Assoc::right}, nullptr, {region({0.5, 2}, {-2, 2})}, 1},
    // d/dx exp(x) = exp(x)
    {Op::exp, "exp", 1, OpClass::elementwise, nullptr, KERNELS(exp), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * v.result; }, {"exp({0})", "e^{{0}}", atom_precedence, Assoc::left, 5}, nullptr,
     {anywhere}, 1},
    // d/dx log(x) = 1 / x
    {Op::log, "log", 1, OpClass::elementwise, nullptr, KERNELS(log), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad / v.x(); },
     {"log({0})", "\\log\\left({0}\\right)"}, nullptr, {region(positive)}, 1},
    // d/dx log(1 + x) = 1 / (x + 1)
    {Op::log1p, "log1p", 1, OpClass::elementwise, nullptr, KERNELS(log1p), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad / (v.x() + 1); },
     {"log1p({0})", "\\log\\left(1 + {0}\\right)"}, nullptr, {region({-0.5, 2})}, 1},
    // d/dx (exp(x) - 1) = exp(x) = expm1(x) + 1
    {Op::expm1, "expm1", 1, OpClass::elementwise, nullptr, KERNELS(expm1), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * (v.result + 1); },
     {"expm1({0})", "\\left(e^{{0}} - 1\\right)"}, nullptr, {anywhere}, 1},
    // d/dx sqrt(x) = 1 / (2 sqrt(x))
    {Op::sqrt, "sqrt", 1, OpClass::elementwise, nullptr, KERNELS(sqrt), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad / (2 * v.result); },
     {"sqrt({0})", "\\sqrt{{0}}"}, nullptr, {region(positive)}, 1},
    // d/dx |x| = sign(x), which is 0 at 0 (PyTorch's convention)
    {Op::abs, "abs", 1, OpClass::elementwise, nullptr, KERNELS(abs), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * sign(v.x()); },
     {"abs({0})", "\\left|{0}\\right|"}, nullptr, {region(positive), region(negative)}, 2},
    // d/dx sign(x) = 0: no gradient flows
    {Op::sign, "sign", 1, OpClass::elementwise, nullptr, KERNELS(sign), nullptr, nullptr,
     {"sign({0})", "\\operatorname{sign}\\left({0}\\right)"}, nullptr, {region(positive), region(negative)}, 2},
    // d/dx sin(x) = cos(x)
    {Op::sin, "sin", 1, OpClass::elementwise, nullptr, KERNELS(sin), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * cos(v.x()); },
     {"sin({0})", "\\sin\\left({0}\\right)"}, nullptr, {anywhere}, 1},
    // d/dx cos(x) = -sin(x)
    {Op::cos, "cos", 1, OpClass::elementwise, nullptr, KERNELS(cos), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * -sin(v.x()); },
     {"cos({0})", "\\cos\\left({0}\\right)"}, nullptr, {anywhere}, 1},
    // d/dx tanh(x) = 1 - tanh(x)^2
    {Op::tanh, "tanh", 1, OpClass::elementwise, nullptr, KERNELS(tanh), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * (1 - v.result * v.result); },
     {"tanh({0})", "\\tanh\\left({0}\\right)"}, nullptr, {anywhere}, 1},
    // d/dx sigmoid(x) = sigmoid(x) (1 - sigmoid(x))
    {Op::sigmoid, "sigmoid", 1, OpClass::elementwise, nullptr, KERNELS(sigmoid), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * (v.result * (1 - v.result)); },
     {"sigmoid({0})", "\\sigma\\left({0}\\right)"}, nullptr, {anywhere}, 1},
    // d/dx log(1 + exp(x)) = sigmoid(x)
    {Op::softplus, "softplus", 1, OpClass::elementwise, nullptr, KERNELS(softplus), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * sigmoid(v.x()); },
     {"softplus({0})", "\\operatorname{softplus}\\left({0}\\right)"}, nullptr, {anywhere}, 1},
    // d/dx erf(x) = 2 / sqrt(pi) * exp(-x^2)
    {Op::erf, "erf", 1, OpClass::elementwise, nullptr, KERNELS(erf), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad * (two_over_sqrt_pi * exp(-(v.x() * v.x()))); },
     {"erf({0})", "\\operatorname{erf}\\left({0}\\right)"}, nullptr, {anywhere}, 1},
    // d/dx relu(x) = 1 where x > 0, else 0 (0 at the kink, as in PyTorch)
    {Op::relu, "relu", 1, OpClass::elementwise, nullptr, KERNELS(relu), nullptr,
     [](const Vjp& v, std::size_t) -> Expr { return where(v.x() > 0, v.grad, 0); },
     {"relu({0})", "\\operatorname{relu}\\left({0}\\right)"}, nullptr, {region(positive), region(negative)}, 2},
    // d/da max(a, b) = 1 where a > b, 1/2 where a = b, else 0 (ties split evenly, as in PyTorch)
    {Op::maximum, "maximum", 2, OpClass::elementwise, nullptr, KERNELS(maximum), nullptr,
     [](const Vjp& v, std::size_t i) -> Expr {
         const Expr mine = v.operand(i);
         const Expr other = v.operand(1 - i);
         return where(mine > other, v.grad, where(eq(mine, other), 0.5 * Expr(v.grad), 0));
     },
     {"max({0}, {1})", "\\max\\left({0}, {1}\\right)"}, nullptr,
     {region({0.5, 2}, {-2, -0.5}), region({-2, -0.5}, {0.5, 2})}, 2},
    // d/da min(a, b) = 1 where a < b, 1/2 where a = b, else 0
    {Op::minimum, "minimum", 2, OpClass::elementwise, nullptr, KERNELS(minimum), nullptr,
     [](const Vjp& v, std::size_t i) -> Expr {
         const Expr mine = v.operand(i);
         const Expr other = v.operand(1 - i);
         return where(mine < other, v.grad, where(eq(mine, other), 0.5 * Expr(v.grad), 0));
     },
     {"min({0}, {1})", "\\min\\left({0}, {1}\\right)"}, nullptr,
     {region({0.5, 2}, {-2, -0.5}), region({-2, -0.5}, {0.5, 2})}, 2},
    // d/da where(c, a, b) = [c], d/db where(c, a, b) = [not c]; the condition gets none.
    // The reverse sweep also keeps the unselected branch's own derivative out (autodiff.cpp, masks).
    {Op::where, "where", 3, OpClass::elementwise, nullptr, KERNELS(where), nullptr,
     [](const Vjp& v, std::size_t i) -> Expr {
         if (i == 0) return {};
         return i == 1 ? where(v.cond(), v.grad, 0) : where(v.cond(), 0, v.grad);
     },
     {"where({0}, {1}, {2})", "\\begin{cases} {1} & \\text{if } {0} \\ne 0 \\\\ {2} & \\text{otherwise} \\end{cases}"},
     nullptr, {region({0.5, 2}), region({0, 0})}, 2},
    // comparisons are piecewise constant: no gradient
    {Op::lt, "lt", 2, OpClass::elementwise, nullptr, KERNELS(lt), nullptr, nullptr,
     {"{0} < {1}", "\\left[{0} < {1}\\right]", 1}, nullptr, {region({0.5, 2}, {-2, -0.5})}, 1},
    {Op::le, "le", 2, OpClass::elementwise, nullptr, KERNELS(le), nullptr, nullptr,
     {"{0} <= {1}", "\\left[{0} \\le {1}\\right]", 1}, nullptr, {region({0.5, 2}, {-2, -0.5})}, 1},
    {Op::gt, "gt", 2, OpClass::elementwise, nullptr, KERNELS(gt), nullptr, nullptr,
     {"{0} > {1}", "\\left[{0} > {1}\\right]", 1}, nullptr, {region({0.5, 2}, {-2, -0.5})}, 1},
    {Op::ge, "ge", 2, OpClass::elementwise, nullptr, KERNELS(ge), nullptr, nullptr,
     {"{0} >= {1}", "\\left[{0} \\ge {1}\\right]", 1}, nullptr, {region({0.5, 2}, {-2, -0.5})}, 1},
    {Op::eq, "eq", 2, OpClass::elementwise, nullptr, KERNELS(eq), nullptr, nullptr,
     {"{0} == {1}", "\\left[{0} = {1}\\right]", 1}, nullptr, {region({0.5, 2}, {-2, -0.5})}, 1},
    {Op::ne, "ne", 2, OpClass::elementwise, nullptr, KERNELS(ne), nullptr, nullptr,
     {"{0} != {1}", "\\left[{0} \\ne {1}\\right]", 1}, nullptr, {region({0.5, 2}, {-2, -0.5})}, 1},
    // clamp(x, lo, hi) = min(max(x, lo), hi): the gradient passes to x on the closed interval [lo, hi],
    // to lo where x < lo, to hi where x > hi (and to hi everywhere when lo > hi, since then the result is hi)
    {Op::clamp, "clamp", 3, OpClass::elementwise, nullptr, KERNELS(clamp), nullptr,
     [](const Vjp& v, std::size_t i) -> Expr {
         const Expr x = v.operand(0);
         const Expr lo = v.operand(1);
         const Expr hi = v.operand(2);
         if (i == 0) return where(ge(x, lo) * le(x, hi), v.grad, 0);
         if (i == 1) return where(lt(x, lo) * le(lo, hi), v.grad, 0);
         return where(maximum(gt(x, hi), gt(lo, hi)), v.grad, 0);
     },
     {"clamp({0}, {1}, {2})", "\\operatorname{clamp}\\left({0}, {1}, {2}\\right)"}, nullptr,
     {region({-0.5, 0.5}, {-2, -1}, {1, 2}), region({2.5, 3}, {-2, -1}, {1, 2})}, 2},

    // d/dx broadcast_to(x) = the adjoint summed over the broadcast axes (the sweep's unbroadcast does it)
    {Op::broadcast_to, "broadcast_to", 1, OpClass::structural, shape_broadcast_to, NO_KERNELS, eval_broadcast_to,
     [](const Vjp& v, std::size_t) -> Expr { return v.grad; }, {"broadcast_to({0}{a})", "\\operatorname{broadcast}\\left({0}{a}\\right)"},
     ints_attr_text, {anywhere}, 1},
    // d/dx sum(x) = ones: the adjoint broadcast back over the summed axes
    {Op::sum, "sum", 1, OpClass::structural, shape_reduce, NO_KERNELS, eval_sum,
     [](const Vjp& v, std::size_t) -> Expr { return reduction_grad(v); },
     {"sum({0}{a})", "\\operatorname{sum}\\left({0}{a}\\right)"}, reduce_attr_text, {anywhere}, 1},
    // d/dx mean(x) = 1 / n: the adjoint broadcast back, divided by the count
    {Op::mean, "mean", 1, OpClass::structural, shape_reduce, NO_KERNELS, eval_mean,
     [](const Vjp& v, std::size_t) -> Expr {
         const double count = static_cast<double>(v.x().shape().numel()) /
                              static_cast<double>(std::max<std::int64_t>(v.node.shape().numel(), 1));
         return reduction_grad(v) / constant(count, v.node.dtype());
     },
     {"mean({0}{a})", "\\operatorname{mean}\\left({0}{a}\\right)"}, reduce_attr_text, {anywhere}, 1},
    // d/dx amax(x) = [x == amax(x)] / (number of such elements): the adjoint shared by the ties
    {Op::amax, "amax", 1, OpClass::structural, shape_reduce, NO_KERNELS, eval_amax,
     [](const Vjp& v, std::size_t) -> Expr {
         const Shape kept = reduced_shape(v.x().shape(), v.attrs().ints, true);
         const Expr at_max = eq(v.x(), reshape(v.result, kept.dims()));
         const Expr ties = sum(at_max, v.attrs().ints, true);
         return at_max * (reduction_grad(v) / ties);
     },
     {"amax({0}{a})", "\\operatorname{amax}\\left({0}{a}\\right)"}, reduce_attr_text, {anywhere}, 1},
    // d/dx reshape(x) = the adjoint reshaped back
    {Op::reshape, "reshape", 1, OpClass::structural, shape_reshape, NO_KERNELS, eval_reshape,
     [](const Vjp& v, std::size_t) -> Expr {
         if (v.grad.is_one()) return v.grad;
         return reshape(v.full_grad(), v.x().shape().dims());
     },
     {"reshape({0}{a})", "\\operatorname{reshape}\\left({0}{a}\\right)"}, ints_attr_text, {anywhere}, 1},
    // d/dx permute(x, p) = the adjoint permuted by the inverse of p
    {Op::permute, "permute", 1, OpClass::structural, shape_permute, NO_KERNELS, eval_permute,
     [](const Vjp& v, std::size_t) -> Expr {
         if (v.grad.is_one()) return v.grad;
         return permute(v.full_grad(), inverse_permutation(v.attrs().ints));
     },
     {"permute({0}{a})", "\\operatorname{permute}\\left({0}{a}\\right)"}, ints_attr_text, {anywhere}, 1},
    // d/dA (A @ B) = G @ B^T, d/dB (A @ B) = A^T @ G (batch axes summed by the sweep's unbroadcast)
    {Op::matmul, "matmul", 2, OpClass::structural, shape_matmul, NO_KERNELS, eval_matmul,
     [](const Vjp& v, std::size_t i) -> Expr {
         const Expr g = v.full_grad();
         return i == 0 ? matmul(g, transpose(v.rhs())) : matmul(transpose(v.lhs()), g);
     },
     {"{0} @ {1}", "{0} {1}", 3}, nullptr, {anywhere}, 1},
}};

#undef KERNELS
#undef NO_KERNELS

// The enum and the table must agree, row for row.
constexpr bool table_matches_enum() {
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (static_cast<std::size_t>(table[i].op) != i) return false;
    }
    return true;
}
static_assert(table.size() == op_count, "one row per op in enum Op");
static_assert(table_matches_enum(), "rows are in the order of enum Op");

// ---------------------------------------------------------------------------------------------
// Node creation
// ---------------------------------------------------------------------------------------------

template <class T> T fold_scalar(const OpInfo& info, std::span<const Expr> in) {
    T args[max_arity] = {T(0), T(0), T(0)};
    for (std::size_t i = 0; i < in.size(); ++i) args[i] = static_cast<T>(in[i].node().scalar_value());
    const auto kernel = [&] {
        if constexpr (std::is_same_v<T, float>) {
            return info.f32;
        } else {
            return info.f64;
        }
    }();
    return kernel(args[0], args[1], args[2]);
}

Expr build(Op op, std::span<const Expr> in, Attrs attrs) {
    const OpInfo& info = op_info(op);
    if (in.size() != info.arity) {
        throw Error(fmt::format("{} takes {} operand(s), got {}", info.name, info.arity, in.size()));
    }
    for (const auto& operand : in) {
        if (!operand) throw Error(fmt::format("{}: an operand is an empty Expr", info.name));
    }
    const DType dtype = in[0].dtype();
    for (std::size_t i = 1; i < in.size(); ++i) {
        if (in[i].dtype() != dtype) {
            throw DTypeError(fmt::format("{}: operands have different dtypes, {} and {}, in '{}'", info.name, dtype,
                                         in[i].dtype(), describe_call(op, in, attrs)));
        }
    }
    Shape shape;
    try {
        if (info.kind == OpClass::elementwise) {
            shape = in[0].shape();
            for (std::size_t i = 1; i < in.size(); ++i) shape = broadcast_shapes(shape, in[i].shape());
        } else {
            shape = info.shape(in, attrs);
        }
    } catch (const ShapeError& e) {
        throw ShapeError(fmt::format("{}: {} in '{}'", info.name, e.what(), describe_call(op, in, attrs)));
    }
    if (info.kind == OpClass::elementwise &&
        std::all_of(in.begin(), in.end(), [](const Expr& e) { return e.node().is_scalar_constant(); })) {
        const double value = dtype == DType::float32 ? static_cast<double>(fold_scalar<float>(info, in))
                                                     : fold_scalar<double>(info, in);
        return constant(value, dtype);
    }
    return make_node(op, dtype, std::move(shape), in, std::move(attrs));
}

std::vector<std::int64_t> normalized_axes(const Expr& x, const std::vector<std::int64_t>& axes, std::string_view op) {
    std::vector<std::int64_t> result;
    if (axes.empty()) {
        result.resize(x.rank());
        std::iota(result.begin(), result.end(), 0);
        return result;
    }
    for (auto axis : axes) {
        try {
            result.push_back(static_cast<std::int64_t>(normalize_axis(axis, x.rank())));
        } catch (const ShapeError& e) {
            throw ShapeError(fmt::format("{}: {} (operand shape {}) in '{}'", op, e.what(), x.shape(), to_inline_string(x, 200)));
        }
    }
    std::sort(result.begin(), result.end());
    if (std::adjacent_find(result.begin(), result.end()) != result.end()) {
        throw ShapeError(fmt::format("{}: axes [{}] name an axis twice (operand shape {})", op, fmt::join(axes, ", "),
                                     x.shape()));
    }
    return result;
}

}  // namespace

const OpInfo& op_info(Op op) {
    return table[static_cast<std::size_t>(op)];
}

std::span<const OpInfo> op_table() {
    return table;
}

bool is_comparison(Op op) {
    return op == Op::lt || op == Op::le || op == Op::gt || op == Op::ge || op == Op::eq || op == Op::ne;
}

std::optional<Op> op_by_name(std::string_view name) {
    for (const auto& row : table) {
        if (row.name == name) return row.op;
    }
    return std::nullopt;
}

Expr var(std::string name, Shape shape, DType dtype) {
    if (name.empty()) throw Error("a variable needs a name");
    Attrs attrs;
    attrs.name = std::move(name);
    return make_node(Op::variable, dtype, std::move(shape), {}, std::move(attrs));
}

Expr constant(double value, DType dtype) {
    return constant(Tensor::scalar(value, dtype));
}

Expr constant(Tensor value) {
    Attrs attrs;
    const DType dtype = value.dtype();
    Shape shape = value.shape();
    // The node owns its value: a later write to the caller's tensor must not change the graph.
    attrs.value = value.clone();
    return make_node(Op::constant, dtype, std::move(shape), {}, std::move(attrs));
}

Expr apply_exprs(Op op, std::span<const Expr> operands, Attrs attrs) {
    return build(op, operands, std::move(attrs));
}

Expr apply(Op op, std::span<const Operand> operands, Attrs attrs) {
    // Plain numbers take the dtype of the first expression operand (float64 when there is none).
    DType dtype = DType::float64;
    for (const auto& operand : operands) {
        if (operand.is_expr()) {
            dtype = operand.expr().dtype();
            break;
        }
    }
    std::array<Expr, max_arity> exprs;
    if (operands.size() > max_arity) throw Error(fmt::format("{} got {} operands", op_info(op).name, operands.size()));
    for (std::size_t i = 0; i < operands.size(); ++i) {
        exprs[i] = operands[i].is_expr() ? operands[i].expr() : constant(operands[i].number(), dtype);
    }
    return build(op, std::span<const Expr>(exprs.data(), operands.size()), std::move(attrs));
}

namespace {
Expr apply1(Op op, const Operand& a) {
    const Operand ops[] = {a};
    return apply(op, ops);
}
Expr apply2(Op op, const Operand& a, const Operand& b) {
    const Operand ops[] = {a, b};
    return apply(op, ops);
}
Expr apply3(Op op, const Operand& a, const Operand& b, const Operand& c) {
    const Operand ops[] = {a, b, c};
    return apply(op, ops);
}
}  // namespace

Expr operator-(const Expr& x) { return apply1(Op::neg, x); }
Expr operator+(const Operand& a, const Operand& b) { return apply2(Op::add, a, b); }
Expr operator-(const Operand& a, const Operand& b) { return apply2(Op::sub, a, b); }
Expr operator*(const Operand& a, const Operand& b) { return apply2(Op::mul, a, b); }
Expr operator/(const Operand& a, const Operand& b) { return apply2(Op::div, a, b); }
Expr operator<(const Operand& a, const Operand& b) { return apply2(Op::lt, a, b); }
Expr operator<=(const Operand& a, const Operand& b) { return apply2(Op::le, a, b); }
Expr operator>(const Operand& a, const Operand& b) { return apply2(Op::gt, a, b); }
Expr operator>=(const Operand& a, const Operand& b) { return apply2(Op::ge, a, b); }

Expr neg(const Operand& x) { return apply1(Op::neg, x); }
Expr add(const Operand& a, const Operand& b) { return apply2(Op::add, a, b); }
Expr sub(const Operand& a, const Operand& b) { return apply2(Op::sub, a, b); }
Expr mul(const Operand& a, const Operand& b) { return apply2(Op::mul, a, b); }
Expr div(const Operand& a, const Operand& b) { return apply2(Op::div, a, b); }
Expr pow(const Operand& base, const Operand& exponent) { return apply2(Op::pow, base, exponent); }
Expr exp(const Operand& x) { return apply1(Op::exp, x); }
Expr log(const Operand& x) { return apply1(Op::log, x); }
Expr log1p(const Operand& x) { return apply1(Op::log1p, x); }
Expr expm1(const Operand& x) { return apply1(Op::expm1, x); }
Expr sqrt(const Operand& x) { return apply1(Op::sqrt, x); }
Expr abs(const Operand& x) { return apply1(Op::abs, x); }
Expr sign(const Operand& x) { return apply1(Op::sign, x); }
Expr sin(const Operand& x) { return apply1(Op::sin, x); }
Expr cos(const Operand& x) { return apply1(Op::cos, x); }
Expr tanh(const Operand& x) { return apply1(Op::tanh, x); }
Expr sigmoid(const Operand& x) { return apply1(Op::sigmoid, x); }
Expr softplus(const Operand& x) { return apply1(Op::softplus, x); }
Expr erf(const Operand& x) { return apply1(Op::erf, x); }
Expr relu(const Operand& x) { return apply1(Op::relu, x); }
Expr maximum(const Operand& a, const Operand& b) { return apply2(Op::maximum, a, b); }
Expr minimum(const Operand& a, const Operand& b) { return apply2(Op::minimum, a, b); }
Expr where(const Operand& cond, const Operand& a, const Operand& b) { return apply3(Op::where, cond, a, b); }
Expr lt(const Operand& a, const Operand& b) { return apply2(Op::lt, a, b); }
Expr le(const Operand& a, const Operand& b) { return apply2(Op::le, a, b); }
Expr gt(const Operand& a, const Operand& b) { return apply2(Op::gt, a, b); }
Expr ge(const Operand& a, const Operand& b) { return apply2(Op::ge, a, b); }
Expr eq(const Operand& a, const Operand& b) { return apply2(Op::eq, a, b); }
Expr ne(const Operand& a, const Operand& b) { return apply2(Op::ne, a, b); }
Expr clamp(const Operand& x, const Operand& lo, const Operand& hi) { return apply3(Op::clamp, x, lo, hi); }

namespace {

// A one-operand structural node with its attributes.
Expr unary_structural(Op op, const Expr& x, Attrs attrs) {
    const Expr in[] = {x};
    return build(op, in, std::move(attrs));
}

Expr reduction(Op op, const Expr& x, const std::vector<std::int64_t>& axes, bool keepdims) {
    Attrs attrs;
    attrs.ints = normalized_axes(x, axes, op_info(op).name);
    attrs.keepdims = keepdims;
    return unary_structural(op, x, std::move(attrs));
}

}  // namespace

Expr broadcast_to(const Expr& x, Shape shape) {
    if (x.shape() == shape) return x;
    Attrs attrs;
    attrs.ints = shape.dims();
    return unary_structural(Op::broadcast_to, x, std::move(attrs));
}

Expr sum(const Expr& x, std::vector<std::int64_t> axes, bool keepdims) {
    return reduction(Op::sum, x, axes, keepdims);
}

Expr mean(const Expr& x, std::vector<std::int64_t> axes, bool keepdims) {
    return reduction(Op::mean, x, axes, keepdims);
}

Expr amax(const Expr& x, std::vector<std::int64_t> axes, bool keepdims) {
    return reduction(Op::amax, x, axes, keepdims);
}

Expr reshape(const Expr& x, std::vector<std::int64_t> shape) {
    // Resolve one -1 from the element count.
    const auto inferred = std::count(shape.begin(), shape.end(), -1);
    if (inferred > 1) {
        throw ShapeError(fmt::format("reshape: at most one dimension of [{}] may be -1, in '{}'", fmt::join(shape, ", "),
                                     to_inline_string(x, 200)));
    }
    if (inferred == 1) {
        std::int64_t known = 1;
        for (auto d : shape) {
            if (d != -1) known *= d;
        }
        const std::int64_t total = x.shape().numel();
        if (known == 0 || total % known != 0) {
            throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) to [{}] in '{}'", x.shape(), total,
                                         fmt::join(shape, ", "), to_inline_string(x, 200)));
        }
        *std::find(shape.begin(), shape.end(), -1) = total / known;
    }
    Shape target = [&] {
        try {
            return Shape(shape);
        } catch (const ShapeError& e) {
            throw ShapeError(fmt::format("reshape: {} in '{}'", e.what(), to_inline_string(x, 200)));
        }
    }();
    if (target == x.shape()) return x;
    Attrs attrs;
    attrs.ints = target.dims();
    return unary_structural(Op::reshape, x, std::move(attrs));
}

Expr permute(const Expr& x, std::vector<std::int64_t> permutation) {
    const std::size_t rank = x.rank();
    std::vector<std::int64_t> normalized;
    std::vector<bool> seen(rank, false);
    bool valid = permutation.size() == rank;
    for (auto axis : permutation) {
        if (!valid) break;
        const auto r = static_cast<std::int64_t>(rank);
        const std::int64_t a = axis < 0 ? axis + r : axis;
        valid = a >= 0 && a < r && !seen[static_cast<std::size_t>(a)];
        if (valid) {
            seen[static_cast<std::size_t>(a)] = true;
            normalized.push_back(a);
        }
    }
    if (!valid) {
        throw ShapeError(fmt::format("permute: [{}] is not a permutation of the {} axes of {} in '{}'",
                                     fmt::join(permutation, ", "), rank, x.shape(), to_inline_string(x, 200)));
    }
    bool identity = true;
    for (std::size_t i = 0; i < rank; ++i) identity = identity && normalized[i] == static_cast<std::int64_t>(i);
    if (identity) return x;
    Attrs attrs;
    attrs.ints = std::move(normalized);
    return unary_structural(Op::permute, x, std::move(attrs));
}

Expr transpose(const Expr& x, std::int64_t axis_a, std::int64_t axis_b) {
    if (x.rank() < 2) {
        throw ShapeError(fmt::format("transpose needs rank 2 or more, got shape {} in '{}'", x.shape(), to_inline_string(x, 200)));
    }
    std::size_t a = 0;
    std::size_t b = 0;
    try {
        a = normalize_axis(axis_a, x.rank());
        b = normalize_axis(axis_b, x.rank());
    } catch (const ShapeError& e) {
        throw ShapeError(fmt::format("transpose: {} (shape {}) in '{}'", e.what(), x.shape(), to_inline_string(x, 200)));
    }
    std::vector<std::int64_t> perm(x.rank());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[a], perm[b]);
    return permute(x, perm);
}

Expr matmul(const Expr& a, const Expr& b) {
    // NumPy's rank-1 rules, expressed with reshapes around the rank-2 primitive.
    if (a.rank() == 0 || b.rank() == 0) {
        throw ShapeError(fmt::format("matmul: operands must have rank 1 or more, got {} and {} in '{} @ {}'", a.shape(),
                                     b.shape(), to_inline_string(a, 100), to_inline_string(b, 100)));
    }
    const bool a_vector = a.rank() == 1;
    const bool b_vector = b.rank() == 1;
    const Expr lhs = a_vector ? reshape(a, {1, a.shape()[0]}) : a;
    const Expr rhs = b_vector ? reshape(b, {b.shape()[0], 1}) : b;
    const Expr in[] = {lhs, rhs};
    Expr product = build(Op::matmul, in, {});
    if (!a_vector && !b_vector) return product;
    auto dims = product.shape().dims();
    if (b_vector) dims.erase(dims.end() - 1);
    if (a_vector) dims.erase(dims.end() - (b_vector ? 1 : 2));
    return reshape(product, dims);
}

Expr operator*(const Cotangent& g, const Expr& e) {
    return g.is_one() ? e : g.expr() * e;
}

Expr operator*(const Expr& e, const Cotangent& g) {
    return g.is_one() ? e : e * g.expr();
}

Expr operator/(const Cotangent& g, const Expr& e) {
    return g.expr() / e;
}

Expr operator-(const Cotangent& g) {
    return -g.expr();
}

Expr Vjp::full_grad() const {
    return broadcast_to(grad.expr(), node.shape());
}

std::vector<Expr> substitute(std::span<const Expr> roots, const std::function<Expr(const Node&)>& replace) {
    const GraphIndex index = index_graph(roots);
    std::vector<Expr> rebuilt(index.size());
    for (std::size_t position = 0; position < index.size(); ++position) {
        const Node* node = index.node(position);
        if (Expr replacement = replace(*node)) {
            rebuilt[position] = std::move(replacement);
            continue;
        }
        std::array<Expr, max_arity> inputs;
        bool changed = false;
        const auto operands = index.operands(position);
        for (std::size_t i = 0; i < operands.size(); ++i) {
            inputs[i] = rebuilt[operands[i]];
            changed = changed || !(inputs[i] == node->input(i));
        }
        rebuilt[position] =
            changed ? build(node->op(), std::span<const Expr>(inputs.data(), operands.size()), node->attrs()) : handle(node);
    }
    std::vector<Expr> result;
    for (const auto& root : roots) result.push_back(rebuilt[index.position(root.get())]);
    return result;
}

std::vector<Expr> with_dtype(std::span<const Expr> roots, DType dtype) {
    return substitute(roots, [dtype](const Node& node) -> Expr {
        if (node.dtype() == dtype) return {};
        if (node.op() == Op::variable) return var(node.attrs().name, node.shape(), dtype);
        if (node.op() == Op::constant) return constant(node.attrs().value.astype(dtype));
        return {};
    });
}

std::vector<Expr> variables(std::span<const Expr> roots) {
    std::vector<Expr> result;
    for (const Node* node : topo_order(roots)) {
        if (node->op() == Op::variable) result.push_back(handle(node));
    }
    return result;
}

}  // namespace symgrad
