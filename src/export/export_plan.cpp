#include "export/export_plan.hpp"

#include <algorithm>
#include <cctype>

#include "symgrad/autodiff.hpp"
#include "symgrad/parse.hpp"
#include "symgrad/print.hpp"
#include "symgrad/simplify.hpp"

#include "nn/param_specs.hpp"

namespace symgrad::detail {

ExportPlan make_export_plan(std::string_view expression, const ExportOptions& options) {
    auto require_elementwise = [&](const Expr& e) {
        const Expr roots[] = {e};
        const GraphIndex index = index_graph(roots);
        for (std::size_t i = 0; i < index.size(); ++i) {
            const Node& node = *index.node(i);
            if (op_info(node.op()).kind == OpClass::structural) {
                throw ExportError(
                    fmt::format("export writes elementwise activations, and '{}' uses {}, which works across elements "
                                "(sums, matrix products, reshapes)",
                                expression, op_info(node.op()).name));
            }
        }
    };
    // First as a batch of vectors, where an axis-taking function (softmax) parses: its reduction is the error to give.
    ParseOptions as_batch;
    as_batch.shapes[options.input] = Shape{2, 3};
    try {
        require_elementwise(parse(expression, as_batch));
    } catch (const ParseError&) {
        // shapes that do not fit a batch of vectors; the scalar parse below reports what is wrong
    }
    ExportPlan plan;
    // Every variable a float64 scalar: the expression of one element, whatever the tensors' shapes will be.
    plan.y = parse(expression);
    require_elementwise(plan.y);
    const nn::SpecMatch match = nn::match_specs(plan.y, options.input, options.params);
    if (!match.input_used) throw ExportError(fmt::format("'{}' does not use the input '{}'", expression, options.input));
    if (!match.variables_without_spec.empty()) {
        const std::string& name = match.variables_without_spec.front();
        throw ExportError(
            fmt::format("'{}' is a variable of the expression but has no --param (e.g. --param {}=per-unit:1.0 or "
                        "--param {}=shared:0.5)",
                        name, name, name));
    }
    const auto& misplaced = match.specs_without_variable;
    for (const auto& spec : options.params) {
        if (spec.name == options.input) throw ExportError(fmt::format("'{}' is the input, not a parameter", spec.name));
        if (std::find(misplaced.begin(), misplaced.end(), spec.name) != misplaced.end()) {
            throw ExportError(fmt::format("--param {}: '{}' has no variable '{}'", spec.name, expression, spec.name));
        }
        if (std::count_if(options.params.begin(), options.params.end(), [&](const nn::ParamSpec& p) { return p.name == spec.name; }) > 1) {
            throw ExportError(fmt::format("--param {} is given twice", spec.name));
        }
        plan.params.push_back(spec);
        plan.param_vars.push_back(var(spec.name));
    }
    plan.x = var(options.input);
    // No variable is called grad_output: both exporters refuse that name for the input and the parameters.
    plan.grad_output = var("grad_output");
    std::vector<Expr> wrt{plan.x};
    wrt.insert(wrt.end(), plan.param_vars.begin(), plan.param_vars.end());
    plan.grads = simplify(grad(plan.y, wrt, plan.grad_output));  // together: shared parts stay shared
    plan.formula = to_inline_string(plan.y, 4000);  // one line, for comments and docstrings
    std::vector<std::string> names;
    for (const Expr& w : wrt) names.push_back("d" + w.node().attrs().name);
    plan.gradient_formulas = to_string(plan.grads, names);
    return plan;
}

std::string operand(const Spelling& s, int precedence, bool right_operand) {
    const bool parens = s.precedence < precedence || (right_operand && s.precedence == precedence);
    return parens ? "(" + s.text + ")" : s.text;
}

Spelling infix(const Spelling& a, std::string_view symbol, const Spelling& b) {
    const int precedence = symbol == "+" || symbol == "-" ? Spelling::sum : Spelling::product;
    // Both languages group a + b + c as (a + b) + c. A right operand of the same precedence keeps its parentheses
    // even for + and *: floating-point addition and multiplication do not associate, and the order is symgrad's.
    return {fmt::format("{} {} {}", operand(a, precedence), symbol, operand(b, precedence, true)), precedence};
}

Spelling power_product(const Spelling& a, int n) {
    const auto times = [](const Spelling& x, const Spelling& y) { return infix(x, "*", y); };
    switch (n) {
    case 2: return times(a, a);
    case 3: return times(times(a, a), a);
    case 4: return times(times(a, a), times(a, a));
    case 5: return times(power_product(a, 4), a);
    case 6: return times(power_product(a, 4), times(a, a));
    case 7: return times(power_product(a, 4), power_product(a, 3));
    case 8: return times(power_product(a, 4), power_product(a, 4));
    default: throw ExportError(fmt::format("no product for the power {}", n));
    }
}

void check_identifier(const std::string& name, const char* what, std::string_view language, std::string_view file,
                      std::span<const std::string_view> reserved) {
    const bool identifier = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
        std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    if (!identifier) throw ExportError(fmt::format("{} '{}' is not a {} identifier", what, name, language));
    if (std::find(reserved.begin(), reserved.end(), name) != reserved.end()) {
        throw ExportError(fmt::format("{} '{}' is a name the generated {} uses itself; rename it", what, name, file));
    }
}

std::string comment_lines(const std::string& text, const std::string& prefix) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        out += fmt::format("{}{}\n", prefix, std::string_view(text).substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string number_text(double value) { return fmt::format("{}", value); }

StraightLine straight_line(std::span<const Expr> roots, const std::string& temporary_prefix,
                           const std::function<std::string(const Node&)>& leaf,
                           const std::function<Spelling(const Node&, std::span<const Spelling>)>& op) {
    const GraphIndex index = index_graph(roots);
    std::vector<std::uint32_t> uses(index.size(), 0);
    for (std::size_t i = 0; i < index.size(); ++i) {
        for (auto operand_position : index.operands(i)) ++uses[operand_position];
    }
    for (const auto& root : roots) ++uses[index.position(root.get())];  // a root used elsewhere too gets a name
    constexpr std::size_t longest_inline = 80;
    StraightLine code;
    std::vector<Spelling> spelled(index.size());
    std::size_t counter = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if (node.is_leaf()) {
            spelled[i] = {leaf(node), Spelling::atom};
            continue;
        }
        std::vector<Spelling> operands;
        for (auto operand_position : index.operands(i)) operands.push_back(spelled[operand_position]);
        Spelling s = op(node, operands);
        if (uses[i] >= 2 || s.text.size() > longest_inline) {
            std::string name = fmt::format("{}{}", temporary_prefix, ++counter);
            code.temporaries.emplace_back(name, s.text);
            s = {std::move(name), Spelling::atom};
        }
        spelled[i] = std::move(s);
    }
    for (const auto& root : roots) code.results.push_back(spelled[index.position(root.get())].text);
    return code;
}

}  // namespace symgrad::detail
