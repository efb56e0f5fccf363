// The harness generated from the primitive table: every row is checked for first- and second-order
// gradients (float64 five-point differences), the VJP inner-product identity, and float32/float64
// kernel agreement, at points drawn from the row's own test regions. A new elementwise row is tested
// here without writing a test; a new structural row needs one example below (a test says so).
#include <cmath>
#include <functional>
#include <set>

#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::random_bindings;
using symgrad::testing::require_passes;

namespace {

// Operand shapes to try for each arity: same shapes, and broadcasts both ways.
std::vector<std::vector<Shape>> shape_cases(std::size_t arity) {
    switch (arity) {
    case 1: return {{Shape{3, 4}}, {Shape{}}};
    case 2: return {{Shape{3, 4}, Shape{3, 4}}, {Shape{3, 4}, Shape{4}}, {Shape{3, 1}, Shape{4}}, {Shape{}, Shape{2, 3}}};
    default: return {{Shape{3, 4}, Shape{3, 4}, Shape{3, 4}}, {Shape{3, 4}, Shape{4}, Shape{3, 1}}, {Shape{4}, Shape{3, 4}, Shape{}}};
    }
}

Bindings region_bindings(const std::vector<Expr>& vars, const TestRegion& region, std::uint64_t seed) {
    Bindings b;
    for (std::size_t i = 0; i < vars.size(); ++i) {
        const Interval& in = region.operands[i];
        b.emplace(vars[i].node().attrs().name, Tensor::uniform(vars[i].shape(), in.lo, in.hi, seed + i));
    }
    return b;
}

// The bindings `at` with each of vars moved by t times its direction.
Bindings moved_along(const Bindings& at, const std::vector<Expr>& vars, const std::vector<Tensor>& directions, double t) {
    Bindings moved = at;
    for (std::size_t k = 0; k < vars.size(); ++k) {
        Tensor value = at.at(vars[k].node().attrs().name).clone();
        for (std::int64_t i = 0; i < value.numel(); ++i) value.set(i, value.get(i) + t * directions[k].get(i));
        moved[vars[k].node().attrs().name] = value;
    }
    return moved;
}

// <grad(y, vars, seed = u), v> must equal the directional derivative <u, d/dt y(vars + t v)> at t = 0.
// vars are the operands that move; a region that pins an operand to one point (where's condition at 0)
// keeps it out, since moving it would cross a discontinuity.
void check_vjp_identity(const Expr& y, const std::vector<Expr>& vars, const Bindings& at, std::uint64_t seed) {
    const Tensor u = Tensor::normal(y.shape(), 0.0, 1.0, seed);
    const auto vjps = evaluate(grad(y, vars, constant(u)), at);
    std::vector<Tensor> directions;
    double lhs = 0.0;
    for (std::size_t k = 0; k < vars.size(); ++k) {
        directions.push_back(Tensor::normal(vars[k].shape(), 0.0, 1.0, seed + 100 + k));
        for (std::int64_t i = 0; i < directions[k].numel(); ++i) lhs += vjps[k].get(i) * directions[k].get(i);
    }
    const double h = 1e-4;
    auto projected = [&](double t) {
        const Tensor out = evaluate(y, moved_along(at, vars, directions, t));
        double s = 0.0;
        for (std::int64_t i = 0; i < out.numel(); ++i) s += u.get(i) * out.get(i);
        return s;
    };
    const double rhs = (8.0 * (projected(h) - projected(-h)) - (projected(2 * h) - projected(-2 * h))) / (12.0 * h);
    INFO("<vjp(u), v> = " << lhs << ", <u, J v> = " << rhs);
    REQUIRE(std::fabs(lhs - rhs) <= 1e-6 + 1e-6 * std::fabs(rhs));
}

bool close_to(const Tensor& got, const Tensor& want) {
    if (got.shape() != want.shape()) return false;
    for (std::int64_t i = 0; i < got.numel(); ++i) {
        if (std::fabs(got.get(i) - want.get(i)) > 1e-12 * (1 + std::fabs(want.get(i)))) return false;
    }
    return true;
}

void check_all(const Expr& y, const std::vector<Expr>& vars, const Bindings& at, const std::string& what, const std::vector<Expr>& moving) {
    require_passes(gradcheck(y, vars, at), what + ": first order, random projection");
    GradcheckOptions plain;
    plain.random_projection = false;
    require_passes(gradcheck(y, vars, at, plain), what + ": first order, sum(y)");
    require_passes(gradgradcheck(y, vars, at), what + ": second order");
    require_passes(gradgradcheck(y, vars, at, plain), what + ": second order, sum(y)");
    check_vjp_identity(y, moving, at, 7);
}

std::string shapes_text(const std::vector<Shape>& shapes) {
    std::string text;
    for (const auto& s : shapes) text += to_string(s) + " ";
    return text;
}

}  // namespace

