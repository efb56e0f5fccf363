// The expression language. A shunting-yard parser: one pass over the tokens with an operand stack and an
// operator stack, so nesting depth costs heap, never call stack.
#include "symgrad/parse.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <numbers>

#include "symgrad/activations.hpp"
#include "symgrad/autodiff.hpp"
#include "symgrad/detail/text.hpp"
#include "symgrad/print.hpp"

namespace symgrad {

ParseError::ParseError(std::string message, std::size_t line, std::size_t column, std::string report)
    : Error(std::move(report)), message_(std::move(message)), line_(line), column_(column) {}

namespace {

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

enum class TokenKind { number, identifier, op, lparen, rparen, comma, end };

struct Token {
    TokenKind kind;
    std::size_t offset;  // byte offset in the text
    std::size_t length;
    double number = 0.0;
};

// Text shown under an error, as one line with no terminal controls: each control character becomes a space (one
// column each, so a caret below still lines up; detail::excerpt escapes them instead, for text quoted inline).
std::string one_line(std::string_view text) {
    std::string line(text);
    for (char& c : line) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    }
    return line;
}

// Builds the error report: position, message, the offending line and a caret under the token.
[[noreturn]] void fail(std::string_view text, std::size_t offset, std::size_t length, const std::string& message) {
    offset = std::min(offset, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    const std::size_t line_end = std::min(text.find('\n', line_start), text.size());
    // Columns count characters, not bytes, so the caret stands under the token in a terminal.
    offset = detail::utf8_floor(text, offset);
    const std::size_t column = detail::utf8_columns(text.substr(line_start), offset - line_start) + 1;
    // Long lines are shown as a window around the spot, cut between characters (never inside one).
    constexpr std::size_t window = 60;
    const std::size_t shown_start = offset - line_start > window ? detail::utf8_ceil(text, offset - window) : line_start;
    const std::size_t shown_end = line_end > offset + window ? detail::utf8_floor(text, offset + window) : line_end;
    const std::string shown = one_line(text.substr(shown_start, shown_end - shown_start));
    const std::string prefix = shown_start > line_start ? "..." : "";
    const std::string suffix = shown_end < line_end ? "..." : "";
    const std::string_view shown_view(shown);
    const std::size_t caret_at = prefix.size() + detail::utf8_columns(shown_view, offset - shown_start);
    const std::size_t token_end = std::min(shown_end, offset + std::max<std::size_t>(length, 1));
    const std::size_t underline =
        std::max<std::size_t>(1, detail::utf8_columns(shown_view.substr(offset - shown_start), token_end - offset));
    std::string report = fmt::format("line {}, column {}: {}\n  {}{}{}\n  {}^{}", line, column, message, prefix, shown, suffix,
                                     std::string(caret_at, ' '), std::string(underline - 1, '~'));
    throw ParseError(message, line, column, std::move(report));
}

bool is_identifier_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::vector<Token> tokenize(std::string_view text) {
    std::vector<Token> tokens;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            ++i;
            continue;
        }
        const std::size_t start = i;
        if (is_digit(c) || (c == '.' && i + 1 < text.size() && is_digit(text[i + 1]))) {
            while (i < text.size() && is_digit(text[i])) ++i;
            if (i < text.size() && text[i] == '.') {
                ++i;
                while (i < text.size() && is_digit(text[i])) ++i;
            }
            if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
                std::size_t j = i + 1;
                if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
                if (j >= text.size() || !is_digit(text[j])) {
                    fail(text, start, j - start,
                         fmt::format("malformed number '{}': the exponent has no digits",
                                     detail::excerpt(text.substr(start, j - start), 40)));
                }
                while (j < text.size() && is_digit(text[j])) ++j;
                i = j;
            }
            double value = 0.0;
            const auto [end, error] = std::from_chars(text.data() + start, text.data() + i, value);
            if (error == std::errc::result_out_of_range) {
                // Underflow to zero is fine (1e-400 is 0); overflow is not a number anyone means. A literal has
                // no sign of its own, so a '-' in it is the exponent's: from_chars leaves value unset either way.
                const std::string_view literal = text.substr(start, i - start);
                if (literal.find('-') != std::string_view::npos) {
                    value = 0.0;
                } else {
                    fail(text, start, i - start,
                         fmt::format("number '{}' is too large for float64", detail::excerpt(text.substr(start, i - start), 40)));
                }
            } else if (error != std::errc() || end != text.data() + i) {
                fail(text, start, i - start, fmt::format("malformed number '{}'", detail::excerpt(text.substr(start, i - start), 40)));
            }
            tokens.push_back({TokenKind::number, start, i - start, value});
            continue;
        }
        if (is_identifier_start(c)) {
            while (i < text.size() && (is_identifier_start(text[i]) || is_digit(text[i]))) ++i;
            tokens.push_back({TokenKind::identifier, start, i - start});
            continue;
        }
        const std::string_view two = text.substr(i, 2);
        if (two == "<=" || two == ">=" || two == "==" || two == "!=") {
            tokens.push_back({TokenKind::op, start, 2});
            i += 2;
            continue;
        }
        switch (c) {
        case '+':
        case '-':
        case '*':
        case '/':
        case '^':
        case '<':
        case '>': tokens.push_back({TokenKind::op, start, 1}); break;
        case '(': tokens.push_back({TokenKind::lparen, start, 1}); break;
        case ')': tokens.push_back({TokenKind::rparen, start, 1}); break;
        case ',': tokens.push_back({TokenKind::comma, start, 1}); break;
        case '=': fail(text, start, 1, "'=' is not an operator here; for a comparison write '=='");
        case '!': fail(text, start, 1, "'!' is not an operator here; for a comparison write '!='");
        default: {
            const auto byte = static_cast<unsigned char>(c);
            if (byte >= 0x20 && byte < 0x7f) fail(text, start, 1, fmt::format("unexpected character '{}'", c));
            fail(text, start, 1, fmt::format("unexpected byte 0x{:02x}", byte));
        }
        }
        ++i;
    }
    tokens.push_back({TokenKind::end, text.size(), 0});
    return tokens;
}

