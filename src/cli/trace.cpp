// symgrad trace EXPR --at x=1.5 --at beta=2: the teaching view of backprop. Every node in evaluation order
// with its value; then the reverse sweep, one node at a time: the local derivative rule, the incoming
// adjoint, and what it adds to each operand (micrograd's walkthrough, printed).
#include <cmath>
#include <iostream>

#include "common.hpp"
#include "sweep_record.hpp"

namespace symgrad::cli {

namespace {

struct TraceOptions {
    std::string expression;
    std::vector<std::string> at;
    Shapes shapes;
    double memory_limit_gib = 4.0;
};

int run_trace(const TraceOptions& o) {
    const Expr y = parse_with_shapes(o.expression, o.shapes);
    const Bindings at = bindings_from(o.at, variables_of(y));
    // The trace keeps every node's value: the sum of their sizes, not the evaluation's peak, is what it holds.
    if (const double held = record_bytes(y); held > o.memory_limit_gib * 1073741824.0) {
        throw InputError(
            fmt::format("tracing this expression would hold about {:.3g} GiB (every value and adjoint is kept), past the "
                        "memory limit of {} GiB (--memory-limit to change it; a trace is read best on small shapes)",
                        held / 1073741824.0, o.memory_limit_gib));
    }
    const SweepRecord r = record_sweep(y, at);
    const GraphIndex& index = r.index;
    const auto& names = r.names;

    std::cout << fmt::format("forward pass: each node in evaluation order\n");
    std::size_t width = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        if (r.written[i]) width = std::max(width, names[i].size() + 3 + to_inline_string(r.written[i], 60).size());
    }
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if (node.op() == Op::constant) continue;
        const std::string lhs = node.is_leaf() ? names[i] : names[i] + " = " + to_inline_string(r.written[i], 60);
        std::cout << fmt::format("  {:<{}} = {}\n", lhs, width, value_text(r.values[i]));
    }

    std::cout << fmt::format("\nbackward pass: adjoints, starting from d{0}/d{0} = 1{1}\n", r.output_name,
                             y.rank() > 0 ? fmt::format(" (for every element: the gradient of sum({}))", r.output_name) : "");
    for (const SweepRecord::Step& step : r.steps) {
        const std::size_t i = step.node;
        if (step.arrival) {
            std::cout << fmt::format("  {} = {}    adjoint {}\n", names[i], to_inline_string(r.written[i], 80), value_text(step.adjoint));
            if (!step.note.empty()) std::cout << fmt::format("      {}\n", step.note);
            continue;
        }
        const std::size_t operand = step.operand;
        if (!step.gives_gradient) {
            std::cout << fmt::format("      d/d{}: no gradient\n", names[operand]);
            continue;
        }
        const std::string rule_text = to_inline_string(step.rule, 80);
        if (step.rule.node().is_scalar_constant()) {
            std::cout << fmt::format("      d{}/d{} = {}\n", names[i], names[operand], rule_text);
        } else {
            std::cout << fmt::format("      d{}/d{} = {} = {}\n", names[i], names[operand], rule_text, value_text(step.local));
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
                                     names[operand], names[i], names[operand], value_text(*step.mask), value_text(step.contribution),
                                     summed);
        } else {
            std::cout << fmt::format("      {} += adjoint * d{}/d{} = {}{}\n", names[operand], names[i], names[operand],
                                     value_text(step.contribution), summed);
        }
    }

    std::cout << fmt::format("\ngradients (of sum({}))\n", r.output_name);
    for (std::size_t v = 0; v < r.vars.size(); ++v) {
        std::cout << fmt::format("  d{}/d{} = {}\n", r.output_name, r.vars[v].node().attrs().name, value_text(r.gradients[v]));
    }
    return 0;
}

}  // namespace

Action add_trace(CLI::App& app) {
    auto options = std::make_shared<TraceOptions>();
    CLI::App* sub = app.add_subcommand("trace", "Walk through the forward and backward pass step by step (for learning).");
    add_expression_argument(*sub, options->expression);
    add_at_option(*sub, options->at)->required();
    add_shape_option(*sub, options->shapes);
    sub->add_option("--memory-limit", options->memory_limit_gib, "Refuse expressions whose trace needs more GiB than this (default 4)")
        ->check(positive_number());
    sub->footer(
        "Example:\n  symgrad trace 'x * sigmoid(beta * x)' --at x=1.5 --at beta=2\n"
        "  symgrad trace 'x * beta' --shape x=2,2 --shape beta=2 --at x=1,2,3,4 --at beta=10,20");
    return [options] { return run_trace(*options); };
}

}  // namespace symgrad::cli
