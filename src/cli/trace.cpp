// symgrad trace EXPR --at x=1.5 --at beta=2: the teaching view of backprop. Every node in evaluation order
// with its value; then the reverse sweep, one node at a time: the local derivative rule, the incoming
// adjoint, and what it adds to each operand (micrograd's walkthrough, printed).
#include <cmath>
#include <iostream>

#include "common.hpp"

namespace symgrad::cli {

namespace {

struct TraceOptions {
    std::string expression;
    std::vector<std::string> at;
    Shapes shapes;
    double memory_limit_gib = 4.0;
};

// A number as the trace prints it; NaN's sign bit means nothing, so never "-nan".
std::string number_text(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.6g}", v); }

std::string value_text(const Tensor& t) {
    if (t.rank() == 0) return number_text(t.get(0));
    std::string text;
    if (t.numel() == 0) {
        text = "[]";
    } else if (t.numel() <= 12) {
        // Nested brackets, each number as a scalar's (6 significant digits): [[1, 2], [3, 4]].
        std::vector<std::int64_t> block(static_cast<std::size_t>(t.rank()));  // elements per step of each axis and below
        std::int64_t size = 1;
        for (std::size_t k = block.size(); k-- > 0;) block[k] = size *= t.shape()[static_cast<std::int64_t>(k)];
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

Bindings bindings_from(const std::vector<std::string>& specs, const std::vector<Expr>& vars) {
    Bindings at;
    std::vector<std::string> given;
    for (const auto& spec : specs) given.push_back(split_assignment(spec, "--at").first);
    reject_repeated_names(given, "--at", "a tensor's values go in one, e.g. --at x=1,2,3 with --shape x=3");
    for (const auto& spec : specs) {
        const auto [name, values] = parse_named_values(spec, "--at");
        const Expr* found = find_variable(vars, name);
        if (found == nullptr) throw InputError(fmt::format("--at '{}': the expression has no variable '{}'", spec, name));
        const Shape& shape = found->shape();
        if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
            throw InputError(fmt::format("--at '{}': '{}' has shape {} ({} values) but {} value{} given (set its shape with --shape)", spec,
                                         name, shape, shape.numel(), values.size(), values.size() == 1 ? " is" : "s are"));
        }
        at[name] = Tensor::from_values(shape, values);
    }
    for (const auto& v : vars) {
        if (!at.contains(v.node().attrs().name)) {
            throw InputError(
                fmt::format("variable '{}' has no value: give one with --at {}=...", v.node().attrs().name, v.node().attrs().name));
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
    // The trace keeps every node's value: the sum of their sizes, not the evaluation's peak, is what it holds.
    double held = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        held += static_cast<double>(index.node(i)->shape().numel()) * static_cast<double>(dtype_size(index.node(i)->dtype()));
    }
    if (3 * held > o.memory_limit_gib * 1073741824.0) {  // values, adjoints and the contributions shown
        throw InputError(
            fmt::format("tracing this expression would hold about {:.3g} GiB (every value and adjoint is kept), past the "
                        "memory limit of {} GiB (--memory-limit to change it; a trace is read best on small shapes)",
                        3 * held / 1073741824.0, o.memory_limit_gib));
    }
    const auto values = evaluate_all(roots, at);

    // Names: variables keep theirs, the output is y, the other results are v1, v2, ...; a generated name never
    // takes a variable's (trace 'y * v1 + v2' calls its output y_ and skips v1 and v2).
    auto taken = [&](const std::string& name) { return find_variable(vars, name) != nullptr; };
    std::string output_name = "y";
    while (taken(output_name)) output_name += "_";
    std::vector<std::string> names(index.size());
    std::size_t counter = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if (node.op() == Op::variable) {
            names[i] = node.attrs().name;
        } else if (node.op() == Op::constant) {
            names[i] = to_inline_string(handle(&node), 40);
        } else {
            if (i + 1 == index.size()) {
                names[i] = output_name;
            } else {
                do {
                    ++counter;
                } while (taken(fmt::format("v{}", counter)));
                names[i] = fmt::format("v{}", counter);
            }
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

    // The backward pass is grad's own sweep: its steps are recorded as it builds the gradient, and every number
    // printed below is a value of what it built (one evaluation), so the trace cannot disagree with grad.
    std::vector<SweepStep> steps;
    const auto grads = grad(y, vars, Expr(), [&](const SweepStep& step) { steps.push_back(step); });
    std::vector<Expr> wanted(grads.begin(), grads.end());
    auto want = [&](const Expr& e) {
        wanted.push_back(e);
        return wanted.size() - 1;
    };
    struct Shown {
        std::size_t adjoint = 0;
        std::size_t local = 0;
        std::size_t contribution = 0;
        std::size_t mask = 0;
        Expr rule;  // the local rule written with the names
    };
    std::vector<Shown> shown(steps.size());
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const SweepStep& step = steps[s];
        const Node& node = *step.node;
        const std::size_t i = index.position(&node);
        if (step.operand == SweepStep::node_step) {
            shown[s].adjoint = want(broadcast_to(step.adjoint, node.shape()));
            continue;
        }
        if (!step.contribution) continue;
        const OpInfo& info = op_info(node.op());
        const Expr written_node = written(i);
        // The local rule, written with the names: the row's VJP rule applied to a symbolic one.
        const Expr rule = info.vjp(Vjp{written_node.node(), written_node, Cotangent(constant(1.0, node.dtype()), true)}, step.operand);
        shown[s].rule = substitute(std::span<const Expr>(&rule, 1), [&](const Node& n) -> Expr {
            return &n == written_node.get() ? var(names[i], node.shape(), node.dtype()) : Expr();
        })[0];
        shown[s].local = want(info.vjp(Vjp{node, handle(&node), Cotangent(constant(1.0, node.dtype()), true)}, step.operand));
        shown[s].contribution = want(unbroadcast(step.contribution, node.input(step.operand).shape(), node.input(step.operand).shape()));
        if (step.mask) shown[s].mask = want(broadcast_to(step.mask, node.shape()));
    }
    const auto numbers = evaluate(wanted, at);

    std::cout << fmt::format("\nbackward pass: adjoints, starting from d{0}/d{0} = 1{1}\n", output_name,
                             y.rank() > 0 ? fmt::format(" (for every element: the gradient of sum({}))", output_name) : "");
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const SweepStep& step = steps[s];
        const Node& node = *step.node;
        const std::size_t i = index.position(&node);
        if (step.operand == SweepStep::node_step) {
            std::cout << fmt::format("  {} = {}    adjoint {}\n", names[i], to_inline_string(written(i), 80),
                                     value_text(numbers[shown[s].adjoint]));
            const OpInfo& info = op_info(node.op());
            if (!info.gradient_override.empty()) {
                const auto operands = index.operands(i);
                std::string note(info.gradient_override);
                for (std::size_t k = 0; k < operands.size(); ++k) {
                    const std::string slot = fmt::format("{{{}}}", k);
                    if (const auto at = note.find(slot); at != std::string::npos) note.replace(at, slot.size(), names[operands[k]]);
                }
                std::cout << fmt::format("      {}: {}\n", info.name, note);
            } else if (!step.has_rule) {
                std::cout << fmt::format("      {} passes no gradient to its operands\n", info.name);
            }
            continue;
        }
        const std::uint32_t operand = index.operands(i)[step.operand];
        if (!step.contribution) {
            std::cout << fmt::format("      d/d{}: no gradient\n", names[operand]);
            continue;
        }
        const std::string rule_text = to_inline_string(shown[s].rule, 80);
        if (shown[s].rule.node().is_scalar_constant()) {
            std::cout << fmt::format("      d{}/d{} = {}\n", names[i], names[operand], rule_text);
        } else {
            std::cout << fmt::format("      d{}/d{} = {} = {}\n", names[i], names[operand], rule_text, value_text(numbers[shown[s].local]));
        }
        const Shape& operand_shape = index.node(operand)->shape();
        std::string summed;
        if (step.logical != operand_shape) {
            summed =
                fmt::format(" (summed over the axes along which {} {} was broadcast to {})", names[operand], operand_shape, step.logical);
        }
        if (step.mask) {
            // Where the adjoint came only through a where() branch that was not selected, the product is 0, even
            // where the local derivative is inf or NaN (0 * inf would be NaN).
            std::cout << fmt::format("      {} += adjoint * d{}/d{}, only where where() selected this branch (mask {}) = {}{}\n",
                                     names[operand], names[i], names[operand], value_text(numbers[shown[s].mask]),
                                     value_text(numbers[shown[s].contribution]), summed);
        } else {
            std::cout << fmt::format("      {} += adjoint * d{}/d{} = {}{}\n", names[operand], names[i], names[operand],
                                     value_text(numbers[shown[s].contribution]), summed);
        }
    }

    std::cout << fmt::format("\ngradients (of sum({}))\n", output_name);
    for (std::size_t v = 0; v < vars.size(); ++v) {
        std::cout << fmt::format("  d{}/d{} = {}\n", output_name, vars[v].node().attrs().name, value_text(numbers[v]));
    }
    return 0;
}

}  // namespace

Action add_trace(CLI::App& app) {
    auto options = std::make_shared<TraceOptions>();
    CLI::App* sub = app.add_subcommand("trace", "Walk through the forward and backward pass step by step (for learning).");
    add_expression_argument(*sub, options->expression);
    sub->add_option("--at", options->at, "A variable's value: NAME=VALUE, or NAME=V1,V2,... with --shape")->required();
    add_shape_option(*sub, options->shapes);
    sub->add_option("--memory-limit", options->memory_limit_gib, "Refuse expressions whose trace needs more GiB than this (default 4)")
        ->check(positive_number());
    sub->footer(
        "Example:\n  symgrad trace 'x * sigmoid(beta * x)' --at x=1.5 --at beta=2\n"
        "  symgrad trace 'x * beta' --shape x=2,2 --shape beta=2 --at x=1,2,3,4 --at beta=10,20");
    return [options] { return run_trace(*options); };
}

}  // namespace symgrad::cli