TEST_CASE("every elementwise row passes gradchecks of both orders and the VJP identity", "[table]") {
    for (const OpInfo& row : op_table()) {
        // A gradient override's gradient differs from the differences on purpose: tested below for what it promises.
        if (row.kind != OpClass::elementwise || !row.gradient_override.empty()) continue;
        const auto regions = row.test_regions.all();
        for (std::size_t r = 0; r < regions.size(); ++r) {
            for (const auto& shapes : shape_cases(row.arity)) {
                DYNAMIC_SECTION(row.name << " region " << r << " shapes " << shapes_text(shapes)) {
                    std::vector<Expr> vars;
                    for (std::size_t i = 0; i < row.arity; ++i) vars.push_back(var(fmt::format("a{}", i), shapes[i]));
                    const Expr y = apply_exprs(row.op, vars);
                    const Bindings at = region_bindings(vars, regions[r], 11 * r + 3);
                    std::vector<Expr> moving;
                    for (std::size_t i = 0; i < vars.size(); ++i) {
                        const Interval& in = regions[r].operands[i];
                        if (in.lo < in.hi) moving.push_back(vars[i]);
                    }
                    check_all(y, vars, at, std::string(row.name), moving);
                }
            }
        }
    }
}

TEST_CASE("the gradient overrides keep the value and give the promised gradient, at both orders", "[table]") {
    // custom_grad(f, s) has f's value and s's gradient; stop_gradient(e) has e's value and none; and a graph that
    // uses them differentiates as the graph with s (or nothing) in their place, at the first and second order.
    const Expr x = var("x", {3, 4});
    const Expr a = var("a", {4});
    const Expr f = round(2 * x) * a;  // a step in x, with a gradient for a
    const Expr s = sin(x) * a + x * x;
    const Bindings at = random_bindings(std::vector<Expr>{x, a}, -1.5, 1.5, 21);
    const Expr both[] = {x, a};
    const Expr y = tanh(a) * custom_grad(f, s) + x;
    const Expr values[] = {y, tanh(a) * f + x};
    const auto v = evaluate(values, at);
    CHECK(v[0].identical(v[1]));
    // d/dx and d/da: tanh(a) * s' for the override, tanh'(a) * f (the value) for the factor.
    const auto g = grad(y, both);
    const Expr by_hand[] = {tanh(a) * (cos(x) * a + 2 * x) + 1, sum((1 - tanh(a) * tanh(a)) * f + tanh(a) * sin(x), {0})};
    const Expr got[] = {g[0], g[1]};
    const auto first = evaluate(got, at);
    const auto hand = evaluate(by_hand, at);
    for (std::size_t k = 0; k < 2; ++k) CHECK(close_to(first[k], hand[k]));
    // The second order: the gradient of <g, u> is that of the graph with the override replaced by s, in x (f is a
    // step there) and in a (f's own dependence on a is the value's, which counts in d/da of tanh(a) * f).
    const Tensor u = Tensor::normal({3, 4}, 0, 1, 5);
    const auto second = evaluate(grad(sum(g[0] * constant(u)), both), at);
    const Expr reference = tanh(a) * (cos(x) * a + 2 * x) + 1;
    const auto expected = evaluate(grad(sum(reference * constant(u)), both), at);
    for (std::size_t k = 0; k < 2; ++k) CHECK(close_to(second[k], expected[k]));
    // stop_gradient: the value of its operand, no gradient through it, and the gradient of the rest unchanged.
    const Expr z = stop_gradient(x * x) * x;
    const Expr zs[] = {z, x * x * x};
    const auto zv = evaluate(zs, at);
    CHECK(zv[0].identical(zv[1]));
    const Expr dz[] = {grad(z, {x})[0], x * x};
    const auto dzv = evaluate(dz, at);
    CHECK(dzv[0].identical(dzv[1]));
    // custom_grad is exact where the hand-written stop_gradient(f - s) + s is not: f - s is inf - inf there.
    const Expr t = var("t", {2});
    const Expr hard = exp(t);
    const Expr soft = exp(t) + 1;
    const Bindings big = {{"t", Tensor::from_values({2}, {1000.0, 0.5})}};
    const Expr compare[] = {custom_grad(hard, soft), stop_gradient(hard - soft) + soft, grad(custom_grad(hard, soft), {t})[0]};
    const auto c = evaluate(compare, big);
    CHECK(std::isinf(c[0].get(0)));
    CHECK(std::isnan(c[1].get(0)));
    CHECK(c[0].get(1) == std::exp(0.5));
    CHECK(std::isinf(c[2].get(0)));
    // Both ops, in every gradient, in the engine: its values and gradients are the reference evaluator's bits.
    const Expr outputs[] = {y, g[0], g[1], z, dz[0]};
    const auto reference_values = evaluate(outputs, at);
    const auto engine = compile(outputs).run(at);
    for (std::size_t k = 0; k < engine.size(); ++k) CHECK(engine[k].identical(reference_values[k]));
}

