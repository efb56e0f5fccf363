// find_anomaly: the reference evaluator's values of y and its gradients, searched for the first NaN or infinity
// made from finite operands; a backward origin is named by the sweep's rule that built it.
#include "symgrad/anomaly.hpp"

#include <cmath>
#include <unordered_set>

#include "symgrad/print.hpp"

namespace symgrad {

std::optional<Anomaly> find_anomaly(const Expr& y, std::span<const Expr> wrt, const Bindings& at, const Expr& seed) {
    std::vector<Expr> outputs{y};
    const auto grads = grad(y, wrt, seed);
    outputs.insert(outputs.end(), grads.begin(), grads.end());
    const auto values = evaluate_all(outputs, at);
    const auto origin = first_nonfinite_origin(outputs, values);
    if (!origin) return std::nullopt;
    const Expr forward[] = {y};
    const auto forward_nodes = topo_order(forward);
    const bool in_forward = std::find(forward_nodes.begin(), forward_nodes.end(), origin->node) != forward_nodes.end();
    Anomaly anomaly = describe_origin(*origin, values, in_forward ? "forward" : "backward");
    if (in_forward) return anomaly;
    const GradientRule rule = gradient_rule_of(y, wrt, seed, origin->node);
    if (rule.node == nullptr) return anomaly;
    anomaly.rule = rule.text;
    anomaly.rule_of = to_inline_string(handle(rule.node), 120);
    // The forward node's operands and its adjoint at the same element, where it has the origin's shape.
    if (rule.node->shape() == origin->node->shape()) {
        for (const Expr& operand : rule.node->inputs()) {
            const Tensor& t = values.at(operand.get());
            if (operand.op() != Op::constant && t.shape() == rule.node->shape()) anomaly.operands.emplace_back(to_inline_string(operand, 80), t.get(origin->element));
        }
        if (rule.adjoint) {
            const auto adjoint = values.find(rule.adjoint.get());
            if (adjoint != values.end() && adjoint->second.numel() == 1) {
                anomaly.operands.emplace_back("the adjoint", adjoint->second.get(0));
            } else if (adjoint != values.end() && adjoint->second.shape() == rule.node->shape()) {
                anomaly.operands.emplace_back("the adjoint", adjoint->second.get(origin->element));
            }
        }
    }
    // The path: the inputs to the forward node, then the node its rule built.
    anomaly.path = path_from_inputs(*rule.node);
    anomaly.path.push_back(fmt::format("[backward] {}", anomaly.expression));
    return anomaly;
}

}  // namespace symgrad
