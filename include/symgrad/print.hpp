// Printers: infix text and LaTeX (rendered from the table's print forms), and Graphviz DOT.
// None of them recurses over the graph.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "symgrad/ops.hpp"

namespace symgrad {

// Infix text with minimal parentheses. Non-leaf subexpressions used more than once are printed once,
// as `let t1 = ...` lines before the expression, so a gradient reads like a hand derivation.
std::string to_string(const Expr& e);
// Several named outputs sharing one set of let bindings:  let t1 = ...  /  dx = ...  /  dbeta = ...
std::string to_string(std::span<const Expr> outputs, std::span<const std::string> names);
// One line, no let bindings, cut at max_chars with "..." (for error messages and labels).
std::string to_inline_string(const Expr& e, std::size_t max_chars = 200);

// LaTeX (math mode). Shared subexpressions become t_{1}, t_{2}, ... in an aligned block.
std::string to_latex(const Expr& e);
std::string to_latex(std::span<const Expr> outputs, std::span<const std::string> names);
// A variable name in LaTeX: beta -> \beta, p1 -> p_{1}, lr -> \mathrm{lr}.
std::string latex_name(std::string_view name);

// How op would print applied to operands, without building the node (used in build errors).
std::string describe_call(Op op, std::span<const Expr> operands, const Attrs& attrs, std::size_t max_chars = 200);

struct DotOptions {
    // Names shown on the output nodes (same order as the outputs), optional.
    std::vector<std::string> output_names;
    // Values to show on nodes ("data ..."), e.g. from evaluate_all(); nodes not in the map show none.
    const std::unordered_map<const Node*, Tensor>* values = nullptr;
    // Adjoints to show on nodes ("grad ...": the gradient of the output's sum with respect to the node), as
    // micrograd draws data | grad; nodes not in the map show none.
    const std::unordered_map<const Node*, Tensor>* adjoints = nullptr;
    // Fill colour per node ("" for the default); lets a caller tell forward and backward nodes apart.
    std::function<std::string(const Node&)> fill_color;
};

// A value as a drawing shows it: up to 6 elements in full (4 significant digits, nested brackets: [[1, 2], [3, 4]]),
// more as their range ("min -1.5, max 2"); "nan" for NaN.
std::string to_short_string(const Tensor& value);

// Graphviz DOT through Boost.Graph's write_graphviz: one vertex per node, labelled with its op (or
// variable name / constant value) and shape; edges run from operand to user, numbered when order matters.
std::string to_dot(std::span<const Expr> outputs, const DotOptions& options = {});

}  // namespace symgrad

template <> struct fmt::formatter<symgrad::Expr> : fmt::formatter<std::string_view> {
    template <class Ctx> auto format(const symgrad::Expr& e, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(symgrad::to_string(e), ctx);
    }
};