TEST_CASE("float32 and float64 kernels agree on every elementwise row", "[table]") {
    for (const OpInfo& row : op_table()) {
        if (row.kind != OpClass::elementwise) continue;
        for (const TestRegion& region : row.test_regions.all()) {
            for (int k = 0; k < 50; ++k) {
                double args[3];
                for (std::size_t i = 0; i < 3; ++i) {
                    const double t = (k + 0.5) / 50.0;
                    args[i] = region.operands[i].lo + t * (region.operands[i].hi - region.operands[i].lo);
                }
                const double wide = row.f64(args[0], args[1], args[2]);
                const double narrow = row.f32(static_cast<float>(args[0]), static_cast<float>(args[1]), static_cast<float>(args[2]));
                INFO(row.name << " at " << args[0] << ", " << args[1] << ", " << args[2]);
                REQUIRE(narrow == Approx(wide).epsilon(1e-5).margin(1e-6));
            }
        }
    }
}

TEST_CASE("the table is well formed", "[table]") {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < op_table().size(); ++i) {
        const OpInfo& row = op_table()[i];
        INFO(row.name);
        CHECK(static_cast<std::size_t>(row.op) == i);
        CHECK(names.insert(row.name).second);
        CHECK(op_by_name(row.name) == row.op);
        if (row.kind == OpClass::leaf) continue;
        CHECK(!row.print.text.empty());
        CHECK(!row.print.latex.empty());
        CHECK(!row.test_regions.all().empty());
        if (row.kind == OpClass::elementwise) {
            CHECK(row.f32 != nullptr);
            CHECK(row.f64 != nullptr);
        } else {
            CHECK(row.eval != nullptr);
            CHECK(row.shape != nullptr);
        }
    }
    CHECK(!op_by_name("sigmoidd").has_value());
}

