#include <pthread.h>

#include <functional>

#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::message_of;

namespace {

Expr p(std::string_view text) {
    ParseOptions options;
    options.shapes["x"] = Shape{5, 4};
    options.shapes["beta"] = Shape{4};
    return parse(text, options);
}

std::string error_of(std::string_view text) {
    return message_of([&] { p(text); });
}

}  // namespace

TEST_CASE("the language builds the same graph as the C++ builders", "[parse]") {
    const Expr x = var("x", {5, 4});
    const Expr beta = var("beta", {4});
    const Expr a = var("a", {});
    CHECK(p("x * sigmoid(beta * x)") == x * sigmoid(beta * x));
    CHECK(p("-x^2") == -pow(x, 2));
    CHECK(p("2 ^ 3 ^ a") == pow(constant(2.0), pow(constant(3.0), a)));  // right-associative (3^a first)
    CHECK(p("2^-a") == pow(constant(2.0), -a));
    CHECK(p("a - a - 1") == (a - a) - 1);
    CHECK(p("a * 2 + 1 < 3") == lt(a * 2 + 1, 3));
    CHECK(p("-a * 2") == (-a) * 2);
    CHECK(p("+a") == a);
    CHECK(p("max(x, 0) + min(x, 0)") == maximum(x, 0) + minimum(x, 0));
    CHECK(p("where(x > 0, x, a * x)") == where(x > 0, x, a * x));
    CHECK(p("clamp(x, -1, 1)") == clamp(x, -1, 1));
    CHECK(p("sum(x)") == sum(x));
    CHECK(p("sum(x, 0)") == sum(x, {0}));
    CHECK(p("mean(x, -1)") == mean(x, {-1}));
    CHECK(p("reshape(x, 2, -1)") == reshape(x, {2, 10}));
    CHECK(p("matmul(transpose(x), x)") == matmul(transpose(x), x));
    CHECK(p("a == 1") == eq(a, 1));
    CHECK(p("a != 1") == ne(a, 1));
    CHECK(p("a <= 1") == le(a, 1));
    CHECK(p("a >= 1") == ge(a, 1));
    CHECK(p("log1p(a) + expm1(a) + erf(a) + softplus(a) + sign(a) + abs(a) + relu(a)") ==
          log1p(a) + expm1(a) + erf(a) + softplus(a) + sign(a) + abs(a) + relu(a));
}

TEST_CASE("numbers, constants and whitespace", "[parse]") {
    CHECK(p("2").node().scalar_value() == 2);
    CHECK(p("0.5").node().scalar_value() == 0.5);
    CHECK(p(".5").node().scalar_value() == 0.5);
    CHECK(p("1e-3").node().scalar_value() == 1e-3);
    CHECK(p("2.5E+2").node().scalar_value() == 250);
    CHECK(p("1e-999").node().scalar_value() == 0);
    CHECK(p("pi").node().scalar_value() == Approx(3.141592653589793));
    CHECK(std::isinf(p("inf").node().scalar_value()));
    CHECK(std::isnan(p("nan").node().scalar_value()));
    CHECK(p("  a\n*\tb ") == var("a", {}) * var("b", {}));
    ParseOptions single;
    single.dtype = DType::float32;
    CHECK(parse("a * 0.1", single).dtype() == DType::float32);
}

TEST_CASE("diff is the gradient of sum(e), with v's shape, and nests", "[parse]") {
    const Expr a = var("a", {});
    const Expr x = var("x", {5, 4});
    CHECK(p("diff(tanh(a * x), x)") == grad(tanh(a * x), {x})[0]);
    CHECK(p("diff(tanh(a * x), a)").shape() == Shape{});
    const Expr second = p("diff(diff(tanh(a*x), x), x)");
    CHECK(second == grad(grad(tanh(a * x), {x})[0], {x})[0]);
    const Tensor value = evaluate(parse("diff(diff(tanh(a*x), x), x)"), {{"a", Tensor::scalar(2)}, {"x", Tensor::scalar(0.3)}});
    const double t = std::tanh(0.6);
    CHECK(value.item() == Approx(-8 * t * (1 - t * t)).epsilon(1e-12));
}