// ---------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------

struct Argument {
    Expr expr;
    std::size_t offset;  // where the argument's text starts and ends, for messages
    std::size_t end;
    bool is_variable_name = false;
};

struct Call {
    std::string_view text;
    std::string_view name;
    std::size_t offset;  // of the function name
    std::vector<Argument>& args;
    std::size_t max_nodes;
};

using Builder = std::function<Expr(const Call& call)>;

struct Function {
    FunctionInfo info;
    Builder build;
};

std::string_view argument_text(std::string_view text, const Argument& a) { return text.substr(a.offset, a.end - a.offset); }

// An argument as an error message quotes it: bounded, cut between characters.
std::string quoted_argument(const Call& call, const Argument& a) { return detail::excerpt(argument_text(call.text, a)); }

// An argument that must be a whole number written as a constant (an axis, a dimension).
std::int64_t integer_argument(const Call& call, std::size_t index, const char* what) {
    const Argument& a = call.args[index];
    const Node& node = a.expr.node();
    const double value = node.is_scalar_constant() ? node.scalar_value() : 0.5;
    // Checked before the cast: casting NaN or a huge value to an integer is undefined (found by the fuzzer).
    constexpr double limit = 0x1p62;
    if (!node.is_scalar_constant() || !(std::fabs(value) < limit) || value != std::trunc(value)) {
        fail(call.text, a.offset, a.end - a.offset,
             fmt::format("{}'s {} must be a whole number, got '{}'", call.name, what, quoted_argument(call, a)));
    }
    return static_cast<std::int64_t>(value);
}

