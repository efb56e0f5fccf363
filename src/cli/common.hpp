// Helpers shared by the subcommands of the symgrad executable.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include <symgrad/detail/text.hpp>
#include <symgrad/symgrad.hpp>

namespace symgrad::cli {

// Bad input from the user (usage, expression, shape, file): the program exits with status 2.
class InputError : public Error {
public:
    using Error::Error;
};

// User text as an error message quotes it: at most about 60 bytes, cut between UTF-8 characters, on one line.
inline std::string shown(std::string_view text) { return detail::excerpt(text); }

// What a subcommand does once its arguments are parsed; returns the exit status.
using Action = std::function<int()>;

// Each subcommand file adds its subcommand to the app and returns what running it means.
Action add_grad(CLI::App& app);
Action add_check(CLI::App& app);
Action add_graph(CLI::App& app);
Action add_eval(CLI::App& app);
Action add_trace(CLI::App& app);
Action add_lesson(CLI::App& app);
Action add_plot(CLI::App& app);
Action add_bench(CLI::App& app);
Action add_train(CLI::App& app);
Action add_predict(CLI::App& app);
Action add_list(CLI::App& app);
Action add_export(CLI::App& app);
Action add_kernel(CLI::App& app);
Action add_cache(CLI::App& app);

// Variables' shapes by name.
using Shapes = std::map<std::string, Shape, std::less<>>;

// "x=5,4" -> x: [5, 4]; "a=" -> a: [] (a scalar). Repeatable.
Shapes parse_shape_specs(const std::vector<std::string>& specs);

// Parses an expression typed by the user; errors come back as InputError with the caret report.
// named_variables, when given, receives the names the text uses (see symgrad::parse).
Expr parse_user_expression(const std::string& text, const Shapes& shapes, DType dtype = DType::float64,
                           std::vector<std::string>* named_variables = nullptr);

// parse_user_expression with the shapes of --shape; a shape for a name that is no variable of the expression is
// an error (a typo would otherwise leave that variable a scalar without a word).
Expr parse_with_shapes(const std::string& text, const Shapes& shapes, DType dtype = DType::float64);

// The options that several subcommands share, each declared here once: its name, help text and check, and the
// typed value it fills. A value that cannot be read is an InputError thrown while the command line is parsed, so
// its message reads like every other ("symgrad: error: ..."), and the subcommand only ever sees good values.

// The expression, the subcommand's positional argument "expr" (required). `description` says more where the
// subcommand takes only some expressions.
CLI::Option* add_expression_argument(CLI::App& sub, std::string& text,
                                     const std::string& description = "The expression, e.g. 'x * sigmoid(beta * x)'");

// --at NAME=VALUE or NAME=V1,V2,... (repeatable; bindings_from reads them): a variable's value (trace, lesson).
CLI::Option* add_at_option(CLI::App& sub, std::vector<std::string>& at);
// --shape NAME=D0,D1,... (repeatable): the variables' shapes (default: scalars), read by parse_shape_specs.
CLI::Option* add_shape_option(CLI::App& sub, Shapes& shapes);

// One --param NAME=POLICY:INIT (an activation parameter's shape policy and initial value) as typed, for messages
// and the command line an export records, and as read.
struct ParamOption {
    std::string text;
    nn::ParamSpec spec;
};

// --param NAME=POLICY:INIT (repeatable, each name once): the parameters of an activation (train, export).
CLI::Option* add_param_spec_option(CLI::App& sub, std::vector<ParamOption>& params);

// "float32" -> DType::float32, "float64" -> DType::float64 (what dtype_name writes); anything else: nullopt.
std::optional<DType> dtype_named(std::string_view name);

// --dtype float32|float64 (default: whatever dtype holds, float32 in every subcommand that has it); any other
// name is an error.
CLI::Option* add_dtype_option(CLI::App& sub, DType& dtype);

// --threads N: 0 (one per hardware thread) to symgrad::max_threads, checked by thread_count (default: whatever
// threads holds, 1 in every subcommand that has it).
CLI::Option* add_threads_option(CLI::App& sub, std::size_t& threads);

// An expression's two programs as a training step runs them: forward (y) and backward (the gradient of every
// variable given an output gradient, the variable output_gradient_name), simplified together (bench, kernel).
struct ForwardBackward {
    Expr y;
    std::vector<Expr> variables;
    std::vector<Expr> forward;
    std::vector<Expr> backward;
};
inline constexpr const char* output_gradient_name = "\x01" "dy";  // a name no expression can spell (shown as dy)
ForwardBackward forward_backward(const std::string& expression, const Shapes& shapes, DType dtype);

// The variables of e, in order of first appearance.
std::vector<Expr> variables_of(const Expr& e);

// The variable called name among vars, or nullptr.
const Expr* find_variable(const std::vector<Expr>& vars, std::string_view name);

// Splits "a,b,,c" at commas (keeping empty pieces).
std::vector<std::string> split(std::string_view text, char separator);

// A number written by the user, for `what` (named in the error message).
double parse_number(std::string_view text, std::string_view what);

// "LO:HI" for `flag`, with LO < HI, both finite.
std::pair<double, double> parse_range(const std::string& spec, std::string_view flag);

// "NAME=V1,V2,..." for `flag`: the name and its numbers.
std::pair<std::string, std::vector<double>> parse_named_values(const std::string& spec, std::string_view flag);

// "NAME=REST" for `flag`: the name (not empty) and the rest.
std::pair<std::string, std::string> split_assignment(const std::string& spec, std::string_view flag);

// Writes to stdout when path is "" or "-" (a failed write is an error), else to the file as checkpoints are
// written (symgrad::io::write_file): a failed write leaves the old file intact.
void write_output(const std::string& path, std::string_view content);

// A --threads count, checked: 0 (one per hardware thread) to symgrad::max_threads; returns the count to pass on
// (0 stays 0).
std::size_t thread_count(std::int64_t requested);

// One rule for repeated options, everywhere: a name given twice (--at x=1 --at x=2, --param beta twice,
// --wrt x,x) is an error, never "the last one wins". `hint` says how to give several values, if there is a way.
void reject_repeated_names(const std::vector<std::string>& names, std::string_view flag, std::string_view hint = "");

// Validators with plain messages (CLI11's own print ranges of 309 digits): a finite number > 0, and a whole
// number from lo to hi.
CLI::Validator positive_number();
CLI::Validator whole_number(std::int64_t lo, std::int64_t hi);

// Refuses, before anything is allocated, outputs whose evaluation would hold more than limit_gib at once
// (intermediate values included); the message names `what` and --memory-limit.
void check_memory(std::span<const Expr> outputs, double limit_gib, std::string_view what);

// Refuses, before any work, an output path that cannot be written: a directory, a missing directory, or one
// without write permission. `flag` names the option in the message.
void check_output_path(const std::string& path, std::string_view flag);

// The values of --at NAME=V or NAME=V1,V2,... (with --shape), one per variable of the expression: every variable
// needs one, and a name given twice, one the expression lacks, or a count that is not the shape's is an error.
Bindings bindings_from(const std::vector<std::string>& specs, const std::vector<Expr>& vars);

// Graphviz's dot run on DOT text with -T format (svg, png), within a time limit: what it printed. InputError when
// dot is not installed (with the Debian package to install), fails, or takes too long.
std::string render_with_dot(const std::string& dot_text, const std::string& format);

}  // namespace symgrad::cli
