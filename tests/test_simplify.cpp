// Rewrite rules as check(input, expected) pairs (Halide's style): on failure, Input, Output and Expected.
#include <set>
#include <string_view>

#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include "helpers.hpp"

using namespace symgrad;

namespace {

const Expr x = var("x", {});
const Expr y = var("y", {});
const Expr v = var("v", {3});
const Expr m = var("m", {2, 3});

void check(const Expr& input, const Expr& expected) {
    const Expr output = simplify(input);
    INFO("Input:    " << to_inline_string(input, 500) << "\nOutput:   " << to_inline_string(output, 500)
                      << "\nExpected: " << to_inline_string(expected, 500));
    CHECK(output == expected);
}

}  // namespace

TEST_CASE("identities exact in IEEE arithmetic", "[simplify]") {
    check(x * 1, x);
    check(1 * x, x);
    check(x * -1, -x);
    check(-1 * x, -x);
    check(x / 1, x);
    check(x + 0, x);
    check(0 + x, x);
    check(x - 0, x);
    check(0 - x, -x);
    check(-(-x), x);
    check(-(x - y), y - x);
    check(pow(x, 1), x);
    check(pow(x, 2), x * x);
    check(x + x, 2 * x);
    check(x + -y, x - y);
    check(-x + y, y - x);
    check(x - -y, x + y);
    check(-x * -y, x * y);
    check(2 * -x, -2 * x);
    check(where(x > 0, y, y), y);
    check(x / 4, 0.25 * x);  // 1/4 is exact
    check(x / 3, x / 3);  // 1/3 is not: no rewrite
    check(where(x > 0, where(x > 0, y, 1), 2), where(x > 0, y, 2));
    check(where(x > 0, y, where(x > 0, 1, 2)), where(x > 0, y, 2));
    check(where(x > y, 1, 0), x > y);
    check(where(x > y, 0, 1), eq(x > y, 0));
    check(where(x, 1, 0), where(x, 1, 0));  // x is not 0/1: no rewrite
}

TEST_CASE("inside a branch of where(c, a, b), c is known", "[simplify]") {
    const Expr c = x > 0;
    // c is true in a: a where on c picks its first branch, c is 1, c == 0 is 0
    check(where(c, y * where(c, 2, 3), 0), where(c, 2 * y, 0));
    check(where(c, y * c, 0), where(c, y, 0));
    check(where(c, y + eq(c, 0), 0), where(c, y, 0));
    // c is false (exactly 0) in b
    check(where(c, 0, y * where(c, 2, 3)), where(c, 0, 3 * y));
    check(where(c, 0, y + c), where(c, 0, y));
    // a condition c == 0 tells about c too: prelu's gradient through its mask
    const Expr not_c = eq(c, 0);
    check(where(not_c, y * where(c, 0, x), 0), where(not_c, x * y, 0));
    check(where(not_c, c + y, 0), where(not_c, y, 0));
    // c that is not a comparison is only known to be nonzero: its value stays
    check(where(x, y * x, 0), where(x, x * y, 0));
    check(where(x, where(x, y, 2), 0), where(x, y, 0));
    // through structural nodes the elements no longer line up: no rewrite
    const Expr cv = v > 0;
    check(where(cv, sum(where(cv, v, 0)) * v, 0), where(cv, v * sum(where(cv, v, 0)), 0));
}

TEST_CASE("rewrites inside where branches keep every value, inf, NaN and signed zeros included", "[simplify][properties]") {
    rc::prop("gradients of where-built activations", [] {
        const Expr a = var("a", {3});
        const Expr b = var("b", {});
        const Expr xs = var("x", {2, 3});
        // a random composition of the zoo's where-built activations and masks
        const int choice = *rc::gen::inRange(0, 6);
        const int depth = *rc::gen::inRange(1, 4);
        Expr e = xs;
        for (int level = 0; level < depth; ++level) {
            switch ((choice + level) % 6) {
            case 0: e = prelu(e, a); break;
            case 1: e = elu(e, b) * e; break;
            case 2: e = hardtanh(e, -a, a + 1); break;
            case 3: e = srelu(e, b - 1, a, b + 1, a * a); break;
            case 4: e = where(e > b, e * (e > 0), eq(e > a, 0) * e); break;
            default: e = leaky_relu(e, b) + where(xs > e, a, e); break;
            }
        }
        const Expr y = sum(e * e);
        const std::vector<Expr> wrt = {xs, a, b};
        std::vector<Expr> outputs = grad(y, wrt);
        const std::vector<Expr> second = grad(sum(outputs[0] * outputs[0]), wrt);
        outputs.insert(outputs.end(), second.begin(), second.end());
        const auto simplified = simplify(outputs);
        const double specials[] = {INFINITY, -INFINITY, NAN, 0.0, -0.0, 1.0, -1.0};
        const auto seed = *rc::gen::inRange<std::uint64_t>(0, 1000);
        Bindings at = {{"x", Tensor::uniform({2, 3}, -2, 2, seed)},
                       {"a", Tensor::uniform({3}, -2, 2, seed + 1)},
                       {"b", Tensor::uniform({}, -2, 2, seed + 2)}};
        const bool with_specials = *rc::gen::arbitrary<bool>();
        if (with_specials) {
            std::size_t k = seed;
            for (auto& [name, value] : at) {
                for (std::int64_t i = 0; i < value.numel(); i += 2) value.set(i, specials[k++ % 7]);
            }
        }
        const auto before = evaluate(outputs, at);
        const auto after = evaluate(simplified, at);
        for (std::size_t o = 0; o < before.size(); ++o) {
            RC_ASSERT(before[o].shape() == after[o].shape());
            for (std::int64_t i = 0; i < before[o].numel(); ++i) {
                const double p = before[o].get(i);
                const double q = after[o].get(i);
                RC_LOG() << to_string(outputs[o]) << "\n  became\n" << to_string(simplified[o]) << "\n";
                if (std::isnan(p) || std::isnan(q)) {
                    RC_ASSERT(std::isnan(p) && std::isnan(q));
                } else if (std::isinf(p) || std::isinf(q)) {
                    RC_ASSERT(p == q);
                } else {
                    RC_ASSERT(std::fabs(p - q) <= 1e-12 * (1 + std::fabs(p)));
                }
            }
        }
    });
}

