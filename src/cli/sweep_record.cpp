// record_sweep: the forward values and grad()'s reverse sweep, step by step, with every number shown.
#include "sweep_record.hpp"

#include <cmath>

#include "common.hpp"

namespace symgrad::cli {

std::string number_text(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.6g}", v); }  // NaN's sign means nothing

std::string value_text(const Tensor& t) {
    if (t.rank() == 0) return number_text(t.get(0));
    std::string text;
    if (t.numel() == 0) {
        text = "[]";
    } else if (t.numel() <= 12) {
        // Nested brackets, each number as a scalar's (6 significant digits): [[1, 2], [3, 4]].
        std::vector<std::int64_t> block(t.rank());  // elements per step of each axis and below
        std::int64_t size = 1;
        for (std::size_t k = block.size(); k-- > 0;) block[k] = size *= t.shape()[k];
        for (std::int64_t i = 0; i < t.numel(); ++i) {
            for (const std::int64_t b : block) text += i % b == 0 ? "[" : "";
            text += number_text(t.get(i));
            for (const std::int64_t b : block) text += (i + 1) % b == 0 ? "]" : "";
            if (i + 1 < t.numel()) text += ", ";
        }
    } else {
        text = fmt::format("{} values, first {}", t.numel(), number_text(t.get(0)));
    }
    return fmt::format("{} {}", t.shape(), text);
}

double record_bytes(const Expr& y) {
    const Expr roots[] = {y};
    const GraphIndex index = index_graph(roots);
    double held = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        held += static_cast<double>(index.node(i)->shape().numel()) * static_cast<double>(dtype_size(index.node(i)->dtype()));
    }
    return 8 * held;  // values, adjoints, and per share the local derivative, the share, mask, sums (float64)
}

