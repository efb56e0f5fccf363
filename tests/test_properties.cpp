// Property tests over random expressions (rapidcheck). Expressions are built from a random program of
// instructions (op, operand indices), so rapidcheck can shrink a failure to a small program.
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "helpers.hpp"
#include "same_bits.hpp"

using namespace symgrad;

namespace {

struct Instruction {
    int op;
    std::size_t a;
    std::size_t b;
};

constexpr int op_kinds = 16;

// Every op here is smooth and bounded on the reals, so gradchecks hold everywhere.
Expr apply_instruction(const Instruction& ins, const std::vector<Expr>& pool) {
    const Expr& a = pool[ins.a % pool.size()];
    const Expr& b = pool[ins.b % pool.size()];
    switch (ins.op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return sin(a);
    case 4: return tanh(a) * b;
    case 5: return sigmoid(a);
    case 6: return softplus(a) - b;
    case 7: return exp(tanh(a));
    case 8: return a / (1 + b * b);
    case 9: return log(1 + a * a);
    case 10: return sqrt(1 + a * a);
    case 11: return pow(1 + a * a, 0.5 * tanh(b));
    case 12: return erf(a) + cos(b);
    case 13: return (a.rank() > 0 ? sum(a, {0}, true) : a) * 0.5 + b;
    case 14: return (a.rank() > 0 ? mean(a, {-1}, true) : a) * b;
    default: return -a * 0.75;
    }
}

struct RandomGraph {
    std::vector<Expr> variables;
    Expr output;
};

RandomGraph build(std::int64_t batch, std::int64_t units, const std::vector<Instruction>& instructions, DType dtype = DType::float64) {
    RandomGraph p;
    p.variables = {var("x", {batch, units}, dtype), var("beta", {units}, dtype), var("gamma", {}, dtype), var("row", {batch, 1}, dtype)};
    std::vector<Expr> pool = p.variables;
    for (const auto& ins : instructions) pool.push_back(apply_instruction(ins, pool));
    // Use every variable, so each has a gradient to check.
    p.output = pool.back() + p.variables[0] * p.variables[1] * p.variables[2] + p.variables[3];
    return p;
}

// A program of 1 to max_length instructions. rapidcheck scales inRange by the generation size, so the
// instruction fields are generated at full size (else small sizes would only ever pick the first ops).
std::vector<Instruction> instructions(std::size_t max_length) {
    const auto length = *rc::gen::inRange<std::size_t>(1, max_length + 1);
    const auto instruction =
        rc::gen::resize(100,
                        rc::gen::build<Instruction>(rc::gen::set(&Instruction::op, rc::gen::inRange(0, op_kinds)),
                                                    rc::gen::set(&Instruction::a, rc::gen::inRange<std::size_t>(0, 64)),
                                                    rc::gen::set(&Instruction::b, rc::gen::inRange<std::size_t>(0, 64))));
    return *rc::gen::container<std::vector<Instruction>>(length, instruction);
}

}  // namespace

TEST_CASE("random expressions", "[properties]") {
    rc::prop("first and second order gradients match finite differences", [] {
        const auto batch = *rc::gen::inRange<std::int64_t>(1, 4);
        const auto units = *rc::gen::inRange<std::int64_t>(1, 4);
        const auto program = instructions(12);
        const auto seed = *rc::gen::inRange<std::uint64_t>(0, 1000);
        const RandomGraph p = build(batch, units, program);
        const Bindings at = symgrad::testing::random_bindings(p.variables, -1.5, 1.5, seed);
        const auto first = gradcheck(p.output, p.variables, at);
        RC_LOG() << to_string(p.output) << "\n" << to_string(first);
        RC_ASSERT(first.passed);
        GradcheckOptions plain;
        plain.random_projection = false;
        RC_ASSERT(gradcheck(p.output, p.variables, at, plain).passed);
        RC_ASSERT(gradgradcheck(p.output, p.variables, at).passed);
    });

    rc::prop("building the same program twice yields the same node", [] {
        const auto program = instructions(30);
        RC_ASSERT(build(3, 2, program).output == build(3, 2, program).output);
    });

    rc::prop("grad without a seed equals grad with a seed of ones", [] {
        const auto program = instructions(12);
        const RandomGraph p = build(3, 2, program);
        const Bindings at = symgrad::testing::random_bindings(p.variables, -1, 1, 4);
        const auto implicit = evaluate(grad(p.output, p.variables), at);
        const auto explicit_ones = evaluate(grad(p.output, p.variables, constant(Tensor::ones(p.output.shape()))), at);
        for (std::size_t k = 0; k < implicit.size(); ++k) {
            RC_ASSERT(implicit[k].shape() == p.variables[k].shape());
            for (std::int64_t i = 0; i < implicit[k].numel(); ++i) {
                const double a = implicit[k].get(i);
                const double b = explicit_ones[k].get(i);
                RC_ASSERT(std::fabs(a - b) <= 1e-12 * (1 + std::fabs(b)));
            }
        }
    });

    rc::prop("float32 evaluation stays close to float64", [] {
        const auto program = instructions(10);
        const RandomGraph p64 = build(2, 3, program);
        const RandomGraph p32 = build(2, 3, program, DType::float32);
        const Bindings at64 = symgrad::testing::random_bindings(p64.variables, -1, 1, 8);
        Bindings at32;
        for (const auto& [name, value] : at64) at32.emplace(name, value.astype(DType::float32));
        const Tensor wide = evaluate(p64.output, at64);
        const Tensor narrow = evaluate(p32.output, at32);
        for (std::int64_t i = 0; i < wide.numel(); ++i) {
            RC_ASSERT(std::fabs(wide.get(i) - narrow.get(i)) <= 1e-3 * (1 + std::fabs(wide.get(i))));
        }
    });
}