TEST_CASE("jvp is the directional derivative, of e's shape, and nests with diff", "[parse]") {
    const Expr a = var("a", {});
    const Expr x = var("x", {5, 4});
    const Expr beta = var("beta", {4});
    CHECK(p("jvp(tanh(a * x), x, beta)") == jvp(tanh(a * x), x, beta));
    CHECK(p("jvp(tanh(a * x), a, 1)").shape() == Shape{5, 4});
    // forward over reverse: the Hessian-vector product
    const Tensor value = evaluate(parse("jvp(diff(x^3, x), x, 2)"), {{"x", Tensor::scalar(0.5)}});
    CHECK(value.item() == Approx(6.0).epsilon(1e-15));  // 6 x * 2
    CHECK(error_of("jvp(x*x, 2*x, 1)").starts_with("line 1, column 10: jvp's second argument must be a variable name, got '2*x'"));
    CHECK(error_of("jvp(x*x, y, 1)").starts_with("line 1, column 10: jvp: 'y' appears nowhere else in the expression"));
    CHECK(error_of("jvp(x, x, beta)").empty());  // [4] broadcasts to [5, 4]
    CHECK(error_of("jvp(x, x, reshape(beta, 4, 1))").starts_with("line 1, column 11: jvp: the tangent 'reshape(beta, 4, 1)' has shape [4, 1]"));
}

TEST_CASE("errors name the problem and point at it", "[parse]") {
    CHECK(error_of("x * sigmoidd(beta * x)") ==
          "line 1, column 5: unknown function 'sigmoidd' (did you mean 'sigmoid'?)\n  x * sigmoidd(beta * x)\n      ^~~~~~~~");
    CHECK(error_of("x * ") == "line 1, column 5: 'x * ' ends where an operand was expected\n  x * \n      ^");
    CHECK(error_of("sigmoid(x, beta)") == "line 1, column 1: sigmoid takes 1 argument, got 2 (sigmoid(x))\n  sigmoid(x, beta)\n  ^~~~~~~");
    CHECK(error_of("x * beta2") == "");  // a new scalar variable: fine
    CHECK(error_of("x * gamma + matmul(x, x)")
              .starts_with("line 1, column 13: matmul: the inner dimensions of [5, 4] and [5, 4] differ (4 vs 5) in 'x @ x'"));
    CHECK(error_of("x * var(beta)").starts_with("line 1, column 5: unknown function 'var'"));
    CHECK(error_of("(1 + 2") == "line 1, column 1: this '(' is never closed\n  (1 + 2\n  ^");
    CHECK(error_of("exp(1 + 2").starts_with("line 1, column 1: the call of 'exp' is never closed with ')'"));
    CHECK(error_of("1 + 2)").starts_with("line 1, column 6: unmatched ')'"));
    CHECK(error_of("2 x").starts_with("line 1, column 3: missing operator before 'x' (write '*' to multiply)"));
    CHECK(error_of("x ** 2").starts_with("line 1, column 4: '**' is not an operator; write x ^ 2 for a power"));
    CHECK(error_of("").starts_with("line 1, column 1: the expression is empty"));
    CHECK(error_of("   ").starts_with("line 1, column 4: the expression is empty"));
    CHECK(error_of("f()") == "line 1, column 1: unknown function 'f'\n  f()\n  ^");
    CHECK(error_of("sigmoid()").starts_with("line 1, column 1: sigmoid takes 1 argument, got 0"));
    CHECK(error_of("sum(x, 0.5)").starts_with("line 1, column 8: sum's axis must be a whole number, got '0.5'"));
    CHECK(error_of("reshape(0, 2222, nan-1)").starts_with("line 1, column 18: reshape's dimension must be a whole number, got 'nan-1'"));
    CHECK(error_of("sum(x, 1e300)").starts_with("line 1, column 8: sum's axis must be a whole number, got '1e300'"));
    CHECK(error_of("sum(x, 2)").starts_with("line 1, column 1: sum: axis 2 is out of range for rank 2"));
    CHECK(error_of("diff(x*x, 2*x)").starts_with("line 1, column 11: diff's second argument must be a variable name, got '2*x'"));
    CHECK(error_of("diff(x, pi)").starts_with("line 1, column 9: diff's second argument must be a variable name, got 'pi'"));
    CHECK(error_of("1e999").starts_with("line 1, column 1: number '1e999' is too large for float64"));
    CHECK(error_of("1e+").starts_with("line 1, column 1: malformed number '1e+': the exponent has no digits"));
    CHECK(error_of("a = b").starts_with("line 1, column 3: '=' is not an operator here; for a comparison write '=='"));
    CHECK(error_of("a ! b").starts_with("line 1, column 3: '!' is not an operator here"));
    CHECK(error_of("a $ b").starts_with("line 1, column 3: unexpected character '$'"));
    CHECK(error_of("a \x01 b").starts_with("line 1, column 3: unexpected byte 0x01"));
    CHECK(error_of("(a, b)").starts_with("line 1, column 3: ',' outside the parentheses of a function call"));
    CHECK(error_of("max(a,, b)").starts_with("line 1, column 7: expected an argument before ','"));
    CHECK(error_of("max(a, )").starts_with("line 1, column 8: expected an operand before ')'"));
    CHECK(error_of("()").starts_with("line 1, column 2: expected an operand before ')'"));
    CHECK(error_of("* a").starts_with("line 1, column 1: expected an operand before '*'"));
}