namespace {

struct StructuralExample {
    Op op;
    std::string what;
    std::function<Expr(const std::vector<Expr>&)> build;
    std::vector<Shape> shapes;
};

// Each structural op composed with a nonlinearity, so the second order is not trivially zero.
std::vector<StructuralExample> structural_examples() {
    return {
        {Op::broadcast_to,
         "[4] -> [3, 4]",
         [](const auto& v) {
             return sin(broadcast_to(v[0], {3, 4}));
         },
         {{4}}},
        {Op::broadcast_to,
         "[3, 1] -> [2, 3, 4]",
         [](const auto& v) {
             return sin(broadcast_to(v[0], {2, 3, 4}));
         },
         {{3, 1}}},
        {Op::sum, "axis 0", [](const auto& v) { return sin(sum(v[0], {0})); }, {{3, 4}}},
        {Op::sum,
         "axes 0, 2 keepdims",
         [](const auto& v) {
             return sin(sum(v[0], {0, 2}, true) * v[0]);
         },
         {{2, 3, 4}}},
        {Op::sum, "all", [](const auto& v) { return sin(sum(v[0])); }, {{2, 3}}},
        {Op::mean, "axis -1", [](const auto& v) { return tanh(mean(v[0], {-1})); }, {{3, 4}}},
        {Op::mean, "all keepdims", [](const auto& v) { return tanh(mean(v[0], {}, true) * v[0]); }, {{3, 4}}},
        {Op::amax, "axis -1", [](const auto& v) { return sin(amax(v[0], {-1})); }, {{3, 4}}},
        {Op::amax,
         "axis 0 keepdims, the stable log-softmax shift",
         [](const auto& v) { return v[0] - amax(v[0], {0}, true) - log(sum(exp(v[0] - amax(v[0], {0}, true)), {0}, true)); },
         {{3, 4}}},
        {Op::amax, "all", [](const auto& v) { return tanh(amax(v[0]) * v[0]); }, {{2, 3}}},
        {Op::reshape,
         "[3, 4] -> [2, 6]",
         [](const auto& v) {
             return sin(reshape(v[0], {2, 6}));
         },
         {{3, 4}}},
        {Op::reshape,
         "[2, 3, 4] -> [4, -1]",
         [](const auto& v) {
             return sin(reshape(v[0], {4, -1}) * 2.0);
         },
         {{2, 3, 4}}},
        {Op::permute,
         "[2, 0, 1]",
         [](const auto& v) {
             return sin(permute(v[0], {2, 0, 1}));
         },
         {{2, 3, 4}}},
        {Op::permute, "transpose", [](const auto& v) { return sin(transpose(v[0]) * v[1]); }, {{3, 4}, {4, 3}}},
        {Op::matmul, "[3, 4] @ [4, 2]", [](const auto& v) { return sin(matmul(v[0], v[1])); }, {{3, 4}, {4, 2}}},
        {Op::matmul, "batched, broadcast", [](const auto& v) { return tanh(matmul(v[0], v[1])); }, {{2, 3, 4}, {4, 5}}},
        {Op::matmul, "vector @ matrix", [](const auto& v) { return sin(matmul(v[0], v[1])); }, {{4}, {4, 3}}},
        {Op::matmul, "matrix @ vector", [](const auto& v) { return sin(matmul(v[0], v[1])); }, {{3, 4}, {4}}},
        {Op::matmul, "vector @ vector", [](const auto& v) { return sin(matmul(v[0], v[1])); }, {{4}, {4}}},
    };
}

}  // namespace

TEST_CASE("every structural row has an example, and each passes gradchecks of both orders", "[table]") {
    const auto examples = structural_examples();
    for (const OpInfo& row : op_table()) {
        if (row.kind != OpClass::structural) continue;
        const bool covered = std::any_of(examples.begin(), examples.end(), [&](const auto& e) { return e.op == row.op; });
        INFO("structural op '" << row.name << "' needs an example in structural_examples()");
        CHECK(covered);
    }
    for (const auto& example : examples) {
        DYNAMIC_SECTION(op_info(example.op).name << " " << example.what) {
            std::vector<Expr> vars;
            for (std::size_t i = 0; i < example.shapes.size(); ++i) vars.push_back(var(fmt::format("a{}", i), example.shapes[i]));
            const Expr y = example.build(vars);
            const Bindings at = random_bindings(vars, -1.5, 1.5, 5);
            check_all(y, vars, at, example.what, vars);
        }
    }
}

