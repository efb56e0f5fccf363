// symgrad check EXPR [--shape v=dims ...] [--seed N] [--range lo:hi]: float64 gradcheck, both orders.
#include <iostream>

#include "common.hpp"

namespace symgrad::cli {

namespace {

struct CheckOptions {
    std::string expression;
    Shapes shapes;
    std::uint64_t seed = 0;
    std::string range = "-2:2";
    double memory_limit_gib = 4.0;
    bool detect_anomaly = false;
};

int run_check(const CheckOptions& o) {
    const Expr y = parse_with_shapes(o.expression, o.shapes);
    const auto vars = variables_of(y);
    if (vars.empty()) throw InputError("the expression has no variables to check");
    // Finite differences evaluate the graph four times per element of every variable.
    constexpr std::int64_t max_elements = 10'000;
    std::int64_t elements = 0;
    for (const auto& v : vars) elements += v.shape().numel();
    if (elements > max_elements) {
        throw InputError(
            fmt::format("the variables have {} elements in all; check perturbs each one, so it takes at most {} "
                        "(use smaller shapes: a batch of a few rows checks the same formulas)",
                        elements, max_elements));
    }
    const auto [lo, hi] = parse_range(o.range, "--range");
    // Each perturbation evaluates the whole graph, gradients included: its memory and its size bound the run.
    std::vector<Expr> outputs{y};
    const auto grads = grad(y, vars);
    outputs.insert(outputs.end(), grads.begin(), grads.end());
    check_memory(outputs, o.memory_limit_gib, "checking this expression");
    double graph_elements = 0;
    const GraphIndex index = index_graph(outputs);
    for (std::size_t i = 0; i < index.size(); ++i) graph_elements += static_cast<double>(index.node(i)->shape().numel());
    constexpr double max_work = 4e9;  // element operations: about a minute at worst
    const double work = 8.0 * static_cast<double>(elements) * graph_elements;  // 4 points, both orders
    if (work > max_work) {
        throw InputError(
            fmt::format("check perturbs each of the {} elements of the variables and evaluates a graph of {:.3g} elements each "
                        "time ({:.2g} element operations, more than {:.2g}): use smaller shapes, a batch of a few rows checks "
                        "the same formulas",
                        elements, graph_elements, work, max_work));
    }
    Bindings at;
    std::uint64_t seed = o.seed * 1000;
    for (const auto& v : vars) at.emplace(v.node().attrs().name, Tensor::uniform(v.shape(), lo, hi, seed++));
    if (o.detect_anomaly) {
        if (auto anomaly = find_anomaly(y, vars, at)) throw AnomalyError(std::move(*anomaly));
    }
    // A gradient override differs from the differences of the value on purpose: there is nothing to compare.
    for (const Node* node : topo_order(std::span<const Expr>(&y, 1))) {
        const OpInfo& info = op_info(node->op());
        if (info.gradient_override.empty()) continue;
        throw InputError(fmt::format(
            "'{}' replaces the gradient on purpose ({}), so finite differences of the value cannot "
            "check it; check the surrogate or the expression without it{}",
            to_inline_string(handle(node), 80), info.description, o.detect_anomaly ? " (--detect-anomaly found no NaN or infinity)" : ""));
    }
    GradcheckOptions options;
    options.seed = o.seed;
    const auto first = gradcheck(y, vars, at, options);
    const auto second = gradgradcheck(y, vars, at, options);
    // Scalars' values are printed, so that the columns can be compared with `symgrad trace` or `symgrad grad` there.
    std::vector<std::string> point;
    for (const auto& v : vars) {
        if (v.rank() == 0) point.push_back(fmt::format("{} = {:.8g}", v.node().attrs().name, at.at(v.node().attrs().name).item()));
    }
    std::cout << fmt::format("checking {} at random points in [{}, {}] (seed {}){}\n\n", o.expression, lo, hi, o.seed,
                             point.empty() ? "" : fmt::format(": {}", fmt::join(point, ", ")));
    std::cout << to_string(first) << "\n\n" << to_string(second) << "\n";
    return first.passed && second.passed ? 0 : 1;
}

}  // namespace

Action add_check(CLI::App& app) {
    auto options = std::make_shared<CheckOptions>();
    CLI::App* sub = app.add_subcommand("check", "Check the first and second derivatives against finite differences (float64).");
    add_expression_argument(*sub, options->expression);
    add_shape_option(*sub, options->shapes);
    sub->add_option("--seed", options->seed, "Seed of the random points and projections")->check(whole_number(0, INT64_MAX));
    sub->add_option("--range", options->range, "Interval the random points are drawn from, LO:HI (default -2:2)");
    sub->add_option("--memory-limit", options->memory_limit_gib, "Refuse expressions whose evaluation needs more GiB than this (default 4)")
        ->check(positive_number());
    sub->add_flag("--detect-anomaly", options->detect_anomaly,
                  "First look for a NaN or infinity at the points: which subexpression or derivative rule made it (exit status 3)");
    sub->footer(
        "Example:\n  symgrad check 'x * sigmoid(beta * x)' --shape x=8,4 --shape beta=4\n"
        "Exit status 1 when a check fails, 3 when --detect-anomaly finds a NaN or infinity.");
    return [options] { return run_check(*options); };
}

}  // namespace symgrad::cli
