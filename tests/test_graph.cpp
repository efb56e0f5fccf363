#include <thread>

#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::message_of;

TEST_CASE("building the same subexpression twice yields the same node", "[graph]") {
    const Expr x = var("x", {4, 3});
    const Expr beta = var("beta", {3});
    const Expr a = x * sigmoid(beta * x);
    const Expr b = x * sigmoid(beta * x);
    CHECK(a == b);
    CHECK(a.get() == b.get());
    CHECK(var("x", {4, 3}) == x);
    CHECK_FALSE(var("x", {4}) == x);  // another shape: another variable
    CHECK_FALSE(var("x", {4, 3}, DType::float32) == x);  // another dtype too
    CHECK_FALSE(x * beta == beta * x);  // operand order is part of the node
    CHECK(constant(2.0) == constant(2.0));
    CHECK_FALSE(constant(0.0) == constant(-0.0));  // constants compare by bits
    CHECK(sum(x, {0}) == sum(x, {-2}));  // axes are normalized first
    CHECK_FALSE(sum(x, {0}) == sum(x, {0}, true));
}

TEST_CASE("nodes die with their last handle and leave the intern table", "[graph]") {
    const std::size_t before = live_node_count();
    {
        const Expr x = var("unique_name_for_this_test", {2});
        const Expr y = exp(x) + sin(x) * x;
        CHECK(live_node_count() >= before + 5);
    }
    CHECK(live_node_count() == before);
}

TEST_CASE("hash-consing is safe across threads", "[graph]") {
    std::vector<Expr> results(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < results.size(); ++t) {
        threads.emplace_back([&results, t] {
            Expr e = var("threaded", {3});
            for (int i = 0; i < 2000; ++i) e = tanh(e) * 0.5 + var("threaded", {3});
            results[t] = e;
        });
    }
    for (auto& th : threads) th.join();
    for (const auto& r : results) CHECK(r == results[0]);
}

TEST_CASE("operators take plain numbers on either side, in the expression's dtype", "[graph]") {
    const Expr x = var("x", {3}, DType::float32);
    const Expr y = 2.0 * x + 1;
    CHECK(y.dtype() == DType::float32);
    CHECK(y.op() == Op::add);
    CHECK(y.node().input(1).node().is_scalar_constant());
    CHECK(y.node().input(1).dtype() == DType::float32);
    CHECK((x - 1).op() == Op::sub);
    CHECK((1 / x).op() == Op::div);
    CHECK((-x).op() == Op::neg);
    CHECK((x < 0).op() == Op::lt);
    CHECK((x <= 0).op() == Op::le);
    CHECK((0 > x).op() == Op::gt);
    CHECK((x >= x).op() == Op::ge);
    CHECK(eq(x, 1).op() == Op::eq);
    // Every arithmetic type works as a number.
    CHECK((x * 2L).node().input(1).node().scalar_value() == 2);
    CHECK((x * 0.5f).node().input(1).node().scalar_value() == 0.5);
    CHECK((x + 3u).node().input(1).node().scalar_value() == 3);
    CHECK(ne(x, 1).op() == Op::ne);
}

TEST_CASE("operations on scalar constants fold when built", "[graph]") {
    const Expr c = constant(2.0) * 3 + 1;
    REQUIRE(c.node().is_scalar_constant());
    CHECK(c.node().scalar_value() == 7);
    const Expr f = sqrt(constant(2.0, DType::float32));
    CHECK(f.dtype() == DType::float32);
    CHECK(f.node().scalar_value() == static_cast<double>(std::sqrt(2.0f)));
    // A tensor constant does not fold: it stays an operation on a constant.
    CHECK((constant(Tensor::ones({2})) * 2).op() == Op::mul);
}