namespace {

// Equal as values: NaN equals NaN, infinities by sign, zeros by value (x + 0 -> x may flip a zero's sign),
// finite numbers to rounding.
bool same_value(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (std::isinf(a) || std::isinf(b)) return a == b;
    return std::fabs(a - b) <= 1e-9 * (1 + std::fabs(b));
}

}  // namespace

TEST_CASE("simplify", "[properties]") {
    rc::prop("never changes a value beyond rounding, NaN and inf included", [] {
        const auto program = instructions(14);
        const RandomGraph p = build(3, 2, program);
        const Expr roots[] = {p.output};
        const auto vars = variables(roots);
        std::vector<Expr> outputs{p.output};
        const auto grads = grad(p.output, vars);
        outputs.insert(outputs.end(), grads.begin(), grads.end());
        const auto simplified = simplify(outputs);
        // Ordinary points, and points with inf, -inf, NaN, 0 and -0 in them.
        const auto seed = *rc::gen::inRange<std::uint64_t>(0, 1000);
        Bindings ordinary = symgrad::testing::random_bindings(vars, -1.5, 1.5, seed);
        Bindings special = ordinary;
        const double specials[] = {INFINITY, -INFINITY, NAN, 0.0, -0.0};
        std::size_t k = seed;
        for (auto& [name, value] : special) {
            // Every other element special, so a rule that mishandles inf or NaN meets one.
            Tensor t = value.clone();
            for (std::int64_t i = 0; i < t.numel(); i += 2) t.set(i, specials[k++ % 5]);
            value = t;
        }
        for (const Bindings* at : {&ordinary, &special}) {
            const auto before = evaluate(outputs, *at);
            const auto after = evaluate(simplified, *at);
            for (std::size_t o = 0; o < before.size(); ++o) {
                RC_ASSERT(before[o].shape() == after[o].shape());
                for (std::int64_t i = 0; i < before[o].numel(); ++i) {
                    RC_LOG() << to_string(outputs[o]) << "\n  became\n" << to_string(simplified[o]) << "\n";
                    RC_ASSERT(same_value(after[o].get(i), before[o].get(i)));
                }
            }
        }
    });
}

namespace {

using symgrad::testing::same_bits;

// A random graph with its gradients, a block size, and values (with infinities, NaN and signed zeros half the time):
// what the properties of the fused engine run.
struct EngineCase {
    std::vector<Expr> outputs;
    Bindings at;
    CompileOptions options;
};

EngineCase engine_case() {
    const auto batch = *rc::gen::inRange<std::int64_t>(1, 40);
    const auto units = *rc::gen::inRange<std::int64_t>(1, 40);
    const auto program = instructions(14);
    const auto dtype = *rc::gen::element(DType::float32, DType::float64);
    EngineCase c;
    c.options.block = *rc::gen::element<std::size_t>(1, 7, 64, 1024);
    const RandomGraph p = build(batch, units, program, dtype);
    c.outputs = {p.output};
    const auto grads = grad(p.output, p.variables);
    c.outputs.insert(c.outputs.end(), grads.begin(), grads.end());
    c.at = symgrad::testing::random_bindings(p.variables, -1.5, 1.5, 3);
    if (*rc::gen::arbitrary<bool>()) {
        const double specials[] = {INFINITY, -INFINITY, NAN, 0.0, -0.0};
        std::size_t k = 0;
        for (auto& [name, value] : c.at) {
            Tensor t = value.clone();
            for (std::int64_t i = 0; i < t.numel(); i += 3) t.set(i, specials[k++ % 5]);
            value = t;
        }
    }
    return c;
}

}  // namespace