std::vector<Function> make_functions() {
    std::vector<Function> functions;
    auto add = [&](std::string name, std::size_t min_args, std::size_t max_args, std::string signature, std::string description,
                   Builder build) {
        functions.push_back({{std::move(name), min_args, max_args, std::move(signature), std::move(description)}, std::move(build)});
    };
    // Every elementwise primitive of the table, by its table name (max and min also by their short names).
    for (const OpInfo& row : op_table()) {
        if (row.kind != OpClass::elementwise) continue;
        const std::span<const std::string_view> operand_names(row.operands.data(), row.arity);
        const std::string signature = fmt::format("{}({})", row.name, fmt::join(operand_names, ", "));
        const std::string description(row.description);
        const Op op = row.op;
        auto build = [op](const Call& call) {
            std::vector<Expr> operands;
            for (const auto& a : call.args) operands.push_back(a.expr);
            return apply_exprs(op, operands);
        };
        add(std::string(row.name), row.arity, row.arity, signature, description, build);
        if (op == Op::maximum) add("max", 2, 2, "max(a, b)", "the larger of a and b (maximum)", build);
        if (op == Op::minimum) add("min", 2, 2, "min(a, b)", "the smaller of a and b (minimum)", build);
    }
    auto reduction = [](Op op) {
        return [op](const Call& call) {
            std::vector<std::int64_t> axes;
            for (std::size_t i = 1; i < call.args.size(); ++i) axes.push_back(integer_argument(call, i, "axis"));
            if (op == Op::amax) return amax(call.args[0].expr, axes);
            if (axes.empty()) return op == Op::sum ? sum(call.args[0].expr) : mean(call.args[0].expr);
            return op == Op::sum ? sum(call.args[0].expr, axes) : mean(call.args[0].expr, axes);
        };
    };
    constexpr std::size_t many = 64;
    add("sum", 1, many, "sum(e[, axis, ...])", "sum over the given axes (default: all)", reduction(Op::sum));
    add("mean", 1, many, "mean(e[, axis, ...])", "mean over the given axes (default: all)", reduction(Op::mean));
    add("amax", 1, many, "amax(e[, axis, ...])", "the largest element over the given axes (default: all)", reduction(Op::amax));
    add("reshape", 2, many, "reshape(e, d0, d1, ...)", "the same elements in another shape (one dimension may be -1)",
        [](const Call& call) {
            std::vector<std::int64_t> dims;
            for (std::size_t i = 1; i < call.args.size(); ++i) dims.push_back(integer_argument(call, i, "dimension"));
            return reshape(call.args[0].expr, dims);
        });
    add("transpose", 1, 1, "transpose(e)", "swap the last two axes", [](const Call& call) { return transpose(call.args[0].expr); });
    add("matmul", 2, 2, "matmul(a, b)", "matrix product (NumPy rules)",
        [](const Call& call) { return matmul(call.args[0].expr, call.args[1].expr); });
    add("diff", 2, 2, "diff(e, v)", "the gradient of sum(e) with respect to the variable v (v's shape)", [](const Call& call) {
        const Argument& v = call.args[1];
        if (!v.is_variable_name) {
            fail(call.text, v.offset, v.end - v.offset,
                 fmt::format("diff's second argument must be a variable name, got '{}'", quoted_argument(call, v)));
        }
        const Expr derivative = grad(call.args[0].expr, {v.expr})[0];
        const Expr roots[] = {derivative};
        const std::size_t nodes = index_graph(roots).size();
        if (nodes > call.max_nodes) {
            fail(call.text, call.offset, call.name.size(),
                 fmt::format("diff: the derivative has {} nodes, more than the limit of {} (each level of nested diff "
                             "roughly doubles the expression)",
                             nodes, call.max_nodes));
        }
        return derivative;
    });
    add("jvp", 3, 3, "jvp(e, v, t)", "the derivative of e along t: how e moves when the variable v moves by t (e's shape)",
        [](const Call& call) {
            const Argument& v = call.args[1];
            if (!v.is_variable_name) {
                fail(call.text, v.offset, v.end - v.offset,
                     fmt::format("jvp's second argument must be a variable name, got '{}'", quoted_argument(call, v)));
            }
            const Argument& t = call.args[2];
            if (!broadcastable_to(t.expr.shape(), v.expr.shape())) {
                fail(call.text, t.offset, t.end - t.offset,
                     fmt::format("jvp: the tangent '{}' has shape {}, which does not broadcast to the shape {} of '{}'",
                                 quoted_argument(call, t), t.expr.shape(), v.expr.shape(), quoted_argument(call, v)));
            }
            const Expr derivative = jvp(call.args[0].expr, v.expr, t.expr);
            const Expr roots[] = {derivative};
            const std::size_t nodes = index_graph(roots).size();
            if (nodes > call.max_nodes) {
                fail(call.text, call.offset, call.name.size(),
                     fmt::format("jvp: the derivative has {} nodes, more than the limit of {}", nodes, call.max_nodes));
            }
            return derivative;
        });
    // The activation zoo; an activation named like a primitive (relu, softplus) takes the primitive's place, since
    // it accepts the primitive's arguments and more (softplus(x, beta)).
    for (const ActivationInfo& activation : activation_catalog()) {
        std::erase_if(functions, [&](const Function& f) { return f.info.name == activation.name; });
        const ActivationInfo* entry = &activation;
        add(activation.name, activation.min_args, activation.max_args, activation.signature, activation.formula, [entry](const Call& call) {
            std::vector<Expr> args;
            for (const auto& a : call.args) args.push_back(a.expr);
            try {
                return entry->build(args);
            } catch (const ActivationArgumentError& error) {
                const Argument& a = call.args[std::min(error.argument(), call.args.size() - 1)];
                fail(call.text, a.offset, a.end - a.offset,
                     error.quote() ? fmt::format("{}, got '{}'", error.what(), quoted_argument(call, a)) : std::string(error.what()));
            }
        });
    }
    std::sort(functions.begin(), functions.end(), [](const Function& a, const Function& b) { return a.info.name < b.info.name; });
    return functions;
}

