#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::message_of;

TEST_CASE("gradcheck passes a correct gradient and prints a table", "[gradcheck]") {
    const Expr x = var("x", {3, 2});
    const Expr w = var("w", {2});
    const Expr wrt[] = {x, w};
    const auto report = gradcheck(tanh(x * w) * x, wrt, {{"x", Tensor::uniform({3, 2}, -1, 1, 1)}, {"w", Tensor::uniform({2}, -1, 1, 2)}});
    CHECK(report.passed);
    REQUIRE(report.entries.size() == 2);
    CHECK(report.entries[0].variable == "x");
    CHECK(report.entries[1].shape == Shape{2});
    CHECK(report.max_rel_error < 1e-9);
    const std::string table = to_string(report);
    CHECK(table.starts_with("gradcheck (first order, float64)\n(the columns are d/dv of sum(r * y) for a random r of y's shape [3, 2] "
                            "(N(0, 1), seed 0): a random projection of y's Jacobian"));
    CHECK(table.find(")\nvariable") != std::string::npos);
    CHECK(table.find("x            [3, 2]") != std::string::npos);
    CHECK(table.ends_with("PASS"));
}

TEST_CASE("gradcheck says what its columns are, so they can be related to grad()", "[gradcheck]") {
    const Expr x = var("x");
    const Expr wrt[] = {x};
    const Bindings at = {{"x", Tensor::scalar(0.5)}};
    const auto projected = gradcheck(x * x * x, wrt, at);
    // A scalar's projection is one random number r; the columns are r times grad()'s 3 x^2 = 0.75.
    const double r = Tensor::normal({}, 0.0, 1.0, 0, DType::float64).item();
    CHECK(projected.compared == fmt::format("the columns are d/dv of r * y for a random r = {:.8g} (seed 0): the derivative grad() gives, "
                                            "times r",
                                            r));
    CHECK(projected.entries[0].analytic == Approx(0.75 * r).epsilon(1e-12));
    GradcheckOptions plain;
    plain.random_projection = false;
    const auto unprojected = gradcheck(x * x * x, wrt, at, plain);
    CHECK(unprojected.compared == "the columns are the gradient of sum(y), as grad() gives it");
    CHECK(unprojected.entries[0].analytic == Approx(0.75).epsilon(1e-12));
    CHECK(gradgradcheck(x * x * x, wrt, at).compared.ends_with("a random projection of the Hessian"));
}

TEST_CASE("gradcheck reports the worst element, its index and both values", "[gradcheck]") {
    // relu at exactly 0: the symbolic derivative is 0 (PyTorch's convention), the difference quotient 1/2.
    const Expr x = var("x", {2, 2});
    const Expr wrt[] = {x};
    GradcheckOptions plain;
    plain.random_projection = false;
    const auto report = gradcheck(relu(x), wrt, {{"x", Tensor::from_values({2, 2}, {1, -1, 0, 2})}}, plain);
    CHECK_FALSE(report.passed);
    const auto& entry = report.entries[0];
    CHECK_FALSE(entry.passed);
    CHECK(entry.worst_index == std::vector<std::int64_t>{1, 0});
    CHECK(entry.analytic == 0);
    CHECK(entry.numeric == Approx(0.5).epsilon(1e-9));
    CHECK(to_string(report).ends_with("FAIL"));
}

TEST_CASE("gradcheck fails on NaN, never passes it", "[gradcheck]") {
    const Expr x = var("x", {1});
    const Expr wrt[] = {x};
    const auto report = gradcheck(sqrt(x), wrt, {{"x", Tensor::from_values({1}, {0})}});
    CHECK_FALSE(report.passed);
}

TEST_CASE("gradcheck checks float32 graphs in float64", "[gradcheck]") {
    const Expr x = var("x", {4}, DType::float32);
    const Expr wrt[] = {x};
    const auto report = gradcheck(sigmoid(x) * x, wrt, {{"x", Tensor::uniform({4}, -2, 2, 5, DType::float32)}});
    CHECK(report.passed);
    CHECK(report.max_rel_error < 1e-9);
}

TEST_CASE("gradgradcheck checks second derivatives", "[gradcheck]") {
    const Expr x = var("x", {3});
    const Expr a = var("a", {});
    const Expr wrt[] = {x, a};
    const Bindings at = {{"x", Tensor::uniform({3}, -1, 1, 3)}, {"a", Tensor::scalar(0.7)}};
    const auto report = gradgradcheck(softplus(a * x) * erf(x), wrt, at);
    INFO(to_string(report));
    CHECK(report.passed);
    CHECK(report.order == "second order");
}