TEST_CASE("the fused engine", "[properties]") {
    // Whatever the kernel set (vector width) and block size.
    rc::prop("computes exactly what the reference evaluator computes, gradients included", [] {
        EngineCase c = engine_case();
        c.options.isa = *rc::gen::elementOf(available_instruction_sets());
        c.options.backend = Backend::interpreter;
        const Program compiled = compile(c.outputs, c.options);
        const auto expected = evaluate(c.outputs, c.at);
        const auto got = compiled.run(c.at);
        RC_ASSERT(got.size() == expected.size());
        for (std::size_t o = 0; o < got.size(); ++o) {
            RC_LOG() << compiled.describe();
            RC_ASSERT(same_bits(got[o], expected[o]));
        }
    });
}

TEST_CASE("the native backend", "[properties][native]") {
    // Each case compiles a program (a few tenths of a second), so fewer cases than the other properties.
    rc::detail::TestParams params = rc::detail::configuration().testParams;
    params.maxSuccess = std::min(params.maxSuccess, 20);
    const auto result = rc::detail::checkTestable(
        [] {
            EngineCase c = engine_case();
            c.options.threads = *rc::gen::element<std::size_t>(1, 3);
            c.options.backend = Backend::native;
            const Program compiled = compile(c.outputs, c.options);
            const NativeReport report = compiled.prepare_native();
            RC_LOG() << report.why_not;
            RC_ASSERT(report.native);
            // The interpreter with the same threads and block: sums to a scalar add one partial sum per thread.
            c.options.backend = Backend::interpreter;
            const auto expected = c.options.threads == 1 ? evaluate(c.outputs, c.at) : compile(c.outputs, c.options).run(c.at);
            const auto got = compiled.run(c.at);
            RC_ASSERT(got.size() == expected.size());
            for (std::size_t o = 0; o < got.size(); ++o) {
                RC_LOG() << compiled.describe();
                RC_ASSERT(same_bits(got[o], expected[o]));
            }
        },
        rc::detail::TestMetadata{}, params);
    std::ostringstream message;
    rc::detail::printResultMessage(result, message);
    INFO("computes exactly what the reference evaluator computes, gradients included\n" << message.str());
    REQUIRE(result.template is<rc::detail::SuccessResult>());
}

TEST_CASE("broadcasting", "[properties]") {
    rc::prop("broadcast_shapes is commutative and matches the evaluator", [] {
        const auto rank_a = *rc::gen::inRange<std::size_t>(0, 4);
        const auto rank_b = *rc::gen::inRange<std::size_t>(0, 4);
        std::vector<std::int64_t> a;
        std::vector<std::int64_t> b;
        for (std::size_t i = 0; i < rank_a; ++i) a.push_back(*rc::gen::inRange<std::int64_t>(1, 4));
        for (std::size_t i = 0; i < rank_b; ++i) b.push_back(*rc::gen::inRange<std::int64_t>(1, 4));
        const Shape sa(a);
        const Shape sb(b);
        bool ok = true;
        Shape ab;
        try {
            ab = broadcast_shapes(sa, sb);
        } catch (const ShapeError&) {
            ok = false;
        }
        if (!ok) {
            RC_ASSERT_THROWS_AS(broadcast_shapes(sb, sa), ShapeError);
            RC_ASSERT_THROWS_AS(var("a", sa) + var("b", sb), ShapeError);
            return;
        }
        RC_ASSERT(broadcast_shapes(sb, sa) == ab);
        RC_ASSERT(broadcastable_to(sa, ab));
        RC_ASSERT(broadcastable_to(sb, ab));
        const Tensor value = evaluate(var("a", sa) + var("b", sb), {{"a", Tensor::ones(sa)}, {"b", Tensor::ones(sb)}});
        RC_ASSERT(value.shape() == ab);
    });
}