SweepRecord record_sweep(const Expr& y, const Bindings& at) {
    SweepRecord r;
    r.y = y;
    r.vars = variables_of(y);
    const Expr roots[] = {y};
    r.index = index_graph(roots);
    const GraphIndex& index = r.index;
    const auto all_values = evaluate_all(roots, at);
    for (std::size_t i = 0; i < index.size(); ++i) r.values.push_back(all_values.at(index.node(i)));

    // Names: variables keep theirs, the output is y, the other results are v1, v2, ...; a generated name never
    // takes a variable's (trace 'y * v1 + v2' calls its output y_ and skips v1 and v2).
    auto taken = [&](const std::string& name) { return find_variable(r.vars, name) != nullptr; };
    r.output_name = "y";
    while (taken(r.output_name)) r.output_name += "_";
    r.names.resize(index.size());
    std::size_t counter = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if (node.op() == Op::variable) {
            r.names[i] = node.attrs().name;
        } else if (node.op() == Op::constant) {
            r.names[i] = to_inline_string(handle(&node), 40);
        } else if (i + 1 == index.size()) {
            r.names[i] = r.output_name;
        } else {
            do {
                ++counter;
            } while (taken(fmt::format("v{}", counter)));
            r.names[i] = fmt::format("v{}", counter);
        }
    }
    // A node written with its operands' names: v2 = sigmoid(v1). Built from placeholder variables, so the
    // table's own print form decides the layout.
    auto placeholder = [&](std::uint32_t position) -> Expr {
        const Node& node = *index.node(position);
        if (node.op() == Op::constant) return handle(&node);
        return var(r.names[position], node.shape(), node.dtype());
    };
    r.written.resize(index.size());
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if (node.is_leaf()) continue;
        std::vector<Expr> operands;
        for (auto operand : index.operands(i)) operands.push_back(placeholder(operand));
        r.written[i] = apply_exprs(node.op(), operands, node.attrs());
    }

    // The backward pass is grad's own sweep: its steps are recorded as it builds the gradient, and every number
    // below is a value of what it built (one evaluation).
    std::vector<SweepStep> steps;
    const auto grads = grad(y, r.vars, Expr(), [&](const SweepStep& step) { steps.push_back(step); });
    std::vector<Expr> wanted(grads.begin(), grads.end());
    auto want = [&](const Expr& e) {
        wanted.push_back(e);
        return wanted.size() - 1;
    };
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    struct Wanted {
        std::size_t adjoint = 0, local = 0, contribution = 0, mask = 0, before_sum = static_cast<std::size_t>(-1);
    };
    std::vector<Wanted> slots(steps.size());
    r.steps.resize(steps.size());
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const SweepStep& step = steps[s];
        const Node& node = *step.node;
        const std::size_t i = index.position(&node);
        SweepRecord::Step& out = r.steps[s];
        out.node = i;
        const OpInfo& info = op_info(node.op());
        if (step.operand == SweepStep::node_step) {
            out.arrival = true;
            slots[s].adjoint = want(broadcast_to(step.adjoint, node.shape()));
            if (!info.gradient_override.empty()) {
                const auto operands = index.operands(i);
                std::string note(info.gradient_override);
                for (std::size_t k = 0; k < operands.size(); ++k) {
                    const std::string slot = fmt::format("{{{}}}", k);
                    if (const auto found = note.find(slot); found != std::string::npos)
                        note.replace(found, slot.size(), r.names[operands[k]]);
                }
                out.note = fmt::format("{}: {}", info.name, note);
            } else if (!step.has_rule) {
                out.note = fmt::format("{} passes no gradient to its operands", info.name);
            }
            continue;
        }
        out.slot = step.operand;
        out.operand = index.operands(i)[step.operand];
        if (!step.contribution) continue;
        out.gives_gradient = true;
        out.logical = step.logical;
        const Expr& written_node = r.written[i];
        // The local rule, written with the names: the row's VJP rule applied to a symbolic one.
        const Expr rule = info.vjp(Vjp{written_node.node(), written_node, Cotangent(constant(1.0, node.dtype()), true)}, step.operand);
        out.rule = substitute(std::span<const Expr>(&rule, 1), [&](const Node& n) -> Expr {
            return &n == written_node.get() ? var(r.names[i], node.shape(), node.dtype()) : Expr();
        })[0];
        const Expr local = info.vjp(Vjp{node, handle(&node), Cotangent(constant(1.0, node.dtype()), true)}, step.operand);
        slots[s].local = want(local);
        slots[s].contribution = want(unbroadcast(step.contribution, node.input(step.operand).shape(), node.input(step.operand).shape()));
        if (step.mask) slots[s].mask = want(broadcast_to(step.mask, node.shape()));
        // Before the sum over broadcast axes: adjoint * local at the node's shape (an elementwise node's), masked.
        const bool pointwise = info.kind == OpClass::elementwise || node.op() == Op::broadcast_to;
        if (pointwise && step.logical != node.input(step.operand).shape() && step.logical == node.shape() && step.adjoint) {
            Expr product = broadcast_to(step.adjoint, node.shape()) * broadcast_to(local, node.shape());
            if (step.mask) product = where(broadcast_to(step.mask, node.shape()), product, 0);
            slots[s].before_sum = want(product);
        }
    }
    const auto numbers = evaluate(wanted, at);
    r.gradients.assign(numbers.begin(), numbers.begin() + static_cast<std::ptrdiff_t>(r.vars.size()));

    // Each operand's adjoint so far, share by share (in float64, as the shares are shown).
    std::vector<std::optional<std::vector<double>>> so_far(index.size());
    for (std::size_t s = 0; s < steps.size(); ++s) {
        SweepRecord::Step& out = r.steps[s];
        if (out.arrival) {
            out.adjoint = numbers[slots[s].adjoint];
            continue;
        }
        if (!out.gives_gradient) continue;
        out.local = numbers[slots[s].local];
        out.contribution = numbers[slots[s].contribution];
        if (steps[s].mask) out.mask = numbers[slots[s].mask];
        if (slots[s].before_sum != none) out.before_sum = numbers[slots[s].before_sum];
        auto& sum = so_far[out.operand];
        const auto share = out.contribution.to_vector();
        if (!sum) {
            sum = share;
        } else {
            for (std::size_t k = 0; k < share.size(); ++k) (*sum)[k] += share[k];
        }
        out.accumulated = Tensor::from_values(out.contribution.shape(), *sum);
    }
    return r;
}

}  // namespace symgrad::cli
