// The fixpoint driver for rewrite rules. Bottom-up over one topological order per pass: each node is
// rebuilt on its simplified operands, then rewritten by the first rule that applies, again and again, until
// none does (or the node has been rewritten max_rewrites_per_node times); passes repeat until one changes
// nothing, or max_passes have run. The report says whether it got to the fixpoint.
#include "symgrad/simplify.hpp"

#include <array>

namespace symgrad {

std::vector<Expr> simplify(std::span<const Expr> roots, std::span<const RewriteRule> rules, const SimplifyOptions& options,
                           SimplifyReport* report) {
    std::array<std::vector<const RewriteRule*>, op_count> by_op;
    for (const auto& rule : rules) by_op[static_cast<std::size_t>(rule.op)].push_back(&rule);

    std::vector<Expr> current(roots.begin(), roots.end());
    bool converged = false;
    for (std::size_t pass = 0; pass < options.max_passes; ++pass) {
        if (report != nullptr) report->passes = pass + 1;
        const GraphIndex index = index_graph(current);
        std::vector<Expr> rewritten(index.size());
        bool changed = false;
        bool node_left_at_limit = false;  // a node rewritten max_rewrites_per_node times, the last time by a rule
        for (std::size_t position = 0; position < index.size(); ++position) {
            const Node* node = index.node(position);
            const auto operands = index.operands(position);
            std::array<Expr, max_arity> inputs;
            bool inputs_changed = false;
            for (std::size_t i = 0; i < operands.size(); ++i) {
                inputs[i] = rewritten[operands[i]];
                inputs_changed = inputs_changed || !(inputs[i] == node->input(i));
            }
            Expr e = inputs_changed ? apply_exprs(node->op(), std::span<const Expr>(inputs.data(), operands.size()), node->attrs())
                                    : handle(node);
            std::size_t step = 0;
            for (; step < options.max_rewrites_per_node; ++step) {
                Expr next;
                for (const RewriteRule* rule : by_op[static_cast<std::size_t>(e.op())]) {
                    Expr candidate = rule->apply(e.node());
                    // Never a rewrite that changes what the node is: shape and dtype stay.
                    if (!candidate || candidate == e || candidate.shape() != e.shape() || candidate.dtype() != e.dtype()) continue;
                    if (report != nullptr) ++report->fired[std::string(rule->name)];
                    next = std::move(candidate);
                    break;
                }
                if (!next) break;
                e = std::move(next);
            }
            node_left_at_limit = node_left_at_limit || step == options.max_rewrites_per_node;
            changed = changed || !(e == handle(node));
            rewritten[position] = std::move(e);
        }
        std::vector<Expr> next_roots;
        for (const auto& root : current) next_roots.push_back(rewritten[index.position(root.get())]);
        current = std::move(next_roots);
        converged = !changed && !node_left_at_limit;
        if (!changed) break;
    }
    if (report != nullptr) report->converged = converged;
    return current;
}

std::vector<Expr> simplify(std::span<const Expr> roots, std::span<const RewriteRule> rules, SimplifyReport* report) {
    return simplify(roots, rules, SimplifyOptions{}, report);
}

Expr simplify(const Expr& root) { return simplify(std::span<const Expr>(&root, 1))[0]; }

std::size_t operation_count(std::span<const Expr> roots) {
    const GraphIndex index = index_graph(roots);
    std::size_t count = 0;
    for (const Node* node : index.nodes()) count += node->is_leaf() ? 0 : 1;
    return count;
}

}  // namespace symgrad
