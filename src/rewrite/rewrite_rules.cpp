// The rewrite rules: one named line each. The driver (simplify.cpp) tries them bottom-up until none applies,
// and never makes a rewrite that would change a node's shape or dtype, so the rules need not check shapes.
//
// Each rule is exact in IEEE arithmetic, or changes only rounding (collecting constant factors, which also
// moves where a product of huge values overflows) or only the sign of a zero result (x + 0 -> x turns
// -0 + 0 = +0 into -0; they compare equal). None changes what inf or NaN do: x - x -> 0 and x * 0 -> 0 are
// not rules, since inf - inf and inf * 0 are NaN.
//
// Rules see one node, not how often it is used: a rule that moves work out of a node (pulling a negation out
// of a product, say) would copy that work into each user of a shared node. Such rules are left out; the
// negation rules here only cancel negations or fold them into constants.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <optional>

#include "symgrad/simplify.hpp"

namespace symgrad {

namespace {

// ---------------------------------------------------------------------------------------------
// Reading a node: its operands and what they are
// ---------------------------------------------------------------------------------------------

// Operand i of a node, or of an expression's node.
const Expr& operand(const Node& n, std::size_t i) { return n.input(i); }
const Expr& operand(const Expr& e, std::size_t i) { return e.node().input(i); }

// The operands of a binary node (a + b, a * b, max(a, b), ...), or of an expression's node.
const Expr& lhs(const Node& n) { return n.input(0); }
const Expr& rhs(const Node& n) { return n.input(1); }
const Expr& lhs(const Expr& e) { return e.node().input(0); }
const Expr& rhs(const Expr& e) { return e.node().input(1); }

bool is_op(const Expr& e, Op op) { return e.op() == op; }

// The value of a scalar constant; nothing for any other expression.
std::optional<double> scalar_constant(const Expr& e) {
    if (e.node().is_scalar_constant()) return e.node().scalar_value();
    return std::nullopt;
}

bool is_scalar_constant(const Expr& e) { return e.node().is_scalar_constant(); }

// A scalar constant equal to value.
bool is_constant(const Expr& e, double value) {
    const auto v = scalar_constant(e);
    return v && *v == value;
}

// A power of two whose reciprocal is exact too (so x / c == x * (1 / c) for every x).
bool exact_reciprocal(const Expr& e) {
    const auto v = scalar_constant(e);
    if (!v || *v == 0 || !std::isfinite(*v)) return false;
    int exponent = 0;
    const double mantissa = std::frexp(*v, &exponent);
    return std::fabs(mantissa) == 0.5 && std::isnormal(1.0 / *v);
}

// ---------------------------------------------------------------------------------------------
// The rules that take more than one line
// ---------------------------------------------------------------------------------------------

// -(a - b) -> b - a
Expr negated_difference(const Node& n) {
    const Expr& difference = operand(n, 0);
    if (!is_op(difference, Op::sub)) return {};
    return rhs(difference) - lhs(difference);
}

// -(c * x) -> (-c) * x
Expr negation_into_constant_factor(const Node& n) {
    const Expr& product = operand(n, 0);
    if (!is_op(product, Op::mul) || !is_scalar_constant(lhs(product))) return {};
    return (-lhs(product)) * rhs(product);
}

// c1 * (c2 * x) -> (c1 c2) * x, when c1 c2 is a normal number (not where the product overflows or underflows)
Expr constant_factors_collected(const Node& n) {
    const auto c1 = scalar_constant(lhs(n));
    const Expr& product = rhs(n);
    if (!c1 || !is_op(product, Op::mul) || !is_scalar_constant(lhs(product))) return {};
    if (!std::isnormal(*c1 * *scalar_constant(lhs(product)))) return {};
    return (lhs(n) * lhs(product)) * rhs(product);
}

// (c * a) * b -> c * (a * b)
Expr constant_factor_out_of_lhs(const Node& n) {
    const Expr& product = lhs(n);
    if (!is_op(product, Op::mul) || !is_scalar_constant(lhs(product)) || is_scalar_constant(rhs(n))) return {};
    return lhs(product) * (rhs(product) * rhs(n));
}

// a * (c * b) -> c * (a * b)
Expr constant_factor_out_of_rhs(const Node& n) {
    const Expr& product = rhs(n);
    if (!is_op(product, Op::mul) || !is_scalar_constant(lhs(product)) || is_scalar_constant(lhs(n))) return {};
    return lhs(product) * (lhs(n) * rhs(product));
}

// (1 / a) * b -> b / a
Expr reciprocal_lhs_as_division(const Node& n) {
    const Expr& reciprocal = lhs(n);
    if (!is_op(reciprocal, Op::div) || !is_constant(lhs(reciprocal), 1)) return {};
    return rhs(n) / rhs(reciprocal);
}

// b * (1 / a) -> b / a
Expr reciprocal_rhs_as_division(const Node& n) {
    const Expr& reciprocal = rhs(n);
    if (!is_op(reciprocal, Op::div) || !is_constant(lhs(reciprocal), 1)) return {};
    return lhs(n) / rhs(reciprocal);
}

// where(c, where(c, a, b), d) -> where(c, a, d)
Expr where_in_true_branch_on_same_cond(const Node& n) {
    const Expr& cond = operand(n, 0);
    const Expr& inner = operand(n, 1);
    if (!is_op(inner, Op::where) || !(operand(inner, 0) == cond)) return {};
    return where(cond, operand(inner, 1), operand(n, 2));
}

// where(c, a, where(c, b, d)) -> where(c, a, d)
Expr where_in_false_branch_on_same_cond(const Node& n) {
    const Expr& cond = operand(n, 0);
    const Expr& inner = operand(n, 2);
    if (!is_op(inner, Op::where) || !(operand(inner, 0) == cond)) return {};
    return where(cond, operand(n, 1), operand(inner, 2));
}

// where(c, 1, 0) -> c for a comparison c (exactly 0 or 1)
Expr where_as_its_comparison(const Node& n) {
    const Expr& cond = operand(n, 0);
    if (!is_comparison(cond.op()) || !is_constant(operand(n, 1), 1) || !is_constant(operand(n, 2), 0)) return {};
    return cond;
}

// where(c, 0, 1) -> c == 0 for a comparison c
Expr where_as_its_negated_comparison(const Node& n) {
    const Expr& cond = operand(n, 0);
    if (!is_comparison(cond.op()) || !is_constant(operand(n, 1), 0) || !is_constant(operand(n, 2), 1)) return {};
    return eq(cond, 0);
}

// Canonical operand order for commutative ops: scalar constants first, then other constants, then variables
// by name, then everything else in its original order (a stable order, so no rule undoes another).
int rank(const Expr& e) {
    if (is_scalar_constant(e)) return 0;
    if (is_op(e, Op::constant)) return 1;
    if (is_op(e, Op::variable)) return 2;
    return 3;
}

bool before(const Expr& a, const Expr& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (rank(a) == 2) return a.node().attrs().name < b.node().attrs().name;
    return false;
}

// f(a, b) -> f(b, a) for a commutative f when b comes first
Expr swapped_if_out_of_order(const Node& n) {
    if (!before(rhs(n), lhs(n))) return {};
    return apply_exprs(n.op(), std::array{rhs(n), lhs(n)}, n.attrs());
}

// sum(broadcast_to(x, S), axes) where x is constant along every summed axis: x, shaped like the result,
// times the number of copies summed.
Expr sum_of_broadcast(const Node& n) {
    const Expr& inner = operand(n, 0);
    if (!is_op(inner, Op::broadcast_to)) return {};
    const Expr& x = operand(inner, 0);
    const Shape& full = inner.shape();
    const std::size_t lead = full.rank() - x.rank();
    const auto& summed_axes = n.attrs().ints;
    double count = 1;
    std::vector<std::int64_t> kept;
    for (std::size_t axis = 0; axis < full.rank(); ++axis) {
        const bool summed = std::find(summed_axes.begin(), summed_axes.end(), static_cast<std::int64_t>(axis)) != summed_axes.end();
        const std::int64_t x_dim = axis < lead ? 1 : x.shape()[axis - lead];
        if (summed && x_dim != 1) return {};
        if (summed) count *= static_cast<double>(full[axis]);
        if (!summed || n.attrs().keepdims) kept.push_back(summed ? 1 : x_dim);
    }
    return broadcast_to(reshape(x, kept), n.shape()) * count;
}

// sum(a) + sum(b) over the same axes of same-shaped operands: one sum.
Expr sum_of_sums(const Node& n) {
    const Expr& a = lhs(n);
    const Expr& b = rhs(n);
    if (!is_op(a, Op::sum) || !is_op(b, Op::sum) || operand(a, 0).shape() != operand(b, 0).shape()) return {};
    const Attrs& reduction = a.node().attrs();
    if (reduction.ints != b.node().attrs().ints || reduction.keepdims != b.node().attrs().keepdims) return {};
    return sum(operand(a, 0) + operand(b, 0), reduction.ints, reduction.keepdims);
}

// broadcast_to(broadcast_to(x)) -> broadcast_to(x)
Expr broadcast_of_broadcast(const Node& n) {
    const Expr& inner = operand(n, 0);
    if (!is_op(inner, Op::broadcast_to)) return {};
    return broadcast_to(operand(inner, 0), n.shape());
}

// reshape(reshape(x)) -> reshape(x)
Expr reshape_of_reshape(const Node& n) {
    const Expr& inner = operand(n, 0);
    if (!is_op(inner, Op::reshape)) return {};
    return reshape(operand(inner, 0), n.shape().dims());
}

// permute(permute(x)) -> one permute
Expr permute_of_permute(const Node& n) {
    const Expr& inner = operand(n, 0);
    if (!is_op(inner, Op::permute)) return {};
    std::vector<std::int64_t> composed;
    for (auto axis : n.attrs().ints) composed.push_back(inner.node().attrs().ints[static_cast<std::size_t>(axis)]);
    return permute(operand(inner, 0), composed);
}

// broadcast_to(z) as an operand of an elementwise op: the op broadcasts z itself (the driver keeps the
// rewrite only when the node's shape stays the same).
Expr without_operand_broadcast(const Node& n) {
    for (std::size_t i = 0; i < n.arity(); ++i) {
        if (!is_op(operand(n, i), Op::broadcast_to)) continue;
        std::array<Expr, max_arity> operands;
        for (std::size_t k = 0; k < n.arity(); ++k) operands[k] = k == i ? operand(operand(n, k), 0) : operand(n, k);
        const Shape& z = operands[i].shape();
        bool fits = true;
        for (std::size_t k = 0; k < n.arity(); ++k) fits = fits && broadcastable_to(k == i ? z : operand(n, k).shape(), n.shape());
        Shape result = operands[0].shape();
        for (std::size_t k = 1; k < n.arity(); ++k) result = fits ? broadcast_shapes(result, operands[k].shape()) : result;
        if (fits && result == n.shape()) return apply_exprs(n.op(), std::span<const Expr>(operands.data(), n.arity()));
    }
    return {};
}
// Inside a branch of where(c, a, b), c's truth is known: true in a, false (exactly zero) in b. The branch is
// rewritten with it, through elementwise nodes only (their elements line up with the where's): where(c, p, q)
// becomes p or q, c == 0 and c != 0 become 0 or 1, and c itself, when it is a comparison (exactly 0 or 1), becomes
// that number. c == 0 and c != 0 as the condition carry the same knowledge about c. This is what removes the
// nested masks of a gradient through where (prelu's d/dx: where(x > 0, g, 0) + where(x <= 0, a g, 0) instead of
// masks within masks). Branches with a structural node, or of more than 64 nodes, are left as they are, so the
// rule costs little per where on large graphs.
Expr assume_in_branch(const Expr& branch, const Expr& cond, bool truth) {
    struct Fact {
        const Node* node;
        bool truth;
    };
    std::vector<Fact> facts{{cond.get(), truth}};
    if ((cond.op() == Op::eq || cond.op() == Op::ne) && is_constant(operand(cond, 1), 0)) {
        facts.push_back({operand(cond, 0).get(), cond.op() == Op::eq ? !truth : truth});
    }
    constexpr std::size_t limit = 64;
    std::vector<const Node*> stack{branch.get()};
    std::vector<const Node*> seen;
    bool mentions = false;
    while (!stack.empty()) {
        const Node* node = stack.back();
        stack.pop_back();
        if (std::find(seen.begin(), seen.end(), node) != seen.end()) continue;
        seen.push_back(node);
        if (seen.size() > limit || op_info(node->op()).kind == OpClass::structural) return {};
        for (const Fact& f : facts) mentions = mentions || node == f.node;
        for (std::size_t i = 0; i < node->arity(); ++i) stack.push_back(node->input(i).get());
    }
    if (!mentions) return {};
    const Expr roots[] = {branch};
    const Expr rewritten = substitute(roots, [&](const Node& node) -> Expr {
        for (const Fact& f : facts) {
            if (&node == f.node && is_comparison(node.op())) return constant(f.truth ? 1.0 : 0.0, node.dtype());
            if (node.arity() == 0 || node.input(0).get() != f.node) continue;
            if (node.op() == Op::where) return f.truth ? node.input(1) : node.input(2);
            if (node.op() == Op::eq && is_constant(node.input(1), 0)) return constant(f.truth ? 0.0 : 1.0, node.dtype());
            if (node.op() == Op::ne && is_constant(node.input(1), 0)) return constant(f.truth ? 1.0 : 0.0, node.dtype());
        }
        return {};
    })[0];
    return rewritten == branch ? Expr() : rewritten;
}

// where(c, a, b) with c's truth assumed inside one branch (above).
Expr where_knowing_cond(const Node& n, bool in_then_branch) {
    const Expr& cond = operand(n, 0);
    const Expr& branch = operand(n, in_then_branch ? 1 : 2);
    const Expr rewritten = assume_in_branch(branch, cond, in_then_branch);
    if (!rewritten) return {};
    return in_then_branch ? where(cond, rewritten, operand(n, 2)) : where(cond, operand(n, 1), rewritten);
}

// ---------------------------------------------------------------------------------------------
// The rules, in the order the driver tries them on a node
// ---------------------------------------------------------------------------------------------

const RewriteRule rules[] = {
    {"x * 1 -> x", Op::mul, [](const Node& n) { return is_constant(rhs(n), 1) ? lhs(n) : Expr(); }},
    {"1 * x -> x", Op::mul, [](const Node& n) { return is_constant(lhs(n), 1) ? rhs(n) : Expr(); }},
    {"x * -1 -> -x", Op::mul, [](const Node& n) { return is_constant(rhs(n), -1) ? -lhs(n) : Expr(); }},
    {"-1 * x -> -x", Op::mul, [](const Node& n) { return is_constant(lhs(n), -1) ? -rhs(n) : Expr(); }},
    {"x / 1 -> x", Op::div, [](const Node& n) { return is_constant(rhs(n), 1) ? lhs(n) : Expr(); }},
    {"x / c -> x * (1 / c) when 1 / c is exact", Op::div,
     [](const Node& n) { return exact_reciprocal(rhs(n)) ? lhs(n) * (1.0 / *scalar_constant(rhs(n))) : Expr(); }},
    {"x + 0 -> x", Op::add, [](const Node& n) { return is_constant(rhs(n), 0) ? lhs(n) : Expr(); }},
    {"0 + x -> x", Op::add, [](const Node& n) { return is_constant(lhs(n), 0) ? rhs(n) : Expr(); }},
    {"x - 0 -> x", Op::sub, [](const Node& n) { return is_constant(rhs(n), 0) ? lhs(n) : Expr(); }},
    {"0 - x -> -x", Op::sub, [](const Node& n) { return is_constant(lhs(n), 0) ? -rhs(n) : Expr(); }},
    {"--x -> x", Op::neg, [](const Node& n) { return is_op(operand(n, 0), Op::neg) ? operand(operand(n, 0), 0) : Expr(); }},
    {"-(a - b) -> b - a", Op::neg, negated_difference},
    {"-(c * x) -> (-c) * x", Op::neg, negation_into_constant_factor},
    {"x ^ 1 -> x", Op::pow, [](const Node& n) { return is_constant(rhs(n), 1) ? lhs(n) : Expr(); }},
    {"x ^ 2 -> x * x", Op::pow, [](const Node& n) { return is_constant(rhs(n), 2) ? lhs(n) * lhs(n) : Expr(); }},
    {"x + x -> 2 * x", Op::add, [](const Node& n) { return lhs(n) == rhs(n) ? 2.0 * lhs(n) : Expr(); }},
    {"x + -y -> x - y", Op::add, [](const Node& n) { return is_op(rhs(n), Op::neg) ? lhs(n) - operand(rhs(n), 0) : Expr(); }},
    {"-x + y -> y - x", Op::add, [](const Node& n) { return is_op(lhs(n), Op::neg) ? rhs(n) - operand(lhs(n), 0) : Expr(); }},
    {"x - -y -> x + y", Op::sub, [](const Node& n) { return is_op(rhs(n), Op::neg) ? lhs(n) + operand(rhs(n), 0) : Expr(); }},
    {"-a * -b -> a * b", Op::mul,
     [](const Node& n) { return is_op(lhs(n), Op::neg) && is_op(rhs(n), Op::neg) ? operand(lhs(n), 0) * operand(rhs(n), 0) : Expr(); }},
    {"c * -x -> (-c) * x", Op::mul,
     [](const Node& n) { return is_scalar_constant(lhs(n)) && is_op(rhs(n), Op::neg) ? (-lhs(n)) * operand(rhs(n), 0) : Expr(); }},
    {"c1 * (c2 * x) -> (c1 c2) * x, when c1 c2 is a normal number", Op::mul, constant_factors_collected},
    {"(c * a) * b -> c * (a * b)", Op::mul, constant_factor_out_of_lhs},
    {"a * (c * b) -> c * (a * b)", Op::mul, constant_factor_out_of_rhs},
    {"a + b -> b + a when b comes first", Op::add, swapped_if_out_of_order},
    {"a * b -> b * a when b comes first", Op::mul, swapped_if_out_of_order},
    {"max(a, b) -> max(b, a) when b comes first", Op::maximum, swapped_if_out_of_order},
    {"min(a, b) -> min(b, a) when b comes first", Op::minimum, swapped_if_out_of_order},
    {"where(c, x, x) -> x", Op::where, [](const Node& n) { return operand(n, 1) == operand(n, 2) ? operand(n, 1) : Expr(); }},
    {"where(c, where(c, a, b), d) -> where(c, a, d)", Op::where, where_in_true_branch_on_same_cond},
    {"where(c, a, where(c, b, d)) -> where(c, a, d)", Op::where, where_in_false_branch_on_same_cond},
    {"where(c, a[c], b) -> where(c, a[c true], b)", Op::where, [](const Node& n) { return where_knowing_cond(n, true); }},
    {"where(c, a, b[c]) -> where(c, a, b[c false])", Op::where, [](const Node& n) { return where_knowing_cond(n, false); }},
    {"where(c, 1, 0) -> c for a comparison c", Op::where, where_as_its_comparison},
    {"where(c, 0, 1) -> c == 0 for a comparison c", Op::where, where_as_its_negated_comparison},
    {"sum(a) + sum(b) -> sum(a + b) over the same axes", Op::add, sum_of_sums},
    {"(1 / a) * b -> b / a", Op::mul, reciprocal_lhs_as_division},
    {"b * (1 / a) -> b / a", Op::mul, reciprocal_rhs_as_division},
    {"sum(broadcast_to(x)) -> x * count, summed where x is constant", Op::sum, sum_of_broadcast},
    {"broadcast_to(broadcast_to(x)) -> broadcast_to(x)", Op::broadcast_to, broadcast_of_broadcast},
    {"reshape(reshape(x)) -> reshape(x)", Op::reshape, reshape_of_reshape},
    {"permute(permute(x)) -> permute(x)", Op::permute, permute_of_permute},
    {"broadcast_to(z) + y -> z + y, either operand, when the shape stays", Op::add, without_operand_broadcast},
    {"broadcast_to(z) * y -> z * y, either operand, when the shape stays", Op::mul, without_operand_broadcast},
    {"broadcast_to(z) - y -> z - y, either operand, when the shape stays", Op::sub, without_operand_broadcast},
    {"broadcast_to(z) / y -> z / y, either operand, when the shape stays", Op::div, without_operand_broadcast},
    {"where(.., broadcast_to(z), ..) -> where(.., z, ..), any operand, when the shape stays", Op::where, without_operand_broadcast},
};

}  // namespace

std::span<const RewriteRule> default_rules() { return rules; }

}  // namespace symgrad
