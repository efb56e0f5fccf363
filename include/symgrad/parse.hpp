// The expression language: text -> Expr.
//
//   expr  := numbers (2, 0.5, 1e-3), identifiers (variables), calls f(a, b), parentheses, and the operators,
//            loosest to tightest:  < <= > >= == !=   then  + -   then  * /   then unary -   then ^ (right-assoc)
//   -x^2 is -(x^2); 2^-x is 2^(-x). diff(e, v) is the gradient of sum(e) with respect to the variable v, which
//   must appear elsewhere in the text (diff(x, z) alone is an error: z is most likely misspelt).
//
// The parser keeps explicit stacks, never recursion, so any nesting depth parses (memory permitting).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "symgrad/ops.hpp"

namespace symgrad {

// A parse error, or a build error (shapes, dtypes) found while parsing, with where it happened.
// what() is the whole report: "line L, column C: message", then the line and a caret under the spot.
class ParseError : public Error {
public:
    ParseError(std::string message, std::size_t line, std::size_t column, std::string report);
    const std::string& message() const { return message_; }
    std::size_t line() const { return line_; }
    std::size_t column() const { return column_; }

private:
    std::string message_;
    std::size_t line_;
    std::size_t column_;
};

struct ParseOptions {
    // Shapes of variables; a variable not listed is a scalar (shape []).
    std::map<std::string, Shape, std::less<>> shapes;
    DType dtype = DType::float64;
    // diff() is the one construct whose result can be much larger than its text (each level of nested
    // diff roughly doubles the graph): a diff whose graph would pass this many nodes is an error.
    std::size_t max_nodes = 1'000'000;
};

Expr parse(std::string_view text, const ParseOptions& options = {});

// The same, and the names of the variables the text names, in order of first appearance: a variable that a
// diff() removed from the graph (diff(x * y, y) is x) is still one the user wrote.
Expr parse(std::string_view text, const ParseOptions& options, std::vector<std::string>& named_variables);

// A function of the language: its name, how many arguments it takes, and what it means.
struct FunctionInfo {
    std::string name;
    std::size_t min_args;
    std::size_t max_args;
    std::string signature;  // e.g. "clamp(x, lo, hi)"
    std::string description;  // one line
};

// Every function the language knows, sorted by name.
const std::vector<FunctionInfo>& language_functions();

// Names that are constants rather than variables.
inline constexpr std::string_view reserved_constants[] = {"pi", "inf", "nan"};

}  // namespace symgrad