TEST_CASE("gradcheck perturbs variables only, and says so", "[gradcheck]") {
    const Expr x = var("x", {3});
    const Expr wrt[] = {x * 2.0};
    CHECK(message_of([&] {
              gradcheck(x, wrt, {{"x", Tensor::zeros({3})}});
          }) == "gradcheck: it perturbs variables, and 'x * 2' is not a variable");
}

TEST_CASE("anomaly mode names the subexpression or the derivative rule that made the first NaN or infinity", "[anomaly]") {
    const Expr x = var("x", {3});
    const Expr y = x * sqrt(x - 1);
    const Expr wrt[] = {x};
    // Forward: sqrt of a negative number at element 1.
    const Bindings negative = {{"x", Tensor::from_values({3}, {2, 0, 3})}};
    const auto forward = find_anomaly(y, wrt, negative);
    REQUIRE(forward.has_value());
    CHECK(forward->pass == "forward");
    CHECK(forward->expression == "sqrt(x - 1)");
    CHECK(forward->index == std::vector<std::int64_t>{1});
    CHECK(std::isnan(forward->value));
    CHECK(forward->operands == std::vector<std::pair<std::string, double>>{{"x - 1", -1.0}});
    CHECK(forward->path == std::vector<std::string>{"x", "x - 1", "sqrt(x - 1)"});
    // Backward: the value is finite at x = 1, its derivative 1 / (2 sqrt(0)) is not; the rule is named.
    const Bindings kink = {{"x", Tensor::from_values({3}, {2, 1, 3})}};
    const auto backward = find_anomaly(y, wrt, kink);
    REQUIRE(backward.has_value());
    CHECK(backward->pass == "backward");
    CHECK(backward->rule == "d/du sqrt(u) = 1 / (2 * sqrt(u)) where u = x - 1");
    CHECK(backward->rule_of == "sqrt(x - 1)");
    CHECK(backward->value == INFINITY);
    CHECK(backward->index == std::vector<std::int64_t>{1});
    CHECK(backward->message().starts_with("backward pass: x / (2 * sqrt(x - 1)) made inf at element [1] of its shape [3], in the gradient of sqrt(x - 1) by the rule d/du sqrt(u) = 1 / (2 * sqrt(u)) where u = x - 1.\nThere, x = 1, 2 * sqrt(x - 1) = 0, x - 1 = 0, the adjoint = 1.\nFrom the inputs: x  ->  x - 1  ->  sqrt(x - 1)  ->  [backward] x / (2 * sqrt(x - 1))."));
    // Nothing to report: all finite, or every NaN came from the inputs.
    CHECK(!find_anomaly(y, wrt, {{"x", Tensor::from_values({3}, {2, 1.5, 3})}}).has_value());
    CHECK(!find_anomaly(x * 2, wrt, {{"x", Tensor::from_values({3}, {NAN, INFINITY, 3})}}).has_value());
    // The engine's check: nothing when finite, an AnomalyError from the reference evaluator otherwise.
    const Expr outputs[] = {y, grad(y, wrt)[0]};
    const Program program = compile(outputs);
    RunOptions check;
    check.detect_anomaly = true;
    CHECK(program.run({{"x", Tensor::from_values({3}, {2, 1.5, 3})}}, check).size() == 2);
    try {
        program.run(kink, check);
        FAIL("no AnomalyError");
    } catch (const AnomalyError& error) {
        CHECK(error.anomaly().pass == "evaluation");
        CHECK(error.anomaly().index == std::vector<std::int64_t>{1});
        CHECK(std::string(error.what()).starts_with("anomaly: evaluation pass: x / (2 * sqrt(x - 1)) made inf at element [1]"));
    }
    CHECK_THROWS_AS(evaluate(outputs, negative, check), AnomalyError);
    CHECK_NOTHROW(evaluate(outputs, negative));  // (without the option, NaN is a value like any other)
    // A structural node: a sum that overflows from finite operands.
    const Expr big = var("big", {2});
    const auto overflow = find_anomaly(sum(big) * 1, std::span<const Expr>(&big, 1), {{"big", Tensor::from_values({2}, {1e308, 1e308})}});
    REQUIRE(overflow.has_value());
    CHECK(overflow->expression == "sum(big)");
    CHECK(overflow->operands.empty());
    CHECK(overflow->message().find("Its operands hold only finite values.") != std::string::npos);
}
