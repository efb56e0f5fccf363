#include "symgrad/ops.hpp"

#include <algorithm>
#include <numbers>
#include <numeric>

#include "ops/table.hpp"
#include "symgrad/print.hpp"

namespace symgrad {

namespace {

// ---------------------------------------------------------------------------------------------
// Node creation
// ---------------------------------------------------------------------------------------------

template <class T> T fold_scalar(const OpInfo& info, std::span<const Expr> in) {
    T args[max_arity] = {T(0), T(0), T(0)};
    for (std::size_t i = 0; i < in.size(); ++i) args[i] = static_cast<T>(in[i].node().scalar_value());
    return info.kernel<T>()(args[0], args[1], args[2]);
}

// The likely intent behind a failed broadcast of a variable against a larger operand whose leading dimensions it
// repeats (p1 [32] against x [32, 4]): a parameter shaped like the batch. Said as the learner's question is answered
// (docs/parameter_shapes.md); empty when the shapes do not look like that.
static std::string batch_shaped_parameter_hint(std::span<const Expr> in) {
    for (const Expr& p : in) {
        if (p.op() != Op::variable || p.rank() == 0) continue;
        for (const Expr& x : in) {
            if (x.rank() <= p.rank()) continue;
            try {
                broadcast_shapes(p.shape(), x.shape());
                continue;  // these two broadcast: the failure was another pair's
            } catch (const ShapeError&) {
            }
            bool leading = true;
            for (std::size_t k = 0; k < p.rank(); ++k) leading = leading && p.shape()[k] == x.shape()[k];
            if (!leading) continue;
            const std::string of = x.op() == Op::variable ? fmt::format("{} {}", x.node().attrs().name, x.shape()) : to_string(x.shape());
            return fmt::format(
                ". If {0} is a parameter: one per unit of {1} has shape [{2}] (the last axis), one shared by all has shape [], "
                "and one value per example would tie {0} to the batch size (docs/parameter_shapes.md)",
                p.node().attrs().name, of, x.shape()[x.rank() - 1]);
        }
    }
    return {};
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
            throw DTypeError(fmt::format("{}: operands have different dtypes, {} and {}, in '{}'", info.name, dtype, in[i].dtype(),
                                         describe_call(op, in, attrs)));
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
        const std::string hint = info.kind == OpClass::elementwise ? batch_shaped_parameter_hint(in) : std::string();
        throw ShapeError(fmt::format("{}: {} in '{}'{}", info.name, e.what(), describe_call(op, in, attrs), hint));
    }
    if (info.kind == OpClass::elementwise &&
        std::all_of(in.begin(), in.end(), [](const Expr& e) { return e.node().is_scalar_constant(); })) {
        const double value = dtype == DType::float32 ? static_cast<double>(fold_scalar<float>(info, in)) : fold_scalar<double>(info, in);
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
        throw ShapeError(fmt::format("{}: axes [{}] name an axis twice (operand shape {})", op, fmt::join(axes, ", "), x.shape()));
    }
    return result;
}

}  // namespace

const OpInfo& op_info(Op op) { return primitive_table[static_cast<std::size_t>(op)]; }

std::span<const OpInfo> op_table() { return primitive_table; }

bool is_comparison(Op op) { return op == Op::lt || op == Op::le || op == Op::gt || op == Op::ge || op == Op::eq || op == Op::ne; }

