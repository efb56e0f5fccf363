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
#include <cmath>
#include <numeric>
#include <optional>

#include "symgrad/simplify.hpp"

namespace symgrad {

namespace {

std::optional<double> scalar(const Expr& e) {
    if (e.node().is_scalar_constant()) return e.node().scalar_value();
    return std::nullopt;
}

bool is(const Expr& e, double value) {
    const auto v = scalar(e);
    return v && *v == value;
}

bool is_neg(const Expr& e) {
    return e.op() == Op::neg;
}

Expr arg(const Expr& e) {
    return e.node().input(0);
}

// A power of two whose reciprocal is exact too (so x / c == x * (1 / c) for every x).
bool exact_reciprocal(const Expr& e) {
    const auto v = scalar(e);
    if (!v || *v == 0 || !std::isfinite(*v)) return false;
    int exponent = 0;
    const double mantissa = std::frexp(*v, &exponent);
    return std::fabs(mantissa) == 0.5 && std::isnormal(1.0 / *v);
}

// Canonical operand order for commutative ops: scalar constants first, then other constants, then variables
// by name, then everything else in its original order (a stable order, so no rule undoes another).
int rank(const Expr& e) {
    if (e.node().is_scalar_constant()) return 0;
    if (e.op() == Op::constant) return 1;
    if (e.op() == Op::variable) return 2;
    return 3;
}

bool before(const Expr& a, const Expr& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (rank(a) == 2) return a.node().attrs().name < b.node().attrs().name;
    return false;
}

Expr swapped_if_out_of_order(const Node& n) {
    return before(n.input(1), n.input(0)) ? apply_exprs(n.op(), std::array{n.input(1), n.input(0)}, n.attrs()) : Expr();
}

// sum(broadcast_to(x, S), axes) where x is constant along every summed axis: x, shaped like the result,
// times the number of copies summed.
Expr sum_of_broadcast(const Node& n) {
    const Expr& inner = n.input(0);
    if (inner.op() != Op::broadcast_to) return {};
    const Expr x = arg(inner);
    const Shape& full = inner.shape();
    const std::size_t lead = full.rank() - x.rank();
    double count = 1;
    std::vector<std::int64_t> kept;
    for (std::size_t axis = 0; axis < full.rank(); ++axis) {
        const bool summed = std::find(n.attrs().ints.begin(), n.attrs().ints.end(), static_cast<std::int64_t>(axis)) != n.attrs().ints.end();
        const std::int64_t x_dim = axis < lead ? 1 : x.shape()[axis - lead];
        if (summed && x_dim != 1) return {};
        if (summed) count *= static_cast<double>(full[axis]);
        if (!summed || n.attrs().keepdims) kept.push_back(summed ? 1 : x_dim);
    }
    return broadcast_to(reshape(x, kept), n.shape()) * count;
}

// sum(a) + sum(b) over the same axes of same-shaped operands: one sum.
Expr sum_of_sums(const Node& n) {
    const Expr& a = n.input(0);
    const Expr& b = n.input(1);
    if (a.op() != Op::sum || b.op() != Op::sum || arg(a).shape() != arg(b).shape()) return {};
    if (a.node().attrs().ints != b.node().attrs().ints || a.node().attrs().keepdims != b.node().attrs().keepdims) return {};
    return sum(arg(a) + arg(b), a.node().attrs().ints, a.node().attrs().keepdims);
}

Expr permute_of_permute(const Node& n) {
    const Expr& inner = n.input(0);
    if (inner.op() != Op::permute) return {};
    std::vector<std::int64_t> composed;
    for (auto axis : n.attrs().ints) composed.push_back(inner.node().attrs().ints[static_cast<std::size_t>(axis)]);
    return permute(arg(inner), composed);
}

// broadcast_to(z) as an operand of an elementwise op: the op broadcasts z itself (the driver keeps the
// rewrite only when the node's shape stays the same).
Expr without_operand_broadcast(const Node& n) {
    for (std::size_t i = 0; i < n.arity(); ++i) {
        if (n.input(i).op() != Op::broadcast_to) continue;
        std::array<Expr, max_arity> operands;
        for (std::size_t k = 0; k < n.arity(); ++k) operands[k] = k == i ? arg(n.input(k)) : n.input(k);
        const Shape& z = operands[i].shape();
        bool fits = true;
        for (std::size_t k = 0; k < n.arity(); ++k) fits = fits && broadcastable_to(k == i ? z : n.input(k).shape(), n.shape());
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
    if ((cond.op() == Op::eq || cond.op() == Op::ne) && is(cond.node().input(1), 0)) {
        facts.push_back({cond.node().input(0).get(), cond.op() == Op::eq ? !truth : truth});
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
            if (node.op() == Op::eq && is(node.input(1), 0)) return constant(f.truth ? 0.0 : 1.0, node.dtype());
            if (node.op() == Op::ne && is(node.input(1), 0)) return constant(f.truth ? 1.0 : 0.0, node.dtype());
        }
        return {};
    })[0];
    return rewritten == branch ? Expr() : rewritten;
}

Expr where_knowing_cond(const Node& n, bool in_then_branch) {
    const Expr& branch = n.input(in_then_branch ? 1 : 2);
    const Expr rewritten = assume_in_branch(branch, n.input(0), in_then_branch);
    if (!rewritten) return {};
    return in_then_branch ? where(n.input(0), rewritten, n.input(2)) : where(n.input(0), n.input(1), rewritten);
}

#define RULE(name, op, body) {name, op, [](const Node& n) -> Expr { body }}

const RewriteRule rules[] = {
    RULE("x * 1 -> x", Op::mul, return is(n.input(1), 1) ? n.input(0) : Expr();),
    RULE("1 * x -> x", Op::mul, return is(n.input(0), 1) ? n.input(1) : Expr();),
    RULE("x * -1 -> -x", Op::mul, return is(n.input(1), -1) ? -n.input(0) : Expr();),
    RULE("-1 * x -> -x", Op::mul, return is(n.input(0), -1) ? -n.input(1) : Expr();),
    RULE("x / 1 -> x", Op::div, return is(n.input(1), 1) ? n.input(0) : Expr();),
    RULE("x / c -> x * (1 / c) when 1 / c is exact", Op::div,
         return exact_reciprocal(n.input(1)) ? n.input(0) * (1.0 / *scalar(n.input(1))) : Expr();),
    RULE("x + 0 -> x", Op::add, return is(n.input(1), 0) ? n.input(0) : Expr();),
    RULE("0 + x -> x", Op::add, return is(n.input(0), 0) ? n.input(1) : Expr();),
    RULE("x - 0 -> x", Op::sub, return is(n.input(1), 0) ? n.input(0) : Expr();),
    RULE("0 - x -> -x", Op::sub, return is(n.input(0), 0) ? -n.input(1) : Expr();),
    RULE("--x -> x", Op::neg, return is_neg(n.input(0)) ? arg(n.input(0)) : Expr();),
    RULE("-(a - b) -> b - a", Op::neg, return n.input(0).op() == Op::sub ? n.input(0).node().input(1) - n.input(0).node().input(0) : Expr();),
    RULE("-(c * x) -> (-c) * x", Op::neg, return n.input(0).op() == Op::mul && scalar(n.input(0).node().input(0)) ? (-n.input(0).node().input(0)) * n.input(0).node().input(1) : Expr();),
    RULE("x ^ 1 -> x", Op::pow, return is(n.input(1), 1) ? n.input(0) : Expr();),
    RULE("x ^ 2 -> x * x", Op::pow, return is(n.input(1), 2) ? n.input(0) * n.input(0) : Expr();),
    RULE("x + x -> 2 * x", Op::add, return n.input(0) == n.input(1) ? 2.0 * n.input(0) : Expr();),
    RULE("x + -y -> x - y", Op::add, return is_neg(n.input(1)) ? n.input(0) - arg(n.input(1)) : Expr();),
    RULE("-x + y -> y - x", Op::add, return is_neg(n.input(0)) ? n.input(1) - arg(n.input(0)) : Expr();),
    RULE("x - -y -> x + y", Op::sub, return is_neg(n.input(1)) ? n.input(0) + arg(n.input(1)) : Expr();),
    RULE("-a * -b -> a * b", Op::mul, return is_neg(n.input(0)) && is_neg(n.input(1)) ? arg(n.input(0)) * arg(n.input(1)) : Expr();),
    RULE("c * -x -> (-c) * x", Op::mul, return scalar(n.input(0)) && is_neg(n.input(1)) ? (-n.input(0)) * arg(n.input(1)) : Expr();),
    RULE("c1 * (c2 * x) -> (c1 c2) * x, when c1 c2 is a normal number", Op::mul,
         const auto c1 = scalar(n.input(0)); const Expr& m = n.input(1);
         if (!c1 || m.op() != Op::mul || !scalar(m.node().input(0))) return {};
         return std::isnormal(*c1 * *scalar(m.node().input(0))) ? (n.input(0) * m.node().input(0)) * m.node().input(1) : Expr();),
    RULE("(c * a) * b -> c * (a * b)", Op::mul,
         const Expr& l = n.input(0); return l.op() == Op::mul && scalar(l.node().input(0)) && !scalar(n.input(1)) ? l.node().input(0) * (l.node().input(1) * n.input(1)) : Expr();),
    RULE("a * (c * b) -> c * (a * b)", Op::mul,
         const Expr& r = n.input(1); return r.op() == Op::mul && scalar(r.node().input(0)) && !scalar(n.input(0)) ? r.node().input(0) * (n.input(0) * r.node().input(1)) : Expr();),
    RULE("a + b -> b + a when b comes first", Op::add, return swapped_if_out_of_order(n);),
    RULE("a * b -> b * a when b comes first", Op::mul, return swapped_if_out_of_order(n);),
    RULE("max(a, b) -> max(b, a) when b comes first", Op::maximum, return swapped_if_out_of_order(n);),
    RULE("min(a, b) -> min(b, a) when b comes first", Op::minimum, return swapped_if_out_of_order(n);),
    RULE("where(c, x, x) -> x", Op::where, return n.input(1) == n.input(2) ? n.input(1) : Expr();),
    RULE("where(c, where(c, a, b), d) -> where(c, a, d)", Op::where,
         const Expr& t = n.input(1); return t.op() == Op::where && t.node().input(0) == n.input(0) ? where(n.input(0), t.node().input(1), n.input(2)) : Expr();),
    RULE("where(c, a, where(c, b, d)) -> where(c, a, d)", Op::where,
         const Expr& f = n.input(2); return f.op() == Op::where && f.node().input(0) == n.input(0) ? where(n.input(0), n.input(1), f.node().input(2)) : Expr();),
    RULE("where(c, a[c], b) -> where(c, a[c true], b)", Op::where, return where_knowing_cond(n, true);),
    RULE("where(c, a, b[c]) -> where(c, a, b[c false])", Op::where, return where_knowing_cond(n, false);),
    RULE("where(c, 1, 0) -> c for a comparison c", Op::where,
         return is_comparison(n.input(0).op()) && is(n.input(1), 1) && is(n.input(2), 0) ? n.input(0) : Expr();),
    RULE("where(c, 0, 1) -> c == 0 for a comparison c", Op::where,
         return is_comparison(n.input(0).op()) && is(n.input(1), 0) && is(n.input(2), 1) ? eq(n.input(0), 0) : Expr();),
    RULE("sum(a) + sum(b) -> sum(a + b) over the same axes", Op::add, return sum_of_sums(n);),
    RULE("(1 / a) * b -> b / a", Op::mul,
         const Expr& l = n.input(0); return l.op() == Op::div && is(l.node().input(0), 1) ? n.input(1) / l.node().input(1) : Expr();),
    RULE("b * (1 / a) -> b / a", Op::mul,
         const Expr& r = n.input(1); return r.op() == Op::div && is(r.node().input(0), 1) ? n.input(0) / r.node().input(1) : Expr();),
    RULE("sum(broadcast_to(x)) -> x * count, summed where x is constant", Op::sum, return sum_of_broadcast(n);),
    RULE("broadcast_to(broadcast_to(x)) -> broadcast_to(x)", Op::broadcast_to, return n.input(0).op() == Op::broadcast_to ? broadcast_to(arg(n.input(0)), n.shape()) : Expr();),
    RULE("reshape(reshape(x)) -> reshape(x)", Op::reshape, return n.input(0).op() == Op::reshape ? reshape(arg(n.input(0)), n.shape().dims()) : Expr();),
    RULE("permute(permute(x)) -> permute(x)", Op::permute, return permute_of_permute(n);),
    RULE("f(broadcast_to(z), y) -> f(z, y) for elementwise f", Op::add, return without_operand_broadcast(n);),
    RULE("broadcast operand of *", Op::mul, return without_operand_broadcast(n);),
    RULE("broadcast operand of -", Op::sub, return without_operand_broadcast(n);),
    RULE("broadcast operand of /", Op::div, return without_operand_broadcast(n);),
    RULE("broadcast operand of where", Op::where, return without_operand_broadcast(n);),
};

#undef RULE

}  // namespace

std::span<const RewriteRule> default_rules() {
    return rules;
}

}  // namespace symgrad