const std::vector<Function>& functions() {
    static const std::vector<Function> all = make_functions();
    return all;
}

const Function* find_function(std::string_view name) {
    for (const auto& f : functions()) {
        if (f.info.name == name) return &f;
    }
    return nullptr;
}

std::string suggestion(std::string_view name) {
    std::vector<std::string_view> names;
    for (const auto& f : functions()) names.push_back(f.info.name);
    const std::string best = detail::nearest_name(name, names);
    return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

// ---------------------------------------------------------------------------------------------
// The parser
// ---------------------------------------------------------------------------------------------

struct BinaryOp {
    std::string_view symbol;
    Op op;
    int precedence;
    bool right_assoc;
};

constexpr BinaryOp binary_ops[] = {
    {"<", Op::lt, 1, false},  {"<=", Op::le, 1, false}, {">", Op::gt, 1, false},  {">=", Op::ge, 1, false},
    {"==", Op::eq, 1, false}, {"!=", Op::ne, 1, false}, {"+", Op::add, 2, false}, {"-", Op::sub, 2, false},
    {"*", Op::mul, 3, false}, {"/", Op::div, 3, false}, {"^", Op::pow, 5, true},
};
constexpr int unary_minus_precedence = 4;

const BinaryOp& binary_op(std::string_view symbol) {
    for (const auto& b : binary_ops) {
        if (b.symbol == symbol) return b;
    }
    throw Error(fmt::format("internal: no operator '{}'", symbol));
}

enum class FrameKind { binary, negate, paren, call };

struct Frame {
    FrameKind kind;
    const Token* token;
    const BinaryOp* binary = nullptr;
    const Function* function = nullptr;
    std::size_t operand_base = 0;  // calls: the operand stack's size when the call began
};

class Parser {
public:
    Parser(std::string_view text, const ParseOptions& options) : text_(text), options_(options), tokens_(tokenize(text)) {}

    Expr run() {
        bool expect_operand = true;
        for (std::size_t k = 0; k < tokens_.size(); ++k) {
            const Token& token = tokens_[k];
            if (expect_operand) {
                expect_operand = operand_position(token, k);
            } else {
                expect_operand = operator_position(token);
            }
            if (token.kind == TokenKind::end) break;
        }
        if (operands_.size() != 1 || !frames_.empty()) throw Error("internal: the parser ended with a partial expression");
        check_diff_variables();
        return operands_.back().expr;
    }

    // The variables the text names, in order of first appearance (diff may have removed some from the graph).
    std::vector<std::string> named_variables() const {
        std::vector<std::string> names;
        for (const auto& [name, uses] : variable_order_) names.push_back(name);
        return names;
    }

private:
    std::string_view spelling(const Token& t) const { return text_.substr(t.offset, t.length); }

    [[noreturn]] void fail_at(const Token& t, const std::string& message) const { fail(text_, t.offset, t.length, message); }

    // Returns whether an operand is still expected after this token.
    bool operand_position(const Token& token, std::size_t k) {
        switch (token.kind) {
        case TokenKind::number: push_operand(constant(token.number, options_.dtype), token, false); return false;
        case TokenKind::identifier: {
            const std::string_view name = spelling(token);
            if (tokens_[k + 1].kind == TokenKind::lparen) {
                const Function* f = find_function(name);
                if (f == nullptr) fail_at(token, fmt::format("unknown function '{}'{}", detail::excerpt(name), suggestion(name)));
                frames_.push_back({FrameKind::call, &token, nullptr, f, operands_.size()});
                skip_next_ = true;  // the '(' belongs to the call
                return true;
            }
            const bool is_variable =
                std::find(std::begin(reserved_constants), std::end(reserved_constants), name) == std::end(reserved_constants);
            if (is_variable) note_variable(name);
            push_operand(variable(name), token, is_variable);
            return false;
        }
        case TokenKind::lparen:
            if (skip_next_) {
                skip_next_ = false;
                return true;
            }
            frames_.push_back({FrameKind::paren, &token});
            return true;
        case TokenKind::op: {
            const std::string_view symbol = spelling(token);
            if (symbol == "-") {
                frames_.push_back({FrameKind::negate, &token});
                return true;
            }
            if (symbol == "+") return true;  // unary plus: nothing to do
            if (symbol == "*" && last_was_star()) fail_at(token, "'**' is not an operator; write x ^ 2 for a power");
            fail_at(token, fmt::format("expected an operand before '{}'", symbol));
        }
        case TokenKind::rparen:
            // f() is a call with no arguments; anything else here lacks an operand.
            if (!frames_.empty() && frames_.back().kind == FrameKind::call && operands_.size() == frames_.back().operand_base &&
                tokens_[k - 1].kind == TokenKind::lparen) {
                finish_call(token);
                return false;
            }
            fail_at(token, "expected an operand before ')'");
        case TokenKind::comma: fail_at(token, "expected an argument before ','");
        case TokenKind::end:
            if (operands_.empty() && frames_.empty()) fail_at(token, "the expression is empty");
            fail_at(token, fmt::format("'{}' ends where an operand was expected", tail_text()));
        }
        return true;
    }

    bool operator_position(const Token& token) {
        switch (token.kind) {
        case TokenKind::op: {
            const BinaryOp& b = binary_op(spelling(token));
            reduce_while([&](const Frame& top) {
                const int p = top.kind == FrameKind::negate ? unary_minus_precedence : top.binary->precedence;
                return p > b.precedence || (p == b.precedence && !b.right_assoc);
            });
            frames_.push_back({FrameKind::binary, &token, &b});
            return true;
        }
        case TokenKind::rparen: {
            reduce_while([](const Frame&) { return true; });
            if (frames_.empty()) fail_at(token, "unmatched ')'");
            if (frames_.back().kind == FrameKind::paren) {
                frames_.pop_back();
            } else {
                finish_call(token);
            }
            return false;
        }
        case TokenKind::comma:
            reduce_while([](const Frame&) { return true; });
            if (frames_.empty() || frames_.back().kind != FrameKind::call) {
                fail_at(token, "',' outside the parentheses of a function call");
            }
            return true;
        case TokenKind::end:
            reduce_while([](const Frame&) { return true; });
            if (!frames_.empty()) {
                const Frame& open = frames_.back();
                fail_at(*open.token,
                        open.kind == FrameKind::call ? fmt::format("the call of '{}' is never closed with ')'", spelling(*open.token))
                                                     : std::string("this '(' is never closed"));
            }
            return false;
        case TokenKind::number:
        case TokenKind::identifier:
        case TokenKind::lparen:
            fail_at(token, fmt::format("missing operator before '{}' (write '*' to multiply)", detail::excerpt(spelling(token))));
        }
        return false;
    }

    // Applies operators from the top of the stack while `more` says so (and they are operators).
    template <class More> void reduce_while(More&& more) {
        while (!frames_.empty() && (frames_.back().kind == FrameKind::binary || frames_.back().kind == FrameKind::negate) &&
               more(frames_.back())) {
            const Frame frame = frames_.back();
            frames_.pop_back();
            if (frame.kind == FrameKind::negate) {
                Argument x = pop_operand();
                x.offset = std::min(x.offset, frame.token->offset);
                push_built(*frame.token, x.offset, x.end, [&] { return -x.expr; });
            } else {
                Argument rhs = pop_operand();
                Argument lhs = pop_operand();
                const Expr operands[] = {lhs.expr, rhs.expr};
                push_built(*frame.token, lhs.offset, rhs.end, [&] { return apply_exprs(frame.binary->op, operands); });
            }
        }
    }

    void finish_call(const Token& close) {
        const Frame frame = frames_.back();
        frames_.pop_back();
        std::vector<Argument> args(operands_.begin() + static_cast<std::ptrdiff_t>(frame.operand_base), operands_.end());
        operands_.resize(frame.operand_base);
        const FunctionInfo& info = frame.function->info;
        if (args.size() < info.min_args || args.size() > info.max_args) {
            const std::string expected = info.min_args == info.max_args
                ? fmt::format("{} argument{}", info.min_args, info.min_args == 1 ? "" : "s")
                : args.size() < info.min_args ? fmt::format("at least {} argument{}", info.min_args, info.min_args == 1 ? "" : "s")
                                              : fmt::format("at most {} arguments", info.max_args);
            fail_at(*frame.token, fmt::format("{} takes {}, got {} ({})", info.name, expected, args.size(), info.signature));
        }
        if ((info.name == "diff" || info.name == "jvp") && args.size() > 1 && args[1].is_variable_name) {
            diff_variables_.push_back({std::string(argument_text(text_, args[1])), args[1].offset, args[1].end, info.name});
        }
        const Call call{text_, spelling(*frame.token), frame.token->offset, args, options_.max_nodes};
        push_built(*frame.token, frame.token->offset, close.offset + 1, [&] { return frame.function->build(call); });
    }

    // Builds with f(); a build error (shapes, dtypes) becomes a parse error pointing at `at`.
    template <class F> void push_built(const Token& at, std::size_t begin, std::size_t end, F&& f) {
        Expr e;
        try {
            e = f();
        } catch (const ParseError&) {
            throw;
        } catch (const Error& error) {
            fail_at(at, error.what());
        }
        operands_.push_back({std::move(e), begin, end, false});
    }

    void push_operand(Expr e, const Token& token, bool is_variable) {
        operands_.push_back({std::move(e), token.offset, token.offset + token.length, is_variable});
    }

    Argument pop_operand() {
        Argument a = std::move(operands_.back());
        operands_.pop_back();
        return a;
    }

    Expr variable(std::string_view name) const {
        if (name == "pi") return constant(std::numbers::pi, options_.dtype);
        if (name == "inf") return constant(std::numeric_limits<double>::infinity(), options_.dtype);
        if (name == "nan") return constant(std::numeric_limits<double>::quiet_NaN(), options_.dtype);
        const auto found = options_.shapes.find(name);
        return var(std::string(name), found != options_.shapes.end() ? found->second : Shape{}, options_.dtype);
    }

    bool last_was_star() const {
        return !frames_.empty() && frames_.back().kind == FrameKind::binary && spelling(*frames_.back().token) == "*";
    }

    // The end of the text, for "'x * ' ends where ...".
    std::string tail_text() const {
        constexpr std::size_t shown = 40;
        const std::size_t start = text_.size() > shown ? detail::utf8_ceil(text_, text_.size() - shown) : 0;
        const std::string tail = one_line(text_.substr(start));
        return start > 0 ? "..." + tail : tail;
    }

    void note_variable(std::string_view name) {
        for (auto& [known, uses] : variable_order_) {
            if (known == name) {
                ++uses;
                return;
            }
        }
        variable_order_.emplace_back(std::string(name), 1);
    }

    // diff(e, z) (or jvp(e, z, t)) with a z that the text names nowhere else is 0 everywhere: most likely a misspelt name, and a
    // silent 0 is the worst answer to a typo. (A z that appears elsewhere may still be absent from e: then 0 is
    // what the user asked for, as in diff(diff(x * y, x), x).)
    void check_diff_variables() const {
        for (const DiffVariable& d : diff_variables_) {
            std::size_t as_diff = 0;
            for (const DiffVariable& other : diff_variables_) as_diff += other.name == d.name ? 1 : 0;
            std::size_t uses = 0;
            std::vector<std::string> others;
            for (const auto& [name, count] : variable_order_) {
                if (name == d.name) uses = count;
                if (name != d.name) others.push_back(name);
            }
            if (uses <= as_diff) {
                fail(text_, d.offset, d.end - d.offset,
                     fmt::format("{}: '{}' appears nowhere else in the expression, so the derivative with respect to it is 0 "
                                 "everywhere (a misspelt name?); the other variables: {}",
                                 d.function, d.name, others.empty() ? "none" : fmt::format("{}", fmt::join(others, ", "))));
            }
        }
    }

    struct DiffVariable {
        std::string name;
        std::size_t offset;
        std::size_t end;
        std::string function;  // diff or jvp
    };

    std::string_view text_;
    const ParseOptions& options_;
    std::vector<std::pair<std::string, std::size_t>> variable_order_;  // name, times named
    std::vector<DiffVariable> diff_variables_;
    std::vector<Token> tokens_;
    std::vector<Argument> operands_;
    std::vector<Frame> frames_;
    bool skip_next_ = false;
};

}  // namespace

Expr parse(std::string_view text, const ParseOptions& options) { return Parser(text, options).run(); }

Expr parse(std::string_view text, const ParseOptions& options, std::vector<std::string>& named_variables) {
    Parser parser(text, options);
    Expr e = parser.run();
    named_variables = parser.named_variables();
    return e;
}

const std::vector<FunctionInfo>& language_functions() {
    static const std::vector<FunctionInfo> infos = [] {
        std::vector<FunctionInfo> result;
        for (const auto& f : functions()) result.push_back(f.info);
        return result;
    }();
    return infos;
}

}  // namespace symgrad