TEST_CASE("every elementwise row goes through both exporters, spelled by its row", "[table][export]") {
    // Each row applied to the input and, for its other operands, expressions of it (no constant that would fold).
    const char* extra_operands[] = {"0.75 * x + 0.5", "1.5 - x"};
    for (const OpInfo& row : op_table()) {
        if (row.kind != OpClass::elementwise) continue;
        std::vector<std::string> operands{"x"};
        for (std::size_t i = 1; i < row.arity; ++i) operands.push_back(extra_operands[i - 1]);
        const std::string expression = fmt::format("{}({})", row.name, fmt::join(operands, ", "));
        INFO(expression);
        ExportOptions options;
        options.name = "act";
        std::string cpp;
        std::string torch;
        REQUIRE_NOTHROW(cpp = export_cpp(expression, options));
        REQUIRE_NOTHROW(torch = export_torch(expression, options));
        // The forward is written with the row's spelling (where, max and min as the exporters write them).
        const auto forward_cpp = cpp.substr(cpp.find("inline T value("));
        const auto forward_torch = torch.substr(torch.find("def forward("));
        if (!row.exports.cpp.empty() && row.variant == nullptr)
            CHECK(forward_cpp.find(fmt::format("{}(", row.exports.cpp)) != std::string::npos);
        if (!row.exports.infix.empty()) CHECK(forward_cpp.find(fmt::format("{}", row.exports.infix)) != std::string::npos);
        if (!row.exports.torch.empty()) CHECK(forward_torch.find(fmt::format("{}(", row.exports.torch)) != std::string::npos);
        if (row.exports.cpp.empty() && row.exports.infix.empty()) CHECK(row.op == Op::where);
    }
}

namespace {

// Forward and reverse mode agree: <u, JVP(t)> = <VJP(u), t> for random u and tangents t of every operand, at the
// point `at`; and the JVP is the directional derivative (five-point differences) where the row's gradient is its
// value's derivative.
void check_jvp(const Expr& y, const std::vector<Expr>& vars, const Bindings& at, std::uint64_t seed, bool differences) {
    const Tensor u = Tensor::normal(y.shape(), 0.0, 1.0, seed);
    std::vector<std::pair<Expr, Expr>> tangents;
    std::vector<Tensor> directions;
    for (std::size_t k = 0; k < vars.size(); ++k) {
        directions.push_back(Tensor::normal(vars[k].shape(), 0.0, 1.0, seed + 100 + k));
        tangents.emplace_back(vars[k], constant(directions[k]));
    }
    const Expr outputs[] = {y};
    const Tensor forward = evaluate(jvp(outputs, tangents)[0], at);
    REQUIRE(forward.shape() == y.shape());
    const auto vjps = evaluate(grad(y, vars, constant(u)), at);
    double lhs = 0.0;
    double rhs = 0.0;
    for (std::int64_t i = 0; i < u.numel(); ++i) lhs += u.get(i) * forward.get(i);
    for (std::size_t k = 0; k < vars.size(); ++k) {
        for (std::int64_t i = 0; i < directions[k].numel(); ++i) rhs += vjps[k].get(i) * directions[k].get(i);
    }
    INFO("<u, jvp(t)> = " << lhs << ", <vjp(u), t> = " << rhs);
    REQUIRE(std::fabs(lhs - rhs) <= 1e-12 * (1 + std::fabs(rhs)));
    if (!differences) return;
    const double h = 1e-4;
    auto moved = [&](double t) { return evaluate(y, moved_along(at, vars, directions, t)); };
    const Tensor p1 = moved(h), m1 = moved(-h), p2 = moved(2 * h), m2 = moved(-2 * h);
    for (std::int64_t i = 0; i < forward.numel(); ++i) {
        const double fd = (8.0 * (p1.get(i) - m1.get(i)) - (p2.get(i) - m2.get(i))) / (12.0 * h);
        INFO("element " << i << ": jvp " << forward.get(i) << ", differences " << fd);
        REQUIRE(std::fabs(forward.get(i) - fd) <= 1e-6 + 1e-6 * std::fabs(fd));
    }
}

}  // namespace