TEST_CASE("rounding-only rewrites that save operations", "[simplify]") {
    check(sum(m, {0}) + sum(2 * m, {0}), sum(m + 2 * m, {0}));
    const Expr q = var("q", {3, 3});
    check(sum(q, {0}) + sum(q, {1}), sum(q, {0}) + sum(q, {1}));  // other axes: no rewrite
    check((1 / x) * y, y / x);
}

TEST_CASE("a shared negation is not copied into its users", "[simplify]") {
    const Expr t = -sin(x);
    check(t * x + t * y, x * t + y * t);
}

TEST_CASE("rules that would change inf or NaN are not rules", "[simplify]") {
    check(x - x, x - x);  // inf - inf is NaN, not 0
    check(x * 0, 0 * x);  // inf * 0 is NaN (only the operands are ordered)
    check(x / x, x / x);  // 0 / 0 is NaN, not 1
    check(log(exp(x)), log(exp(x)));  // exp overflows
}

TEST_CASE("canonical order of commutative operands makes equal sums one node", "[simplify]") {
    check(x * 2, 2 * x);
    check(y + x, x + y);
    check(maximum(x, 0), maximum(0, x));
    check(minimum(y, x), minimum(x, y));
    check(sin(x) * y, y * sin(x));  // constants, then variables by name, then compounds
    // Among compounds the order is stable, not total: commuted compound sums stay apart.
    CHECK(simplify(y * x + sin(x)) == x * y + sin(x));
    CHECK(simplify(sin(x) + x * y) == sin(x) + x * y);
}

TEST_CASE("constant factors are collected", "[simplify]") {
    check(2 * (3 * x), 6 * x);
    check((2 * x) * (3 * y), 6 * (x * y));
    check(0.5 * x * (4 * sin(x)), 2 * (x * sin(x)));
    check(-(3 * x), -3 * x);
    check(1e300 * (1e300 * x), 1e300 * (1e300 * x));  // the product overflows: not collected
}

TEST_CASE("structural collapses", "[simplify]") {
    check(sum(broadcast_to(v, {4, 3}), {0}), 4 * v);
    check(sum(broadcast_to(x, {4, 3})), 12 * x);
    check(sum(broadcast_to(reshape(v, {1, 3}), {4, 3}), {0}, true), 4 * reshape(v, {1, 3}));
    check(sum(broadcast_to(v, {4, 3}), {1}), sum(broadcast_to(v, {4, 3}), {1}));  // v varies along axis 1
    check(broadcast_to(broadcast_to(x, {3}), {2, 3}), broadcast_to(x, {2, 3}));
    check(reshape(reshape(m, {3, 2}), {6}), reshape(m, {6}));
    check(transpose(transpose(m)), m);
    check(broadcast_to(x, {2, 3}) * m, m * x);
    check(m + broadcast_to(v, {2, 3}), m + v);
}

TEST_CASE("simplify keeps shapes, dtypes and sharing, and reports what fired", "[simplify]") {
    const Expr f = var("f", {3}, DType::float32);
    const Expr e = f * 1 + 0;
    CHECK(simplify(e) == f);
    SimplifyReport report;
    const Expr s = sin(x * 1);
    const Expr roots[] = {s * s, s + 1};
    const auto out = simplify(roots, default_rules(), &report);
    CHECK(out[0] == sin(x) * sin(x));
    CHECK(out[1] == 1 + sin(x));
    CHECK(report.fired.at("x * 1 -> x") == 1);
    CHECK(report.passes >= 1);
}

