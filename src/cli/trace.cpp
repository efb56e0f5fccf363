// symgrad trace EXPR --at x=1.5 --at beta=2: the teaching view of backprop. Every node in evaluation order
// with its value; then the reverse sweep, one node at a time: the local derivative rule, the incoming
// adjoint, and what it adds to each operand (micrograd's walkthrough, printed).
#include <iostream>

#include "common.hpp"

namespace symgrad::cli {

namespace {

struct TraceOptions {
    std::string expression;
    std::vector<std::string> at;
    std::vector<std::string> shapes;
};

std::string value_text(const Tensor& t) {
    if (t.rank() == 0) return fmt::format("{:.6g}", t.get(0));
    std::string text;
    if (t.numel() <= 12) {
        text = to_string(t);
        std::replace(text.begin(), text.end(), '\n', ' ');
        std::string squeezed;
        for (char c : text) {
            if (!(c == ' ' && !squeezed.empty() && squeezed.back() == ' ')) squeezed += c;
        }
        text = squeezed;
    } else {
        text = fmt::format("{} values, first {:.6g}", t.numel(), t.get(0));
    }
    return fmt::format("{} {}", t.shape(), text);
}

Bindings bindings_from(const std::vector<std::string>& specs, const std::vector<Expr>& vars) {
    Bindings at;
    for (const auto& spec : specs) {
        const auto [name, values] = parse_named_values(spec, "--at");
        const Expr* found = find_variable(vars, name);
        if (found == nullptr) throw InputError(fmt::format("--at '{}': the expression has no variable '{}'", spec, name));
        const Shape& shape = found->shape();
        if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
            throw InputError(fmt::format("--at '{}': '{}' has shape {} ({} values) but {} value{} given (set its shape with --shape)",
                                         spec, name, shape, shape.numel(), values.size(), values.size() == 1 ? " is" : "s are"));
        }
        at[name] = Tensor::from_values(shape, values);
    }
    for (const auto& v : vars) {
        if (!at.contains(v.node().attrs().name)) {
            throw InputError(fmt::format("variable '{}' has no value: give one with --at {}=...", v.node().attrs().name,
                                         v.node().attrs().name));
        }
    }
    return at;
}

int run_trace(const TraceOptions& o) {
    const Expr y = parse_with_shapes(o.expression, o.shapes);
    const auto vars = variables_of(y);
    const Bindings at = bindings_from(o.at, vars);
    const Expr roots[] = {y};
    const GraphIndex index = index_graph(roots);
    const auto values = evaluate_all(roots, at);

    // Names: variables keep theirs, the output is y, the other results are v1, v2, ...
    std::vector<std::string> names(index.size());
    std::size_t counter = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if (node.op() == Op::variable) {
            names[i] = node.attrs().name;
        } else if (node.op() == Op::constant) {
            names[i] = to_inline_string(handle(&node), 40);
        } else {
            names[i] = i + 1 == index.size() ? "y" : fmt::format("v{}", ++counter);
        }
    }
    // A node written with its operands' names: v2 = sigmoid(v1). Built from placeholder variables, so the
    // table's own print form decides the layout.
    auto placeholder = [&](std::uint32_t position) -> Expr {
        const Node& node = *index.node(position);
        if (node.op() == Op::constant) return handle(&node);
        return var(names[position], node.shape(), node.dtype());
    };
    auto written = [&](std::size_t i) -> Expr {
        const Node& node = *index.node(i);
        std::vector<Expr> operands;
        for (auto operand : index.operands(i)) operands.push_back(placeholder(operand));
        return apply_exprs(node.op(), operands, node.attrs());
    };

