// What both exporters need: the expression and its gradients as scalar (elementwise) graphs, checked, and a way to
// write a set of expressions as straight-line code in a target language.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "symgrad/export.hpp"

namespace symgrad::detail {

struct ExportPlan {
    Expr x;  // the input, a float64 scalar variable
    std::vector<nn::ParamSpec> params;  // in the order of the options, each a variable of y
    std::vector<Expr> param_vars;
    Expr y;  // the activation of scalars: what one element computes
    Expr grad_output;  // the adjoint of y, a variable named "grad_output"
    std::vector<Expr> grads;  // simplified: grad_output * dy/dx, then grad_output * dy/dp per parameter
    std::string formula;  // y printed
    std::string gradient_formulas;  // the gradients printed with let bindings: "let t1 = ...\ndx = ..."
};

// Parses and differentiates; throws ExportError (not elementwise, parameters without specs or specs without
// parameters, the input missing) or ParseError.
ExportPlan make_export_plan(std::string_view expression, const ExportOptions& options);

// Straight-line code for some roots: each node used more than once (or too long to inline) gets a temporary, the
// rest is written inline; no recursion over the graph.
struct Spelling {
    std::string text;
    int precedence = atom;  // of its outermost operator: how tightly it binds
    static constexpr int sum = 1;  // a + b, a - b
    static constexpr int product = 2;  // a * b, a / b
    static constexpr int unary = 3;  // -a
    static constexpr int conditional = 0;  // c ? a : b (C++)
    static constexpr int atom = 10;  // names, numbers, calls
};
struct StraightLine {
    std::vector<std::pair<std::string, std::string>> temporaries;  // name, definition, in order
    std::vector<std::string> results;  // one per root
};
// leaf: a variable's or constant's text; op: a node's text from its operands' spellings.
StraightLine straight_line(std::span<const Expr> roots, const std::string& temporary_prefix,
                           const std::function<std::string(const Node&)>& leaf,
                           const std::function<Spelling(const Node&, std::span<const Spelling>)>& op);

// An operand of an operator of the given precedence, in parentheses where it binds more loosely (or as tightly, on
// the right: the evaluation order is kept exactly).
std::string operand(const Spelling& s, int precedence, bool right_operand = false);
// a SYMBOL b, with the parentheses it needs.
Spelling infix(const Spelling& a, std::string_view symbol, const Spelling& b);

// a^n, n from 2 to 8, as the product symgrad computes (power<n> in src/math/ops_kernels.hpp), in C++ or Python.
Spelling power_product(const Spelling& a, int n);

// Throws ExportError unless name is an identifier of the target language ("Python", "C++") that is not one of
// the names the generated file (file: "Python file", "C++ header") uses itself. `what` says whose name it is.
void check_identifier(const std::string& name, const char* what, std::string_view language, std::string_view file,
                      std::span<const std::string_view> reserved);

// Each line of text behind the prefix (a comment block).
std::string comment_lines(const std::string& text, const std::string& prefix);

// Shortest round-trip decimal text of a double ("0.5", "1", "1e-300"); not for inf or NaN.
std::string number_text(double value);

}  // namespace symgrad::detail
