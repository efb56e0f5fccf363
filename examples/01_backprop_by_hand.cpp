// Example 1: backprop by hand. micrograd's lesson in C++: a scalar expression, its graph, the forward values, and
// the reverse sweep one node at a time, each adjoint pushed to the operands by the node's own derivative rule
// (the same rule grad() uses). At the end, the hand-made gradients are compared with grad(); the program exits 1
// if they differ.
//
//   ./build/release/examples/01_backprop_by_hand
#include <cmath>
#include <iostream>
#include <map>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

int main() {
    // L = (a * b + c) * f, at a = 2, b = -3, c = 10, f = -2 (Karpathy's first example)
    const Expr a = var("a");
    const Expr b = var("b");
    const Expr c = var("c");
    const Expr f = var("f");
    const Expr e = a * b;
    const Expr d = e + c;
    const Expr L = d * f;
    const Bindings at = {{"a", Tensor::scalar(2)}, {"b", Tensor::scalar(-3)}, {"c", Tensor::scalar(10)}, {"f", Tensor::scalar(-2)}};

    // The graph in evaluation order: every node after its operands (one topological order serves every pass).
    const Expr roots[] = {L};
    const GraphIndex graph = index_graph(roots);
    const auto values = evaluate_all(roots, at);
    std::map<const Node*, std::string> names = {{e.get(), "e"}, {d.get(), "d"}, {L.get(), "L"}};
    auto name_of = [&](const Node* n) { return n->is_leaf() ? n->attrs().name : names.at(n); };
    // An expression printed with the intermediate nodes by name (L = d * f rather than L = (a * b + c) * f).
    auto shown = [&](const Expr& expr, bool name_itself = false) {
        const Expr one[] = {expr};
        return to_string(substitute(one, [&](const Node& n) -> Expr {
            const auto it = names.find(&n);
            return it != names.end() && (name_itself || &n != expr.get()) ? var(it->second) : Expr();
        })[0]);
    };
    std::cout << "forward pass (each node after its operands)\n";
    for (std::size_t i = 0; i < graph.size(); ++i) {
        const Node* n = graph.node(i);
        const std::string formula = n->is_leaf() ? "" : " = " + shown(handle(n));
        std::cout << fmt::format("  {:<10} = {:g}\n", name_of(n) + formula, values.at(n).item());
    }

    // The reverse sweep: dL/dL = 1; each node, last to first, hands its adjoint to its operands through its
    // vector-Jacobian product (for a scalar: adjoint * local derivative), and operands add up what they get.
    std::map<const Node*, double> adjoint = {{L.get(), 1.0}};
    std::cout << "\nbackward pass (from dL/dL = 1)\n";
    for (std::size_t i = graph.size(); i-- > 0;) {
        const Node* n = graph.node(i);
        if (n->is_leaf()) continue;
        const double incoming = adjoint[n];
        std::cout << fmt::format("  {} = {}    adjoint dL/d{} = {:g}\n", name_of(n), shown(handle(n)), name_of(n), incoming);
        for (std::size_t k = 0; k < n->arity(); ++k) {
            const Node* operand = n->input(k).get();
            // The row's rule with a symbolic adjoint of 1 gives the local derivative as an expression.
            const Vjp rule{*n, handle(n), Cotangent(constant(1.0), true)};
            const Expr local = op_info(n->op()).vjp(rule, k);
            const double local_value = evaluate(local, at).item();
            adjoint[operand] += incoming * local_value;
            // The rule as an expression, then its value there ("de/da = b = -3"); a constant rule is its own value.
            const std::string rule_text = shown(local, true);
            const std::string value_text = fmt::format("{:g}", local_value);
            std::cout << fmt::format("      d{}/d{} = {}{};  dL/d{} += {:g} * {:g}  ->  {:g}\n", name_of(n), name_of(operand), rule_text,
                                     rule_text == value_text ? "" : " = " + value_text, name_of(operand), incoming, local_value,
                                     adjoint[operand]);
        }
    }

    // The same gradients from grad(), as expressions, then as numbers.
    const Expr wrt[] = {a, b, c, f};
    const auto gradients = grad(L, wrt);
    std::cout << "\ngrad() gives\n";
    bool same = true;
    for (std::size_t k = 0; k < 4; ++k) {
        const double value = evaluate(gradients[k], at).item();
        const double by_hand = adjoint[wrt[k].get()];
        same = same && value == by_hand;
        std::cout << fmt::format("  dL/d{} = {:<9} = {:g}   (by hand: {:g})\n", wrt[k].node().attrs().name, to_string(gradients[k]), value,
                                 by_hand);
    }
    std::cout << (same ? "\nthe hand-made sweep and grad() agree\n" : "\nMISMATCH between the hand-made sweep and grad()\n");
    return same ? 0 : 1;
}