TEST_CASE("errors on later lines give the line and show it", "[parse]") {
    CHECK(error_of("x *\n  sigmoidd(x)") ==
          "line 2, column 3: unknown function 'sigmoidd' (did you mean 'sigmoid'?)\n    sigmoidd(x)\n    ^~~~~~~~");
    const std::string long_line = std::string(200, ' ') + "x * $";
    const std::string report = error_of(long_line);
    CHECK(report.starts_with("line 1, column 205: unexpected character '$'"));
    CHECK(report.find("...") != std::string::npos);
}

TEST_CASE("shape errors found while parsing point at the operator", "[parse]") {
    ParseOptions options;
    options.shapes["x"] = Shape{5, 4};
    options.shapes["beta"] = Shape{3};
    const std::string report = message_of([&] { parse("x * beta", options); });
    CHECK(report == "line 1, column 3: mul: cannot broadcast [5, 4] with [3] in 'x * beta'\n  x * beta\n    ^");
    try {
        parse("x * beta", options);
    } catch (const ParseError& e) {
        CHECK(e.line() == 1);
        CHECK(e.column() == 3);
        CHECK(e.message() == "mul: cannot broadcast [5, 4] with [3] in 'x * beta'");
    }
}

TEST_CASE("deep nesting parses without recursion, on an 8 MiB stack", "[parse]") {
    bool done = false;
    std::function<void()> work = [&] {
        constexpr int depth = 100'000;
        const std::string parens = std::string(depth, '(') + "a + 1" + std::string(depth, ')');
        CHECK(parse(parens) == var("a", {}) + 1);
        std::string negations;
        for (int i = 0; i < depth; ++i) negations += "-";
        negations += "a";
        const Expr e = parse(negations);
        CHECK(e.op() == Op::neg);  // a chain of 100,000 neg nodes, which evaluates to a
        CHECK(evaluate(e, {{"a", Tensor::scalar(1.5)}}).item() == 1.5);
        std::string calls;
        for (int i = 0; i < depth; ++i) calls += "sin(";
        calls += "a" + std::string(depth, ')');
        CHECK(parse(calls).op() == Op::sin);
        std::string sum_chain = "a";
        for (int i = 0; i < depth; ++i) sum_chain += " + a";
        CHECK(parse(sum_chain).op() == Op::add);
        const std::string powers = [] {
            std::string s = "a";
            for (int i = 0; i < depth; ++i) s += "^a";
            return s;
        }();
        CHECK(parse(powers).op() == Op::pow);
        CHECK(message_of([&] { parse(std::string(depth, '(') + "a"); }).find("never closed") != std::string::npos);
        done = true;
    };
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 8 << 20);
    pthread_t thread;
    REQUIRE(pthread_create(
                &thread, &attr,
                [](void* f) -> void* {
                    (*static_cast<std::function<void()>*>(f))();
                    return nullptr;
                },
                &work) == 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
    CHECK(done);
}

TEST_CASE("nested diff cannot grow past the node limit", "[parse][slow]") {
    std::string text = "x * tanh(softplus(x))";
    for (int i = 0; i < 30; ++i) text = "diff(" + text + ", x)";
    ParseOptions options;
    options.max_nodes = 50'000;
    const std::string report = message_of([&] { parse(text, options); });
    CHECK(report.find("diff: the derivative has") != std::string::npos);
    CHECK(report.find("more than the limit of 50000 (each level of nested diff roughly doubles the expression)") != std::string::npos);
    // The default limit stops 30 levels (about 10^11 nodes) long before memory runs out.
    CHECK(message_of([&] { parse(text); }).find("more than the limit of 1000000") != std::string::npos);
}

TEST_CASE("printed expressions parse back to the same graph", "[parse]") {
    for (const char* text : {"x * sigmoid(beta * x)", "-x ^ 2", "(-x) ^ 2", "a - (b - c)", "a / (b * c)", "2 ^ (-a)",
                             "where(x > 0, x, 0.5 * x)", "max(a, 0) + min(a, b)", "(a < b) * a", "a * -2", "clamp(x, -1, 1)"}) {
        INFO(text);
        const Expr e = p(text);
        CHECK(p(to_inline_string(e, 10'000)) == e);
    }
}

TEST_CASE("the function list covers the table and describes each function", "[parse]") {
    const auto& functions = language_functions();
    for (const OpInfo& row : op_table()) {
        if (row.kind != OpClass::elementwise) continue;
        CHECK(std::any_of(functions.begin(), functions.end(), [&](const FunctionInfo& f) { return f.name == row.name; }));
    }
    for (const auto& f : functions) {
        INFO(f.name);
        CHECK(!f.signature.empty());
        CHECK(!f.description.empty());
    }
}