TEST_CASE("every row's forward rule agrees with its VJP rule and with finite differences", "[table][jvp]") {
    for (const OpInfo& row : op_table()) {
        if (row.kind != OpClass::elementwise) continue;
        const auto regions = row.test_regions.all();
        for (std::size_t r = 0; r < regions.size(); ++r) {
            for (const auto& shapes : shape_cases(row.arity)) {
                DYNAMIC_SECTION(row.name << " region " << r << " shapes " << shapes_text(shapes)) {
                    std::vector<Expr> vars;
                    std::vector<Expr> moving;
                    for (std::size_t i = 0; i < row.arity; ++i) vars.push_back(var(fmt::format("a{}", i), shapes[i]));
                    for (std::size_t i = 0; i < row.arity; ++i) {
                        if (regions[r].operands[i].lo < regions[r].operands[i].hi) moving.push_back(vars[i]);
                    }
                    const Expr y = apply_exprs(row.op, vars);
                    const Bindings at = region_bindings(vars, regions[r], 11 * r + 3);
                    check_jvp(y, moving, at, 13, row.gradient_override.empty());
                    // and at the second order: the forward rule applied to the row's own gradient
                    if (row.vjp) check_jvp(grad(y, vars)[0], moving, at, 17, row.gradient_override.empty());
                }
            }
        }
    }
    for (const auto& example : structural_examples()) {
        DYNAMIC_SECTION(op_info(example.op).name << " " << example.what) {
            std::vector<Expr> vars;
            for (std::size_t i = 0; i < example.shapes.size(); ++i) vars.push_back(var(fmt::format("a{}", i), example.shapes[i]));
            const Expr y = example.build(vars);
            const Bindings at = random_bindings(vars, -1.5, 1.5, 5);
            check_jvp(y, vars, at, 19, true);
            check_jvp(grad(y, vars)[0], vars, at, 23, true);
        }
    }
}

TEST_CASE("forward over reverse gives the Hessian-vector product, and hvp takes the smaller graph", "[jvp]") {
    const Expr x = var("x", {5});
    const Expr w = var("w", {5, 5});
    const Expr v = var("v", {5});
    const Expr y = sum(tanh(matmul(w, x)) * sigmoid(x)) + sum(x * x * x);
    const Bindings at = random_bindings(std::vector<Expr>{x, w, v}, -1, 1, 31);
    const Expr g = grad(y, {x})[0];
    const Expr reverse = grad(sum(g * v), {x})[0];
    const Expr forward = jvp(g, x, v);
    const Expr both[] = {reverse, forward, hvp(y, x, v)};
    const auto values = evaluate(both, at);
    for (std::int64_t i = 0; i < 5; ++i) {
        CHECK(values[1].get(i) == Approx(values[0].get(i)).epsilon(1e-12));
        CHECK(values[2].get(i) == Approx(values[0].get(i)).epsilon(1e-12));
    }
    const Expr r[] = {reverse};
    const Expr f[] = {forward};
    const Expr h[] = {hvp(y, x, v)};
    CHECK(index_graph(h).size() == std::min(index_graph(r).size(), index_graph(f).size()));
    // errors: a tangent of another shape or dtype, and empty expressions
    CHECK_THROWS_WITH(jvp(y, x, constant(Tensor::zeros({4}))), Catch::Contains("the tangent of 'x' has shape [4], which does not broadcast to its shape [5]"));
    CHECK_THROWS_WITH(jvp(y, x, constant(Tensor::zeros({5}, DType::float32))), Catch::Contains("the tangent of 'x' is float32 but 'x' is float64"));
    CHECK_THROWS_WITH(jvp(y, Expr(), v), Catch::Contains("empty Expr"));
    // a scalar tangent moves every element; an output that does not move gets zeros of its shape
    const Expr outputs[] = {x * 2, w};
    const std::pair<Expr, Expr> one[] = {{x, constant(1.0)}};
    const auto moved = evaluate(jvp(outputs, one), at);
    CHECK(moved[0].to_vector() == std::vector<double>(5, 2.0));
    CHECK(moved[1].shape() == Shape{5, 5});
    CHECK(moved[1].to_vector() == std::vector<double>(25, 0.0));
    // the braced list of the docs; amax over no elements has a zero tangent (its value is -inf), and amax's tangent
    // takes only the maximum's, whatever the others' (inf there: 0 * inf would be NaN)
    const std::vector<Expr> listed{x * x, sum(w)};
    const auto both_ways = evaluate(jvp(listed, {{x, v}, {w, constant(1.0)}}), at);
    CHECK(both_ways[1].item() == 25.0);
    const Expr empty = var("e", {0, 3});
    const Tensor none = evaluate(jvp(amax(empty, {0}), empty, constant(1.0)), {{"e", Tensor::zeros({0, 3})}});
    CHECK(none.to_vector() == std::vector<double>(3, 0.0));
    const Expr y2 = var("y2", {2});
    const Tensor top = evaluate(jvp(amax(log(y2)), y2, constant(1.0)), {{"y2", Tensor::from_values({2}, {0.0, 1.0})}});
    CHECK(top.item() == 1.0);
}
