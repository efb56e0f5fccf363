// symgrad grad EXPR [--wrt v,...] [--latex] [--shape v=dims ...]: the derivatives, readable.
#include <iostream>

#include "common.hpp"

namespace symgrad::cli {

namespace {

struct GradOptions {
    std::string expression;
    std::string wrt;
    bool latex = false;
    bool raw = false;
    Shapes shapes;
};

int run_grad(const GradOptions& o) {
    const Expr y = parse_with_shapes(o.expression, o.shapes);
    const auto all = variables_of(y);
    std::vector<Expr> wrt;
    if (o.wrt.empty()) {
        wrt = all;
    } else {
        reject_repeated_names(split(o.wrt, ','), "--wrt");
        for (const auto& name : split(o.wrt, ',')) {
            const Expr* found = find_variable(all, name);
            if (found == nullptr) {
                std::vector<std::string> names;
                for (const auto& v : all) names.push_back(v.node().attrs().name);
                throw InputError(fmt::format("--wrt: '{}' is not a variable of the expression (its variables: {})", name,
                                             names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
            }
            wrt.push_back(*found);
        }
    }
    if (wrt.empty()) throw InputError("the expression has no variables to differentiate with respect to");
    const auto raw = grad(y, wrt);
    const auto grads = o.raw ? raw : simplify(raw);
    std::vector<std::string> names;
    for (const auto& v : wrt) {
        const std::string& name = v.node().attrs().name;
        names.push_back(o.latex ? fmt::format("\\frac{{\\partial y}}{{\\partial {}}}", latex_name(name)) : "d" + name);
    }
    std::cout << (o.latex ? to_latex(grads, names) : to_string(grads, names)) << "\n";
    return 0;
}

}  // namespace

Action add_grad(CLI::App& app) {
    auto options = std::make_shared<GradOptions>();
    CLI::App* sub = app.add_subcommand("grad", "Print the derivatives of an expression (of sum(y), for tensors).");
    add_expression_argument(*sub, options->expression);
    sub->add_option("--wrt", options->wrt, "Variables to differentiate with respect to, comma-separated (default: all)");
    sub->add_flag("--latex", options->latex, "Print LaTeX instead of text");
    sub->add_flag("--raw", options->raw, "Print the gradient as the reverse sweep builds it, unsimplified (for teaching)");
    add_shape_option(*sub, options->shapes);
    // The output below is the real one (test_cli runs the example and compares).
    sub->footer(
        "Example (a subexpression used twice is printed once, as a let):\n  symgrad grad 'x * sigmoid(beta * x)' --wrt beta\n"
        "  let t1 = sigmoid(beta * x)\n  dbeta = x * (x * (t1 * (1 - t1)))");
    return [options] { return run_grad(*options); };
}

}  // namespace symgrad::cli