    std::cout << fmt::format("forward pass: each node in evaluation order\n");
    std::size_t width = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        if (!index.node(i)->is_leaf()) width = std::max(width, names[i].size() + 3 + to_inline_string(written(i), 60).size());
    }
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if (node.op() == Op::constant) continue;
        const std::string lhs = node.is_leaf() ? names[i] : names[i] + " = " + to_inline_string(written(i), 60);
        std::cout << fmt::format("  {:<{}} = {}\n", lhs, width, value_text(values.at(&node)));
    }

    std::cout << fmt::format("\nbackward pass: adjoints, starting from dy/dy = 1{}\n",
                             y.rank() > 0 ? " (for every element: the gradient of sum(y))" : "");
    std::vector<Tensor> adjoints(index.size());
    adjoints.back() = Tensor::ones(y.shape());
    for (std::size_t i = index.size(); i-- > 0;) {
        const Node& node = *index.node(i);
        if (node.is_leaf() || adjoints[i].numel() == 0) continue;
        const OpInfo& info = op_info(node.op());
        const Expr shown = written(i);
        std::cout << fmt::format("  {} = {}    adjoint {}\n", names[i], to_inline_string(shown, 80), value_text(adjoints[i]));
        if (info.vjp == nullptr) {
            std::cout << fmt::format("      {} passes no gradient to its operands\n", info.name);
            continue;
        }
        const Expr g = var("\x01g", node.shape(), node.dtype());
        Bindings with_g = at;
        with_g["\x01g"] = adjoints[i];
        const auto operand_positions = index.operands(i);
        for (std::size_t k = 0; k < operand_positions.size(); ++k) {
            const std::uint32_t operand = operand_positions[k];
            if (index.node(operand)->op() == Op::constant) continue;
            // The local rule, written with the names: the row's VJP rule applied to a symbolic one.
            const Expr rule = info.vjp(Vjp{shown.node(), shown, Cotangent(constant(1.0, node.dtype()), true)}, k);
            if (!rule) {
                std::cout << fmt::format("      d/d{}: no gradient\n", names[operand]);
                continue;
            }
            const Expr rule_named = substitute(std::span<const Expr>(&rule, 1), [&](const Node& n) -> Expr {
                return &n == shown.get() ? var(names[i], node.shape(), node.dtype()) : Expr();
            })[0];
            // Its value, and what the adjoint times it adds to the operand (summed where it was broadcast).
            const Expr local = info.vjp(Vjp{node, handle(&node), Cotangent(constant(1.0, node.dtype()), true)}, k);
            const Expr contribution = info.vjp(Vjp{node, handle(&node), Cotangent(g, false)}, k);
            const Shape& operand_shape = index.node(operand)->shape();
            const Shape logical = contribution_shape(node, node.input(k), contribution);
            const Expr reduced = unbroadcast(contribution, operand_shape, logical);
            const auto numbers = evaluate(std::vector<Expr>{local, reduced}, with_g);
            const std::string rule_text = to_inline_string(rule_named, 80);
            if (rule_named.node().is_scalar_constant()) {
                std::cout << fmt::format("      d{}/d{} = {}\n", names[i], names[operand], rule_text);
            } else {
                std::cout << fmt::format("      d{}/d{} = {} = {}\n", names[i], names[operand], rule_text, value_text(numbers[0]));
            }
            std::string summed;
            if (logical != operand_shape) {
                summed = fmt::format(" (summed over the axes along which {} {} was broadcast to {})", names[operand],
                                     operand_shape, logical);
            }
            std::cout << fmt::format("      {} += adjoint * d{}/d{} = {}{}\n", names[operand], names[i], names[operand],
                                     value_text(numbers[1]), summed);
            Tensor& target = adjoints[operand];
            if (target.numel() == 0 && operand_shape.numel() > 0) {
                target = numbers[1].clone();
            } else {
                for (std::int64_t e = 0; e < target.numel(); ++e) target.set(e, target.get(e) + numbers[1].get(e));
            }
        }
    }

    std::cout << "\ngradients (of sum(y))\n";
    const auto grads = evaluate(grad(y, vars), at);
    for (std::size_t v = 0; v < vars.size(); ++v) {
        std::cout << fmt::format("  dy/d{} = {}\n", vars[v].node().attrs().name, value_text(grads[v]));
    }
    return 0;
}

}  // namespace

Action add_trace(CLI::App& app) {
    auto options = std::make_shared<TraceOptions>();
    CLI::App* sub = app.add_subcommand("trace", "Walk through the forward and backward pass step by step (for learning).");
    sub->add_option("expr", options->expression, "The expression")->required();
    sub->add_option("--at", options->at, "A variable's value: NAME=VALUE, or NAME=V1,V2,... with --shape")->required();
    sub->add_option("--shape", options->shapes, "A variable's shape, NAME=D0,D1,... (default: scalars)");
    sub->footer("Example:\n  symgrad trace 'x * sigmoid(beta * x)' --at x=1.5 --at beta=2\n"
                "  symgrad trace 'x * beta' --shape x=2,2 --shape beta=2 --at x=1,2,3,4 --at beta=10,20");
    return [options] { return run_trace(*options); };
}

}  // namespace symgrad::cli