TEST_CASE("shape errors name the operation, both shapes and the expression", "[graph]") {
    const Expr x = var("x", {5, 4});
    const Expr beta = var("beta", {3});
    CHECK(message_of([&] { x* beta; }) == "mul: cannot broadcast [5, 4] with [3] in 'x * beta'");
    CHECK(message_of([&] { where(x > 0, x, beta); }) == "where: cannot broadcast [5, 4] with [3] in 'where(x > 0, x, beta)'");
    CHECK(message_of([&] { matmul(x, x); }) == "matmul: the inner dimensions of [5, 4] and [5, 4] differ (4 vs 5) in 'x @ x'");
    CHECK(message_of([&] { sum(x, {2}); }) == "sum: axis 2 is out of range for rank 2 (operand shape [5, 4]) in 'x'");
    CHECK(message_of([&] { sum(x, {0, -2}); }).find("name an axis twice") != std::string::npos);
    CHECK(message_of([&] {
              reshape(x, {3, 7});
          }) == "reshape: cannot reshape [5, 4] (20 elements) to [3, 7] (21 elements) in 'reshape(x, [3, 7])'");
    CHECK(message_of([&] { reshape(x, {3, -1}); }).find("cannot reshape [5, 4] (20 elements) to [3, -1]") != std::string::npos);
    CHECK(message_of([&] { reshape(x, {-1, -1}); }).find("at most one dimension") != std::string::npos);
    CHECK(message_of([&] { permute(x, {0, 0}); }) == "permute: [0, 0] is not a permutation of the 2 axes of [5, 4] in 'x'");
    CHECK(message_of([&] {
              broadcast_to(beta, {5, 4});
          }) == "broadcast_to: cannot broadcast [3] to [5, 4] in 'broadcast_to(beta, [5, 4])'");
    CHECK(message_of([&] { transpose(beta); }).find("transpose needs rank 2 or more, got shape [3]") != std::string::npos);
    CHECK(message_of([&] { matmul(constant(1.0), x); }).find("rank 1 or more") != std::string::npos);
    CHECK(message_of([] { var("", {}); }) == "a variable needs a name");
}

TEST_CASE("dtype mismatches are errors that name both dtypes", "[graph]") {
    const Expr a = var("a", {3}, DType::float32);
    const Expr b = var("b", {3}, DType::float64);
    CHECK(message_of([&] { a + b; }) == "add: operands have different dtypes, float32 and float64, in 'a + b'");
    CHECK_THROWS_AS(a * b, DTypeError);
}

TEST_CASE("long operands are cut short in messages", "[graph]") {
    Expr e = var("x", {5, 4});
    for (int i = 0; i < 500; ++i) e = tanh(e) + 1;
    const std::string message = message_of([&] { e* var("beta", {3}); });
    CHECK(message.size() < 400);
    CHECK(message.find("...") != std::string::npos);
}

TEST_CASE("topological order puts operands first, visits each node once, without recursion", "[graph]") {
    const Expr x = var("x", {});
    const Expr s = sin(x);
    const Expr y = s * s + x;
    const Expr roots[] = {y};
    const auto order = topo_order(roots);
    REQUIRE(order.size() == 4);  // x, sin, mul, add
    CHECK(order.front() == x.get());
    CHECK(order.back() == y.get());
    for (std::size_t i = 0; i < order.size(); ++i) {
        for (const auto& in : order[i]->inputs()) {
            const auto pos = std::find(order.begin(), order.end(), in.get()) - order.begin();
            CHECK(static_cast<std::size_t>(pos) < i);
        }
    }
}

TEST_CASE("substitute and with_dtype rebuild graphs; variables lists them", "[graph]") {
    const Expr x = var("x", {3});
    const Expr beta = var("beta", {});
    const Expr y = x * sigmoid(beta * x);
    const Expr roots[] = {y};
    const auto vars = variables(roots);
    REQUIRE(vars.size() == 2);
    CHECK(vars[0] == x);
    CHECK(vars[1] == beta);
    const auto replaced = substitute(roots, [&](const Node& n) { return &n == beta.get() ? constant(1.0) : Expr(); });
    CHECK(replaced[0] == x * sigmoid(1.0 * x));
    const auto single = with_dtype(roots, DType::float32);
    CHECK(single[0].dtype() == DType::float32);
    CHECK(single[0] == var("x", {3}, DType::float32) * sigmoid(var("beta", {}, DType::float32) * var("x", {3}, DType::float32)));
    CHECK(with_dtype(roots, DType::float64)[0] == y);
}