std::optional<Op> op_by_name(std::string_view name) {
    for (const auto& row : primitive_table) {
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

Expr constant(double value, DType dtype) { return constant(Tensor::scalar(value, dtype)); }

Expr constant(Tensor value) {
    Attrs attrs;
    const DType dtype = value.dtype();
    Shape shape = value.shape();
    // The node owns its value: a later write to the caller's tensor must not change the graph.
    attrs.value = value.clone();
    return make_node(Op::constant, dtype, std::move(shape), {}, std::move(attrs));
}

Expr apply_exprs(Op op, std::span<const Expr> operands, Attrs attrs) { return build(op, operands, std::move(attrs)); }

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
Expr round(const Operand& x) { return apply1(Op::round, x); }
Expr floor(const Operand& x) { return apply1(Op::floor, x); }
Expr ceil(const Operand& x) { return apply1(Op::ceil, x); }
Expr heaviside(const Operand& x, const Operand& at_zero) { return apply2(Op::heaviside, x, at_zero); }
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
Expr stop_gradient(const Operand& x) { return apply1(Op::stop_gradient, x); }
Expr custom_grad(const Operand& value, const Operand& surrogate) { return apply2(Op::custom_grad, value, surrogate); }

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

Expr sum(const Expr& x, std::vector<std::int64_t> axes, bool keepdims) { return reduction(Op::sum, x, axes, keepdims); }

Expr mean(const Expr& x, std::vector<std::int64_t> axes, bool keepdims) { return reduction(Op::mean, x, axes, keepdims); }

Expr amax(const Expr& x, std::vector<std::int64_t> axes, bool keepdims) { return reduction(Op::amax, x, axes, keepdims); }

Expr reshape(const Expr& x, std::vector<std::int64_t> shape) {
    // Resolve one -1 from the element count.
    const auto inferred = std::count(shape.begin(), shape.end(), -1);
    if (inferred > 1) {
        throw ShapeError(
            fmt::format("reshape: at most one dimension of [{}] may be -1, in '{}'", fmt::join(shape, ", "), to_inline_string(x, 200)));
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
        throw ShapeError(fmt::format("permute: [{}] is not a permutation of the {} axes of {} in '{}'", fmt::join(permutation, ", "), rank,
                                     x.shape(), to_inline_string(x, 200)));
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
        throw ShapeError(fmt::format("matmul: operands must have rank 1 or more, got {} and {} in '{} @ {}'", a.shape(), b.shape(),
                                     to_inline_string(a, 100), to_inline_string(b, 100)));
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

Expr operator*(const Cotangent& g, const Expr& e) { return g.is_one() ? e : g.expr() * e; }

Expr operator*(const Expr& e, const Cotangent& g) { return g.is_one() ? e : e * g.expr(); }

Expr operator/(const Cotangent& g, const Expr& e) { return g.expr() / e; }

Expr operator-(const Cotangent& g) { return -g.expr(); }

Expr Vjp::full_grad() const { return broadcast_to(grad.expr(), node.shape()); }

Expr Jvp::full_tangent(std::size_t i) const {
    const Expr& t = tangents[i];
    const Shape& shape = node.input(i).shape();
    return !t || t.shape() == shape ? t : broadcast_to(t, shape);
}

Expr jvp_rule(const OpInfo& info, const Jvp& j) {
    if (info.jvp != nullptr) return info.jvp(j);
    if (info.kind != OpClass::elementwise) {
        throw Error(fmt::format("forward mode: the primitive '{}' has no forward rule in the table", info.name));
    }
    if (info.vjp == nullptr) return {};
    Expr total;
    for (std::size_t i = 0; i < j.tangents.size(); ++i) {
        if (!j.tangents[i]) continue;
        const Expr term = info.vjp(Vjp{j.node, j.result, Cotangent(j.tangents[i], false)}, i);
        if (term) total = total ? total + term : term;
    }
    return total;
}

namespace {

// Rebuilds the graph of roots bottom-up: replace(node, its operands as rebuilt) may give the node's new expression;
// otherwise it is built again from those operands (it stays itself where none changed).
std::vector<Expr> rebuild(std::span<const Expr> roots, const std::function<Expr(const Node&, std::span<const Expr>)>& replace) {
    const GraphIndex index = index_graph(roots);
    std::vector<Expr> rebuilt(index.size());
    for (std::size_t position = 0; position < index.size(); ++position) {
        const Node* node = index.node(position);
        std::array<Expr, max_arity> inputs;
        bool changed = false;
        const auto operands = index.operands(position);
        for (std::size_t i = 0; i < operands.size(); ++i) {
            inputs[i] = rebuilt[operands[i]];
            changed = changed || !(inputs[i] == node->input(i));
        }
        const std::span<const Expr> rebuilt_inputs(inputs.data(), operands.size());
        if (Expr replacement = replace(*node, rebuilt_inputs)) {
            rebuilt[position] = std::move(replacement);
            continue;
        }
        rebuilt[position] = changed ? build(node->op(), rebuilt_inputs, node->attrs()) : handle(node);
    }
    std::vector<Expr> result;
    for (const auto& root : roots) result.push_back(rebuilt[index.position(root.get())]);
    return result;
}

}  // namespace

std::vector<Expr> substitute(std::span<const Expr> roots, const std::function<Expr(const Node&)>& replace) {
    return rebuild(roots, [&](const Node& node, std::span<const Expr>) { return replace(node); });
}

std::vector<Expr> with_dtype(std::span<const Expr> roots, DType dtype) {
    return substitute(roots, [dtype](const Node& node) -> Expr {
        if (node.dtype() == dtype) return {};
        if (node.op() == Op::variable) return var(node.attrs().name, node.shape(), dtype);
        if (node.op() == Op::constant) return constant(node.attrs().value.astype(dtype));
        return {};
    });
}

std::vector<Expr> drop_gradient_overrides(std::span<const Expr> roots) {
    const auto nodes = topo_order(roots);
    const bool any = std::any_of(nodes.begin(), nodes.end(), [](const Node* n) { return !op_info(n->op()).gradient_override.empty(); });
    if (!any) return {roots.begin(), roots.end()};
    return rebuild(roots, [](const Node& node, std::span<const Expr> operands) -> Expr {
        if (op_info(node.op()).gradient_override.empty()) return {};
        const Expr& value = operands[0];
        return value.shape() == node.shape() ? value : broadcast_to(value, node.shape());
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
