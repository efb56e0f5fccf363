#include "symgrad/autodiff.hpp"

#include <unordered_set>

#include "symgrad/print.hpp"

namespace symgrad {

namespace {

// The adjoint gathered so far for one node.
//
// mask: where(c, a, b) must give the unselected branch exactly zero gradient, even where that branch's
// own derivative is inf or NaN (0 * inf would be NaN). So the sweep remembers, for each node whose
// adjoint comes only through where branches, a 0/1 mask of the elements where that adjoint can be
// nonzero, and wraps the node's contributions to its operands in where(mask, contribution, 0). A null
// mask means "anywhere". Masks pass only between operands and results of the same shape (elementwise
// correspondence); a reduction or broadcast ends them.
//
// sum: an expression whose shape broadcasts to the node's shape; the adjoint is its broadcast. Keeping
// it small (a per-unit vector, or the scalar one) keeps gradients small and readable.
struct Adjoint {
    Expr sum;
    bool is_one = false;
    Expr mask;
};

void accumulate(Adjoint& adjoint, Expr contribution, bool is_one, Expr mask) {
    if (!adjoint.sum) {
        adjoint.sum = std::move(contribution);
        adjoint.is_one = is_one;
        adjoint.mask = std::move(mask);
        return;
    }
    adjoint.sum = adjoint.sum + contribution;
    adjoint.is_one = false;
    adjoint.mask = adjoint.mask && mask ? maximum(adjoint.mask, mask) : Expr();
}

// A structural node (matmul, sum, reshape, ...) mixes elements, so its contributions have other shapes than the
// mask: the mask is applied to the adjoint itself, and ends there.
void apply_mask_before_structural(Adjoint& adjoint) {
    adjoint.sum = where(adjoint.mask, adjoint.sum, 0);
    adjoint.is_one = false;
    adjoint.mask = Expr();
}

// Whether the contribution is the symbolic one handed on: a rule that passes the adjoint on unchanged (add, sum,
// reshape, ...) passes a symbolic one on too, unless the operand was broadcast (then its adjoint is a count).
bool passes_symbolic_one(const Adjoint& adjoint, const Expr& contribution, const Shape& logical, const Expr& operand) {
    return adjoint.is_one && !adjoint.mask && contribution == adjoint.sum && logical == operand.shape();
}

// The mask the operand's adjoint inherits from this node: the node's own mask, narrowed by a selecting op (where)
// to the elements where it selected this operand. Masks pass only between values of the same shape.
Expr operand_mask(const OpInfo& info, const Node& node, std::size_t operand, const Expr& mask) {
    if (node.input(operand).shape() != node.shape()) return {};
    if (!info.selects) return mask;
    const Expr selected = info.selects(node, operand);
    return mask ? mask * selected : selected;
}

}  // namespace

Shape contribution_shape(const Node& node, const Expr& operand, const Expr& contribution) {
    if (op_info(node.op()).kind == OpClass::elementwise || node.op() == Op::broadcast_to) return node.shape();
    return broadcast_shapes(contribution.shape(), operand.shape());
}

Expr reduce_to_shape(const Expr& e, const Shape& target, const Shape& logical) {
    const Shape& shape = e.shape();
    if (logical == target) return e;
    const std::size_t rank = logical.rank();
    const std::size_t lead = rank - target.rank();  // logical axes that target lacks
    const std::size_t e_offset = rank - shape.rank();
    // e's axes to sum away (leading) or down to 1 (kept); where e is itself broadcast along an axis
    // that must be summed, the sum is the logical length times e, so that length joins a factor.
    std::vector<std::int64_t> leading;
    std::vector<std::int64_t> kept;
    double factor = 1.0;
    for (std::size_t axis = 0; axis < rank; ++axis) {
        const bool is_leading = axis < lead;
        const bool reduce = is_leading || (target[axis - lead] == 1 && logical[axis] != 1);
        const bool e_has_axis = axis >= e_offset;
        const std::int64_t e_dim = e_has_axis ? shape[axis - e_offset] : 1;
        if (reduce && e_dim == 1) factor *= static_cast<double>(logical[axis]);
        if (!e_has_axis) continue;
        const auto e_axis = static_cast<std::int64_t>(axis - e_offset);
        if (is_leading) {
            leading.push_back(e_axis);  // summed even when of length 1, which just drops it
        } else if (reduce && e_dim != 1) {
            kept.push_back(e_axis);
        }
    }
    Expr result = e;
    if (kept.empty() && !leading.empty()) {
        result = sum(result, leading, false);
    } else if (!kept.empty()) {
        std::vector<std::int64_t> axes = leading;
        axes.insert(axes.end(), kept.begin(), kept.end());
        result = sum(result, axes, true);
        if (!leading.empty()) {
            const auto dropped = static_cast<std::ptrdiff_t>(leading.size());
            result = reshape(result, std::vector<std::int64_t>(result.shape().begin() + dropped, result.shape().end()));
        }
    }
    if (factor != 1.0) result = result * factor;
    return result;
}

Expr unbroadcast(const Expr& e, const Shape& target, const Shape& logical) {
    Expr result = reduce_to_shape(e, target, logical);
    return result.shape() == target ? result : broadcast_to(result, target);
}

std::vector<Expr> grad(const Expr& y, std::span<const Expr> wrt, const Expr& seed) { return grad(y, wrt, seed, SweepObserver()); }

std::vector<Expr> grad(const Expr& y, std::span<const Expr> wrt, const Expr& seed, const SweepObserver& observe) {
    if (!y) throw Error("grad: the output is an empty Expr");
    for (const auto& w : wrt) {
        if (!w) throw Error("grad: a 'wrt' entry is an empty Expr");
    }
    if (seed) {
        if (seed.dtype() != y.dtype()) {
            throw DTypeError(
                fmt::format("grad: the seed is {} but the output '{}' is {}", seed.dtype(), to_inline_string(y, 80), y.dtype()));
        }
        if (!broadcastable_to(seed.shape(), y.shape())) {
            throw ShapeError(fmt::format("grad: the seed has shape {}, which does not broadcast to the output's shape {} ('{}')",
                                         seed.shape(), y.shape(), to_inline_string(y, 80)));
        }
    }
    const Expr roots[] = {y};
    const GraphIndex index = index_graph(roots);

    // Only nodes on a path from some wrt to y need adjoints: everything else is a symbolic zero.
    std::vector<char> needs(index.size(), 0);
    std::vector<char> is_wrt(index.size(), 0);
    for (const auto& w : wrt) {
        if (const auto position = index.position(w.get()); position != GraphIndex::npos) {
            needs[position] = 1;
            is_wrt[position] = 1;
        }
    }
    for (std::size_t i = 0; i < index.size(); ++i) {
        for (auto operand : index.operands(i)) needs[i] = needs[i] || needs[operand];
    }

    std::vector<Adjoint> adjoints(index.size());
    adjoints.back() = seed ? Adjoint{seed, false, {}} : Adjoint{constant(1.0, y.dtype()), true, {}};

    for (std::size_t position = index.size(); position-- > 0;) {
        const Node* node = index.node(position);
        if (node->is_leaf() || !needs[position] || !adjoints[position].sum) continue;
        // Moved out, since nothing reads a node's adjoint after its own rule has run, unless it is an answer.
        Adjoint adjoint = is_wrt[position] ? adjoints[position] : std::move(adjoints[position]);
        const OpInfo& info = op_info(node->op());
        if (info.vjp == nullptr) {
            if (observe) observe(SweepStep{node, SweepStep::node_step, adjoint.sum, false, {}, {}, {}});
            continue;
        }
        if (adjoint.mask && info.kind != OpClass::elementwise) apply_mask_before_structural(adjoint);
        if (observe) observe(SweepStep{node, SweepStep::node_step, adjoint.sum, true, {}, {}, {}});
        const Vjp v{*node, handle(node), Cotangent(adjoint.sum, adjoint.is_one)};
        const auto operand_positions = index.operands(position);
        for (std::size_t i = 0; i < node->arity(); ++i) {
            const Expr& operand = node->input(i);
            if (!needs[operand_positions[i]]) continue;
            Expr contribution = info.vjp(v, i);
            if (!contribution) {
                if (observe) observe(SweepStep{node, i, adjoint.sum, true, {}, {}, operand.shape()});
                continue;
            }
            const Shape logical = contribution_shape(*node, operand, contribution);
            const bool is_one = passes_symbolic_one(adjoint, contribution, logical, operand);
            // A selecting op's own rule already zeroes the unselected side exactly; every other op gets the mask.
            const Expr applied_mask = info.selects ? Expr() : adjoint.mask;
            if (applied_mask) contribution = where(applied_mask, contribution, 0);
            contribution = reduce_to_shape(contribution, operand.shape(), logical);
            if (observe) observe(SweepStep{node, i, adjoint.sum, true, contribution, applied_mask, logical});
            accumulate(adjoints[operand_positions[i]], std::move(contribution), is_one, operand_mask(info, *node, i, adjoint.mask));
        }
    }

    std::vector<Expr> result;
    result.reserve(wrt.size());
    for (const auto& w : wrt) {
        const auto position = index.position(w.get());
        // Adjoints of wrt nodes were kept (copied, not moved, above).
        const Expr adjoint = position == GraphIndex::npos ? Expr() : adjoints[position].sum;
        if (!adjoint) {
            result.push_back(broadcast_to(constant(0.0, w.dtype()), w.shape()));
        } else {
            result.push_back(adjoint.shape() == w.shape() ? adjoint : broadcast_to(adjoint, w.shape()));
        }
    }
    return result;
}

std::vector<Expr> jvp(std::span<const Expr> outputs, std::span<const std::pair<Expr, Expr>> tangents) {
    for (const auto& out : outputs) {
        if (!out) throw Error("jvp: an output is an empty Expr");
    }
    for (const auto& [wrt, tangent] : tangents) {
        if (!wrt || !tangent) throw Error("jvp: a tangent's variable or value is an empty Expr");
        if (tangent.dtype() != wrt.dtype()) {
            throw DTypeError(fmt::format("jvp: the tangent of '{}' is {} but '{}' is {}", to_inline_string(wrt, 80), tangent.dtype(),
                                         to_inline_string(wrt, 80), wrt.dtype()));
        }
        if (!broadcastable_to(tangent.shape(), wrt.shape())) {
            throw ShapeError(fmt::format("jvp: the tangent of '{}' has shape {}, which does not broadcast to its shape {}",
                                         to_inline_string(wrt, 80), tangent.shape(), wrt.shape()));
        }
    }
    const GraphIndex index = index_graph(outputs);
    std::vector<Expr> tangent_of(index.size());
    for (const auto& [wrt, tangent] : tangents) {
        if (const auto position = index.position(wrt.get()); position != GraphIndex::npos) {
            Expr& t = tangent_of[position];
            t = t ? t + tangent : tangent;
        }
    }
    std::array<Expr, max_arity> operand_tangents;
    for (std::size_t position = 0; position < index.size(); ++position) {
        const Node* node = index.node(position);
        if (node->is_leaf() || tangent_of[position]) continue;  // a wrt keeps its own tangent
        const auto operands = index.operands(position);
        bool moves = false;
        for (std::size_t i = 0; i < operands.size(); ++i) {
            operand_tangents[i] = tangent_of[operands[i]];
            moves = moves || operand_tangents[i];
        }
        if (!moves) continue;
        const Jvp j{*node, handle(node), std::span<const Expr>(operand_tangents.data(), operands.size())};
        tangent_of[position] = jvp_rule(op_info(node->op()), j);
    }
    std::vector<Expr> result;
    result.reserve(outputs.size());
    for (const auto& out : outputs) {
        const Expr& t = tangent_of[index.position(out.get())];
        if (!t) {
            result.push_back(broadcast_to(constant(0.0, out.dtype()), out.shape()));
        } else {
            result.push_back(t.shape() == out.shape() ? t : broadcast_to(t, out.shape()));
        }
    }
    return result;
}

std::vector<Expr> jvp(std::span<const Expr> outputs, std::initializer_list<std::pair<Expr, Expr>> tangents) {
    return jvp(outputs, std::span<const std::pair<Expr, Expr>>(tangents.begin(), tangents.size()));
}

Expr jvp(const Expr& y, const Expr& x, const Expr& tangent) {
    const Expr outputs[] = {y};
    const std::pair<Expr, Expr> direction[] = {{x, tangent}};
    return jvp(outputs, direction)[0];
}

GradientRule gradient_rule_of(const Expr& y, std::span<const Expr> wrt, const Expr& seed, const Node* built) {
    std::vector<SweepStep> steps;
    const auto grads = grad(y, wrt, seed, [&](const SweepStep& step) { steps.push_back(step); });
    const Expr roots[] = {y};
    std::unordered_set<const Node*> seen;
    for (const Node* node : topo_order(roots)) seen.insert(node);
    // Each node of the gradients belongs to the first step (in sweep order) whose contribution reaches it.
    const SweepStep* owner = nullptr;
    std::vector<const Node*> stack;
    for (const SweepStep& step : steps) {
        if (step.operand == SweepStep::node_step || !step.contribution) continue;
        stack.push_back(step.contribution.get());
        while (!stack.empty() && owner == nullptr) {
            const Node* node = stack.back();
            stack.pop_back();
            if (!seen.insert(node).second) continue;
            if (node == built) owner = &step;
            for (const Expr& operand : node->inputs()) stack.push_back(operand.get());
        }
        stack.clear();
        if (owner != nullptr) break;
    }
    if (owner == nullptr) return {};
    const Node& node = *owner->node;
    const OpInfo& info = op_info(node.op());
    // The node written with names: a variable by its name, any other operand by the row's operand name (or u, v, w
    // where that is a variable's name already).
    std::unordered_set<std::string> names;
    for (const Expr& v : variables(roots)) names.insert(v.node().attrs().name);
    std::vector<Expr> placeholders;
    std::vector<std::string> wheres;
    for (std::size_t k = 0; k < node.arity(); ++k) {
        const Expr& operand = node.input(k);
        if (operand.op() == Op::variable || operand.op() == Op::constant) {
            placeholders.push_back(operand);
            continue;
        }
        std::string name(info.operands[k]);
        if (names.contains(name)) name = std::string(1, "uvw"[k]);
        placeholders.push_back(var(name, operand.shape(), operand.dtype()));
        wheres.push_back(fmt::format("{} = {}", name, to_inline_string(operand, 80)));
    }
    const Expr written = apply_exprs(node.op(), placeholders, node.attrs());
    const Expr local = info.vjp(Vjp{written.node(), written, Cotangent(constant(1.0, node.dtype()), true)}, owner->operand);
    std::string text = fmt::format("d/d{} {} = {}", to_inline_string(placeholders[owner->operand], 40), to_inline_string(written, 80),
                                   to_inline_string(local, 120));
    if (!wheres.empty()) text += fmt::format(" where {}", fmt::join(wheres, ", "));
    return {&node, owner->operand, text, owner->adjoint};
}

Expr hvp(const Expr& y, const Expr& x, const Expr& v) {
    if (!v || v.shape() != x.shape()) {
        throw ShapeError(fmt::format("hvp: the vector has shape {} but '{}' has shape {}", v ? to_string(v.shape()) : "none",
                                     to_inline_string(x, 80), x.shape()));
    }
    const Expr g = grad(y, {x})[0];
    const Expr reverse = grad(sum(g * v), {x})[0];
    const Expr forward = jvp(g, x, v);
    const Expr reverse_only[] = {reverse};
    const Expr forward_only[] = {forward};
    return index_graph(forward_only).size() < index_graph(reverse_only).size() ? forward : reverse;
}

Expr hessian(const Expr& y, const Expr& x) {
    const std::int64_t n = x.shape().numel();
    if (n > max_hessian_elements) {
        throw ShapeError(
            fmt::format("hessian: '{}' has {} elements (shape {}); the symbolic Hessian is built for at most {}; "
                        "use hvp() for larger inputs",
                        to_inline_string(x, 80), n, x.shape(), max_hessian_elements));
    }
    auto dims = x.shape().dims();
    dims.insert(dims.end(), x.shape().begin(), x.shape().end());
    if (n == 0) return broadcast_to(constant(0.0, x.dtype()), Shape(dims));
    const Expr g = reshape(grad(y, {x})[0], {n});
    // H = sum_i e_i (outer) d g_i / dx, one gradient per row.
    Expr h;
    for (std::int64_t i = 0; i < n; ++i) {
        Tensor basis = Tensor::zeros(Shape{n}, x.dtype());
        basis.set(i, 1.0);
        const Expr row = reshape(grad(sum(g * constant(basis)), {x})[0], {1, n});
        const Expr term = reshape(constant(basis), {n, 1}) * row;
        h = h ? h + term : term;
    }
    return reshape(h, dims);
}

}  // namespace symgrad
