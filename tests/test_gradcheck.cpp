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
    CHECK(table.starts_with("gradcheck (first order, float64)\nvariable"));
    CHECK(table.find("x            [3, 2]") != std::string::npos);
    CHECK(table.ends_with("PASS"));
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
