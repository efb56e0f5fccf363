#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::message_of;

TEST_CASE("binding errors name the variable, its shape and dtype, and what was given", "[evaluate]") {
    const Expr x = var("x", {5, 4});
    const Expr beta = var("beta", {4});
    const Expr y = x * beta;
    CHECK(message_of([&] {
              evaluate(y, {{"x", Tensor::zeros({5, 4})}});
          }) == "no value is bound to variable 'beta' (shape [4], float64); bound: x");
    CHECK(message_of([&] { evaluate(y, {}); }).find("bound: nothing") != std::string::npos);
    CHECK(message_of([&] {
              evaluate(y, {{"x", Tensor::zeros({3, 4})}, {"beta", Tensor::zeros({4})}});
          }) == "variable 'x' has shape [5, 4] but the value bound to it has shape [3, 4]");
    CHECK(message_of([&] {
              evaluate(y, {{"x", Tensor::zeros({5, 4}, DType::float32)}, {"beta", Tensor::zeros({4})}});
          }) == "variable 'x' is float64 but the value bound to it is float32 (convert it with astype)");
    CHECK_THROWS_AS(evaluate(y, {}), BindingError);
    CHECK(message_of([&] { evaluate(Expr(), {}); }).find("empty") != std::string::npos);
}

TEST_CASE("elementwise ops broadcast in float32 and float64", "[evaluate]") {
    for (DType dtype : {DType::float32, DType::float64}) {
        const Expr x = var("x", {2, 3}, dtype);
        const Expr b = var("b", {3}, dtype);
        const Expr c = var("c", {2, 1}, dtype);
        const Tensor value = evaluate(x * b + c,
                                      {{"x", Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6}, dtype)},
                                       {"b", Tensor::from_values({3}, {1, 0.5, 2}, dtype)},
                                       {"c", Tensor::from_values({2, 1}, {10, 20}, dtype)}});
        CHECK(value.dtype() == dtype);
        CHECK(value.to_vector() == std::vector<double>{11, 11, 16, 24, 22.5, 32});
    }
    // float32 arithmetic rounds to float at each step.
    const Expr a = var("a", {}, DType::float32);
    CHECK(evaluate(a + 1e-8, {{"a", Tensor::scalar(1.0, DType::float32)}}).item() == 1.0);
    CHECK(evaluate(var("a64", {}) + 1e-8, {{"a64", Tensor::scalar(1.0)}}).item() == 1.0 + 1e-8);
}

TEST_CASE("structural ops compute what they promise", "[evaluate]") {
    const Expr m = var("m", {2, 3});
    const Bindings at = {{"m", Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6})}};
    CHECK(evaluate(sum(m), at).item() == 21);
    CHECK(evaluate(sum(m, {0}), at).to_vector() == std::vector<double>{5, 7, 9});
    CHECK(evaluate(sum(m, {1}, true), at).shape() == Shape{2, 1});
    CHECK(evaluate(sum(m, {1}, true), at).to_vector() == std::vector<double>{6, 15});
    CHECK(evaluate(mean(m, {-1}), at).to_vector() == std::vector<double>{2, 5});
    CHECK(evaluate(mean(m), at).item() == 3.5);
    CHECK(evaluate(reshape(m, {3, 2}), at).at({2, 1}) == 6);
    CHECK(evaluate(transpose(m), at).to_vector() == std::vector<double>{1, 4, 2, 5, 3, 6});
    CHECK(evaluate(broadcast_to(sum(m, {0}), {2, 3}), at).to_vector() == std::vector<double>{5, 7, 9, 5, 7, 9});
    const Expr v = var("v", {3});
    const Bindings with_v = {{"m", at.at("m")}, {"v", Tensor::from_values({3}, {1, 0, -1})}};
    CHECK(evaluate(matmul(m, v), with_v).to_vector() == std::vector<double>{-2, -2});
    CHECK(evaluate(matmul(v, transpose(m)), with_v).to_vector() == std::vector<double>{-2, -2});
    CHECK(evaluate(matmul(v, v), with_v).item() == 2);
    CHECK(evaluate(matmul(m, transpose(m)), at).to_vector() == std::vector<double>{14, 32, 32, 77});
    const Expr p = var("p", {2, 3, 4});
    Tensor pv = Tensor::uniform({2, 3, 4}, -1, 1, 3);
    const Tensor permuted = evaluate(permute(p, {2, 0, 1}), {{"p", pv}});
    CHECK(permuted.shape() == Shape{4, 2, 3});
    CHECK(permuted.at({3, 1, 2}) == pv.at({1, 2, 3}));
}