TEST_CASE("simplify reports whether it reached its fixpoint or stopped at a limit", "[simplify]") {
    // One pass rewrites x * 1 + 0 to x; a second finds nothing left to do.
    const Expr roots[] = {(x * 1 + 0) * y};
    SimplifyReport done;
    CHECK(simplify(roots, default_rules(), &done)[0] == x * y);
    CHECK(done.passes == 2);
    CHECK(done.converged);
    // Stopped after the first pass, simplify cannot know that it got there.
    SimplifyOptions one_pass;
    one_pass.max_passes = 1;
    SimplifyReport stopped;
    CHECK(simplify(roots, default_rules(), one_pass, &stopped)[0] == x * y);
    CHECK(stopped.passes == 1);
    CHECK_FALSE(stopped.converged);
    // A pass that changes nothing is the fixpoint, even when it is the last one allowed.
    const Expr simple[] = {x * y};
    SimplifyReport already;
    simplify(simple, default_rules(), one_pass, &already);
    CHECK(already.passes == 1);
    CHECK(already.converged);
    // Rules that never settle: every pass changes the graph until the pass limit.
    const RewriteRule swap[] = {{"a + b -> b + a, always", Op::add, [](const Node& n) { return n.input(1) + n.input(0); }}};
    const Expr sum_of_two[] = {x + y};
    SimplifyOptions few;
    few.max_passes = 5;
    few.max_rewrites_per_node = 1;
    SimplifyReport endless;
    CHECK(simplify(sum_of_two, swap, few, &endless)[0] == y + x);
    CHECK(endless.passes == 5);
    CHECK_FALSE(endless.converged);
    // With the default 64 rewrites per node, the node is back where it started after each pass: one pass, which
    // changed nothing, but left a node with a rule still applying.
    SimplifyReport cycling;
    CHECK(simplify(sum_of_two, swap, &cycling)[0] == x + y);
    CHECK(cycling.passes == 1);
    CHECK_FALSE(cycling.converged);
}

TEST_CASE("each default rule has a name of its own", "[simplify]") {
    std::set<std::string_view> names;
    for (const RewriteRule& rule : default_rules()) {
        INFO(rule.name);
        CHECK(names.insert(rule.name).second);
    }
}

TEST_CASE("simplified gradients of activations keep their values", "[simplify]") {
    for (const char* text :
         {"x * sigmoid(beta * x)", "p1 * sigmoid(p2 * x + b1) + b2", "max(x, 0) + a * min(x, 0)",
          "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))", "x * tanh(softplus(x))", "where(x > 0, x, alpha * expm1(x))",
          "x + sin(a * x)^2 / a", "(a0 + a1*x + a2*x^2 + a3*x^3 + a4*x^4 + a5*x^5) / (1 + abs(b1*x + b2*x^2 + b3*x^3 + b4*x^4))"}) {
        INFO(text);
        ParseOptions options;
        options.shapes["x"] = Shape{6, 4};
        const Expr y = parse(text, options);
        const Expr roots[] = {y};
        const auto vars = variables(roots);
        const auto raw = grad(y, vars);
        const auto simplified = simplify(raw);
        CHECK(operation_count(simplified) <= operation_count(raw));
        const Bindings at = symgrad::testing::random_bindings(vars, 0.3, 1.7, 9);
        const auto a = evaluate(raw, at);
        const auto b = evaluate(simplified, at);
        for (std::size_t k = 0; k < a.size(); ++k) {
            REQUIRE(a[k].shape() == b[k].shape());
            for (std::int64_t i = 0; i < a[k].numel(); ++i) CHECK(b[k].get(i) == Approx(a[k].get(i)).epsilon(1e-12).margin(1e-14));
        }
    }
}

TEST_CASE("the gradient overrides survive every rewrite, and so do the gradients they give", "[simplify]") {
    // A rewrite that removed custom_grad or stop_gradient would keep the value and change the gradient.
    const Expr straight_through = custom_grad(round(x * 1 + 0), x + 0);
    const Expr stopped = stop_gradient(x * 1) * (y + 0);
    check(straight_through, custom_grad(round(x), x));
    check(stopped, y * stop_gradient(x));
    check(custom_grad(x, x * x) * 1, custom_grad(x, x * x));
    const Expr graph = x * custom_grad(heaviside(x, 0.5), sigmoid(4 * x)) + stop_gradient(x * y) * y;
    const Expr wrt[] = {x, y};
    const auto before = grad(graph, wrt);
    const auto after = grad(simplify(graph), wrt);
    const Bindings at = {{"x", Tensor::from_values({}, {0.3})}, {"y", Tensor::from_values({}, {-1.2})}};
    const auto a = evaluate(before, at);
    const auto b = evaluate(after, at);
    for (std::size_t k = 0; k < 2; ++k) CHECK(a[k].item() == Approx(b[k].item()).epsilon(1e-14));
    const std::string text = to_string(simplify(graph));
    CHECK(text.find("custom_grad(heaviside(x, 0.5), sigmoid(4 * x))") != std::string::npos);
    CHECK(text.find("stop_gradient(x * y)") != std::string::npos);
}