TEST_CASE("batched matmul broadcasts batch axes", "[evaluate]") {
    const Expr a = var("a", {2, 1, 2, 3});
    const Expr b = var("b", {4, 3, 2});
    const Expr c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 4, 2, 2});
    const Tensor av = Tensor::uniform({2, 1, 2, 3}, -1, 1, 1);
    const Tensor bv = Tensor::uniform({4, 3, 2}, -1, 1, 2);
    const Tensor cv = evaluate(c, {{"a", av}, {"b", bv}});
    for (std::int64_t i = 0; i < 2; ++i) {
        for (std::int64_t j = 0; j < 4; ++j) {
            for (std::int64_t r = 0; r < 2; ++r) {
                for (std::int64_t s = 0; s < 2; ++s) {
                    double expected = 0;
                    for (std::int64_t k = 0; k < 3; ++k) expected += av.at({i, 0, r, k}) * bv.at({j, k, s});
                    CHECK(cv.at({i, j, r, s}) == Approx(expected).epsilon(1e-14));
                }
            }
        }
    }
}

TEST_CASE("empty tensors evaluate; the mean of nothing is NaN", "[evaluate]") {
    const Expr e = var("e", {0, 3});
    const Bindings at = {{"e", Tensor::zeros({0, 3})}};
    CHECK(evaluate(exp(e), at).numel() == 0);
    CHECK(evaluate(sum(e, {0}), at).to_vector() == std::vector<double>{0, 0, 0});
    CHECK(std::isnan(evaluate(mean(e, {0}), at).get(0)));
}

TEST_CASE("evaluate_all keeps every node's value; constants are owned by the graph", "[evaluate]") {
    const Expr x = var("x", {});
    const Expr s = sin(x);
    const Expr y = s * s;
    const Expr roots[] = {y};
    const auto values = evaluate_all(roots, {{"x", Tensor::scalar(0.5)}});
    CHECK(values.size() == 3);
    CHECK(values.at(s.get()).item() == std::sin(0.5));
    Tensor data = Tensor::from_values({2}, {1, 2});
    const Expr c = constant(data);
    data.set(0, 100);
    CHECK(evaluate(c, {}).to_vector() == std::vector<double>{1, 2});
}

TEST_CASE("evaluation_peak_bytes follows the evaluator's release schedule", "[evaluate]") {
    const Expr col = var("col", {1000, 1});
    const Expr row = var("row", {1, 1000});
    // col (8 kB) and row (8 kB) are live while their product (8 MB) is made; then they go, and so does the
    // product once the sum (8 bytes) is made.
    const Expr total[] = {sum(col * row)};
    CHECK(evaluation_peak_bytes(total) == 8000.0 + 8000.0 + 8'000'000.0);
    // A chain releases as it goes: never more than two links at once.
    const Expr x = var("x", {1000});
    Expr y = x;
    for (int i = 0; i < 100; ++i) y = sin(y);
    const Expr chain[] = {y};
    CHECK(evaluation_peak_bytes(chain) == 2 * 8000.0);
    const Expr single[] = {var("f", {10}, DType::float32)};
    CHECK(evaluation_peak_bytes(single) == 40.0);
}
