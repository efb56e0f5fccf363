#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>

#include "helpers.hpp"

using namespace symgrad;

namespace {

std::vector<Expr> with_gradients(const Expr& y) {
    const Expr roots[] = {y};
    const auto vars = variables(roots);
    std::vector<Expr> outputs{y};
    const auto grads = grad(y, vars);
    outputs.insert(outputs.end(), grads.begin(), grads.end());
    return outputs;
}

}  // namespace

namespace {

// Destroyed at exit, after main returns and after this thread's thread-local objects: graphs (and the program
// cache, which holds one) must come apart without them. A chain deep enough to overflow the stack if they did not.
const Expr global_chain = [] {
    Expr y = var("g", {2});
    for (int i = 0; i < 200000; ++i) y = sin(y) + 1;
    return y;
}();

}  // namespace

TEST_CASE("compile_cached plans a graph once; run_compiled evaluates through it", "[compile]") {
    const Expr x = var("x", {4, 3});
    const Expr a = var("a", {3});
    const Expr roots[] = {x * tanh(a * x)};
    const Program first = compile_cached(roots);
    // The same graph built again is the same nodes: the cache answers with the same plan.
    const Expr again[] = {x * tanh(a * x)};
    CHECK(compile_cached(again) == first);
    CHECK(!(compile(roots) == first));
    CompileOptions two_threads;
    two_threads.threads = 2;
    CHECK(!(compile_cached(roots, two_threads) == first));
    const Bindings at = {{"x", Tensor::uniform({4, 3}, -2, 2, 1)}, {"a", Tensor::uniform({3}, -2, 2, 2)}};
    CHECK(run_compiled(roots[0], at).identical(evaluate(roots[0], at)));
    const Expr global_roots[] = {global_chain};
    CHECK(compile_cached(global_roots).step_count() > 1);  // keeps the global graph in the cache until exit
}

TEST_CASE("an elementwise chain of one shape is one fused region", "[compile]") {
    const Expr x = var("x", {64, 16});
    const Expr beta = var("beta", {16});
    const Expr y = x * sigmoid(beta * x);
    const Expr roots[] = {y};
    const Program forward = compile(roots);
    CHECK(forward.region_count() == 1);
    CHECK(forward.describe() == "stage 1: fused 3 over [64, 16] (mul sigmoid mul), writes 1\n");
    // With its gradients: the per-element work is still one region, and the per-unit sum over the batch is
    // accumulated in the same pass (nothing of shape [64, 16] but y and dx is written).
    const auto outputs = with_gradients(y);
    const Program both = compile(outputs);
    CHECK(both.region_count() == 1);
    CHECK(both.describe().find("stage 2") == std::string::npos);
    CHECK(both.describe().find("writes 2, reduces (sum [16])") != std::string::npos);
}

TEST_CASE("sums and means over leading axes join the pass that computes or reads their operand", "[compile]") {
    const Expr x = var("x", {33, 5, 3});
    const Expr dy = var("dy", {33, 5, 3});
    const Expr a = var("a", {3});
    // mean over the batch of a region value, sum over two axes with keepdims, the sum of a leaf (dy), a total.
    const Expr h = tanh(a * x) * dy;
    const std::vector<Expr> outputs{mean(h, {0}), sum(h * x, {0, 1}, true), sum(dy, {0}), sum(h), h};
    const Program p = compile(outputs);
    INFO(p.describe());
    CHECK(p.region_count() == 1);
    CHECK(p.describe().find("reduces (mean [5, 3], sum [1, 1, 3], sum [5, 3], sum [])") != std::string::npos);
    Bindings at = {
        {"x", Tensor::uniform({33, 5, 3}, -2, 2, 1)}, {"dy", Tensor::uniform({33, 5, 3}, -2, 2, 2)}, {"a", Tensor::uniform({3}, -2, 2, 3)}};
    const auto expected = evaluate(outputs, at);
    for (const std::size_t block : {1, 4, 7, 1024}) {
        CompileOptions options;
        options.block = block;
        const auto got = compile(outputs, options).run(at);
        for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k].identical(expected[k]));
    }
    // A reduction over other axes stays a step of its own; so does the sum of a leaf no region of its shape reads.
    const Expr inner[] = {sum(tanh(x), {2}), sum(tanh(x), {1}), sum(a, {0})};
    const std::string plan = compile(inner).describe();
    CHECK(plan.find("reduces") == std::string::npos);
    INFO(plan);
    CHECK(plan.find("stage 2: sum [33, 5]") != std::string::npos);
    CHECK(plan.find("stage 2: sum [33, 3]") != std::string::npos);
    CHECK(plan.find("stage 1: sum []") != std::string::npos);
}

TEST_CASE("regions with no elements run, and their sums are zeros (means NaN), as in the reference", "[compile]") {
    const Expr x = var("x", {0, 3});
    const Expr a = var("a", {3});
    const Expr h = tanh(a * x) + 1;
    const std::vector<Expr> outputs{h, sum(h, {0}), mean(h, {0}), sum(h)};
    const Bindings at = {{"x", Tensor::zeros({0, 3})}, {"a", Tensor::uniform({3}, -1, 1, 1)}};
    const auto expected = evaluate(outputs, at);
    for (const std::size_t threads : {1, 2}) {
        CompileOptions options;
        options.threads = threads;
        const auto got = compile(outputs, options).run(at);
        for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k].identical(expected[k]));
    }
}

TEST_CASE("threads: elementwise results are exact, fused sums agree to rounding and repeat bit for bit", "[compile]") {
    for (const DType dtype : {DType::float32, DType::float64}) {
        INFO(dtype_name(dtype));
        const Expr x = var("x", {1000, 64}, dtype);
        const Expr beta = var("beta", {64}, dtype);
        const auto outputs = with_gradients(x * sigmoid(beta * x));
        const Expr roots[] = {outputs[0]};
        const Bindings at = symgrad::testing::random_bindings(roots, -2, 2, 9);
        const auto expected = evaluate(outputs, at);
        for (const std::size_t threads : {2, 3, 0}) {
            INFO(threads << " threads");
            CompileOptions options;
            options.threads = threads;
            options.block = 256;
            const Program p = compile(outputs, options);
            const auto got = p.run(at);
            CHECK(got[0].identical(expected[0]));  // y
            CHECK(got[1].identical(expected[1]));  // dx
            // dbeta: per-thread partial sums (in double) added in order.
            for (std::int64_t j = 0; j < 64; ++j) CHECK(got[2].get(j) == Approx(expected[2].get(j)).epsilon(1e-6));
            CHECK(p.run(at)[2].identical(got[2]));
        }
    }
}

TEST_CASE("values of another shape come in through broadcast, reductions start a new stage", "[compile]") {
    const Expr x = var("x", {8, 4});
    const Expr centered = x - mean(x, {1}, true);
    const Expr y = tanh(centered) * 2;
    const Expr roots[] = {y};
    const Program p = compile(roots);
    CHECK(p.region_count() == 1);  // the mean is a step of its own; x - mean(...) and what follows: one region
    const std::string plan = p.describe();
    CHECK(plan.find("stage 1: mean [8, 1]") != std::string::npos);
    CHECK(plan.find("stage 2: fused 3 over [8, 4] (sub tanh mul), writes 1") != std::string::npos);
    const Bindings at = {{"x", Tensor::uniform({8, 4}, -2, 2, 1)}};
    CHECK(p.run(at)[0].identical(evaluate(y, at)));
}

TEST_CASE("the engine agrees exactly with the reference on the activations, in both dtypes", "[compile]") {
    for (const DType dtype : {DType::float32, DType::float64}) {
        for (const char* text :
             {"x * sigmoid(beta * x)", "p1 * sigmoid(p2 * x + b1) + b2", "max(x, 0) + a * min(x, 0)", "where(x > 0, x, alpha * expm1(x))",
              "x + sin(a * x)^2 / a", "(a0 + a1*x + a2*x^2 + a3*x^3) / (1 + abs(b1*x + b2*x^2))"}) {
            INFO(text << " " << dtype_name(dtype));
            ParseOptions options;
            options.dtype = dtype;
            options.shapes["x"] = Shape{300, 7};  // several blocks of 1024, and a ragged last one
            for (const char* unit : {"beta", "p1", "p2", "b1", "b2", "a"}) options.shapes[unit] = Shape{7};
            const auto outputs = with_gradients(parse(text, options));
            const Expr roots[] = {outputs[0]};
            const Bindings at = symgrad::testing::random_bindings(variables(roots), -2, 2, 5);
            const auto expected = evaluate(outputs, at);
            for (const auto& isa : available_instruction_sets()) {
                INFO(isa);
                CompileOptions compile_options;
                compile_options.isa = isa;
                const auto got = compile(outputs, compile_options).run(at);
                for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k].identical(expected[k]));
            }
        }
    }
}

TEST_CASE("squares and cubes are products, in the reference and in the engine; other powers are pow's", "[compile]") {
    for (const DType dtype : {DType::float32, DType::float64}) {
        const Expr x = var("x", {50}, dtype);
        const std::vector<Expr> outputs{pow(x, 2), pow(x, 3), pow(x, 2.5), pow(x, -1)};
        Bindings at = {{"x", Tensor::uniform({50}, -3, 3, 4, dtype)}};
        at["x"].set(0, INFINITY);
        at["x"].set(1, NAN);
        at["x"].set(2, -0.0);
        const auto expected = evaluate(outputs, at);
        for (std::int64_t i = 0; i < 50; ++i) {
            const double v = at["x"].get(i);
            if (dtype == DType::float32) {
                const auto f = static_cast<float>(v);
                CHECK(std::bit_cast<std::uint32_t>(static_cast<float>(expected[0].get(i))) == std::bit_cast<std::uint32_t>(f * f));
                CHECK(std::bit_cast<std::uint32_t>(static_cast<float>(expected[1].get(i))) == std::bit_cast<std::uint32_t>(f * f * f));
            } else if (!std::isnan(v)) {
                CHECK(expected[0].get(i) == v * v);
                CHECK(expected[1].get(i) == v * v * v);
            }
        }
        for (const auto& isa : available_instruction_sets()) {
            CompileOptions options;
            options.isa = isa;
            const auto got = compile(outputs, options).run(at);
            for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k].identical(expected[k]));
        }
    }
}

TEST_CASE("arithmetic read by one arithmetic instruction runs in its reader's loop, with the same roundings", "[compile]") {
    // Horner steps (mul into add), and every pair of add, sub, mul and div with the inner result on either side
    // (each inner node read once: a per-pair parameter keeps hash-consing from sharing them).
    const Expr x = var("x", {40, 6});
    const Expr a = var("a", {6});
    const Expr c = var("c", {40, 6});
    std::vector<Expr> outputs{1 + x * (2 + x * (3 + x * a))};
    const std::vector<Expr (*)(const Operand&, const Operand&)> ops{add, sub, mul, div};
    Bindings at = {
        {"x", Tensor::uniform({40, 6}, -2, 2, 1)}, {"a", Tensor::uniform({6}, -2, 2, 2)}, {"c", Tensor::uniform({40, 6}, 0.5, 2, 3)}};
    for (std::size_t i = 0; i < 4; ++i) {
        for (std::size_t o = 0; o < 4; ++o) {
            const std::string name = fmt::format("p{}{}", i, o);
            const Expr p = var(name, {6});
            at.emplace(name, Tensor::uniform({6}, 0.5, 2, 10 + 4 * i + o));
            outputs.push_back(ops[o](ops[i](x, p), c));
            outputs.push_back(ops[o](c, ops[i](p, x)));
        }
    }
    at["x"].set(0, NAN);
    at["x"].set(1, INFINITY);
    const auto expected = evaluate(outputs, at);
    for (const auto& isa : available_instruction_sets()) {
        CompileOptions options;
        options.isa = isa;
        const Program p = compile(outputs, options);
        CHECK(p.fused_pair_count() == 3 + 32);
        const auto got = p.run(at);
        for (std::size_t k = 0; k < got.size(); ++k) {
            INFO(isa << " output " << k);
            CHECK(got[k].identical(expected[k]));
        }
    }
}

TEST_CASE("matrix products go through BLAS, transposes read in place, and agree with the reference", "[compile]") {
    for (const DType dtype : {DType::float32, DType::float64}) {
        INFO(dtype_name(dtype));
        const Expr a = var("a", {2, 5, 7}, dtype);
        const Expr b = var("b", {7, 3}, dtype);
        const Expr w = var("w", {4, 7}, dtype);
        const Expr e = var("e", {0, 7}, dtype);
        // A batch broadcast against a matrix, both transposes (the gradients of a linear layer), a transpose read
        // by something else too, an empty inner or outer dimension.
        const Expr t = transpose(w);
        const Expr y = matmul(a, b);
        const Expr loss = sum(tanh(matmul(a, t)));
        std::vector<Expr> outputs{y, matmul(transpose(b), transpose(a, 1, 2)), loss, t * 2, matmul(e, b)};
        const auto grads = grad(loss, std::vector<Expr>{a, w});
        outputs.insert(outputs.end(), grads.begin(), grads.end());
        const Expr roots[] = {a, b, w, e};
        const Bindings at = symgrad::testing::random_bindings(roots, -1, 1, 7);
        const auto expected = evaluate(outputs, at);
        for (const std::size_t threads : {1, 2, 3}) {
            CompileOptions options;
            options.threads = threads;
            const auto got = compile(outputs, options).run(at);
            for (std::size_t k = 0; k < got.size(); ++k) {
                INFO("output " << k << ", " << threads << " threads");
                REQUIRE(got[k].shape() == expected[k].shape());
                const double tolerance = dtype == DType::float32 ? 1e-5 : 1e-13;
                for (std::int64_t i = 0; i < got[k].numel(); ++i) CHECK(got[k].get(i) == Approx(expected[k].get(i)).margin(tolerance));
            }
        }
    }
    // Without BLAS, the reference's product: the same bits.
    {
        const Expr a = var("a", {3, 4});
        const Expr roots[] = {matmul(a, transpose(a))};
        const Bindings at = symgrad::testing::random_bindings(roots, -1, 1, 3);
        CompileOptions options;
        options.blas = false;
        CHECK(compile(roots, options).run(at)[0].identical(evaluate(roots[0], at)));
    }
    // A transpose read only by matrix products is not materialized: no permute step for v's or x's transpose
    // (dv itself ends with a transpose of a product, which is an output and is computed).
    const Expr x = var("x", {8, 6});
    const Expr v = var("v", {5, 6});
    const Expr z = matmul(x, transpose(v));
    const auto dv = grad(sum(z * z), std::vector<Expr>{v});
    const Expr plan_roots[] = {z, dv[0]};
    const std::string plan = compile(plan_roots).describe();
    INFO(plan);
    CHECK(plan.find("permute [6, 5]") == std::string::npos);
    CHECK(plan.find("permute [6, 8]") == std::string::npos);
    CHECK(plan.find("matmul [6, 5]") != std::string::npos);
}

TEST_CASE("every elementwise primitive has a block kernel in every kernel set; sets are chosen by name", "[compile]") {
    const auto isas = available_instruction_sets();
    REQUIRE(!isas.empty());
    CHECK(isas.back() == "generic");
    for (const auto& isa : isas) {
        CompileOptions options;
        options.isa = isa;
        // One region holding every elementwise primitive, on values that include the special ones.
        const Expr x = var("x", {5, 3});
        const Expr a = var("a", {3});
        for (const OpInfo& row : op_table()) {
            if (row.kind != OpClass::elementwise) continue;
            INFO(isa << " " << row.name);
            const Expr operands[] = {x, a, x * a};
            const Expr y = apply_exprs(row.op, std::span<const Expr>(operands, row.arity));
            const Expr roots[] = {y};
            const Program p = compile(roots, options);
            CHECK(p.instruction_set() == isa);
            Bindings at = {{"x", Tensor::uniform({5, 3}, -2, 2, 1)}, {"a", Tensor::uniform({3}, -2, 2, 2)}};
            const double specials[] = {INFINITY, -INFINITY, NAN, 0.0, -0.0, 1e-40};
            for (std::int64_t i = 0; i < 6; ++i) at["x"].set(i * 2, specials[i]);
            CHECK(p.run(at)[0].identical(evaluate(y, at)));
        }
    }
    CompileOptions bad;
    bad.isa = "sse9";
    const Expr x = var("x", {2});
    const Expr roots[] = {exp(x)};
    CHECK_THROWS_WITH(compile(roots, bad), Catch::Contains("unknown instruction set 'sse9'"));
}

TEST_CASE("every kernel set agrees with the reference over a sweep of the whole float range", "[compile]") {
    // Every 65521st float32 bit pattern (65,551 values: both signs, subnormals, huge, inf and NaN) through every
    // unary elementwise primitive and its derivative, fused, on each kernel set this CPU runs: the vector code of
    // vmath and of the kernels, against the reference evaluator's scalar code. CI runs this under emulated CPUs.
    std::vector<double> values;
    for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 65521) {
        values.push_back(static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(bits))));
    }
    for (const DType dtype : {DType::float32, DType::float64}) {
        const Shape shape{static_cast<std::int64_t>(values.size())};
        const Expr x = var("x", shape, dtype);
        std::vector<Expr> outputs;
        for (const OpInfo& row : op_table()) {
            if (row.kind != OpClass::elementwise || row.arity != 1) continue;
            const Expr operands[] = {x};
            const Expr y = apply_exprs(row.op, operands);
            outputs.push_back(y);
            if (row.vjp) outputs.push_back(grad(y, std::vector<Expr>{x})[0]);
        }
        const Bindings at = {{"x", Tensor::from_values(shape, values, dtype)}};
        const auto expected = evaluate(outputs, at);
        for (const auto& isa : available_instruction_sets()) {
            CompileOptions options;
            options.isa = isa;
            const auto got = compile(outputs, options).run(at);
            for (std::size_t k = 0; k < got.size(); ++k) {
                INFO(isa << " " << dtype_name(dtype) << " " << to_string(outputs[k]));
                CHECK(got[k].identical(expected[k]));
            }
        }
    }
}

TEST_CASE("kernel sets: the CPU is asked, and a set it cannot run is a clear error", "[compile]") {
    const auto isas = available_instruction_sets();
    // Under the emulated CPUs (tests/CMakeLists.txt) the sets the CPU must report are known in advance.
    if (const char* expected = std::getenv("SYMGRAD_EXPECT_ISAS")) CHECK(fmt::format("{}", fmt::join(isas, ",")) == expected);
    for (const std::string name : {"avx512", "avx2", "generic"}) {
        CompileOptions options;
        options.isa = name;
        const Expr x = var("x", {3});
        const Expr roots[] = {exp(x)};
        if (std::find(isas.begin(), isas.end(), name) != isas.end()) {
            CHECK(resolve_instruction_set(name) == name);
            CHECK(compile(roots, options).instruction_set() == name);
            continue;
        }
        INFO(name);
        const std::string message = symgrad::testing::message_of([&] { compile(roots, options); });
        const bool cpu_lacks =
            message.starts_with(fmt::format("this CPU cannot run the '{}' kernels (it runs: {})", name, fmt::join(isas, ", ")));
        const bool build_lacks = message.starts_with(fmt::format("this build of symgrad has no '{}' kernels", name));
        CHECK((cpu_lacks || build_lacks));
        CHECK_THROWS_WITH(resolve_instruction_set(name), message);
    }
    const char* forced = std::getenv("SYMGRAD_ISA");
    const bool chosen = forced && *forced && std::string_view(forced) != "auto";
    CHECK(resolve_instruction_set("auto") == (chosen ? resolve_instruction_set(forced) : isas.front()));
}

TEST_CASE("SYMGRAD_ISA chooses the set for 'auto', and a bad choice names the variable", "[compile]") {
    const char* saved = std::getenv("SYMGRAD_ISA");
    const std::string restore = saved ? saved : "";
    ::setenv("SYMGRAD_ISA", "generic", 1);
    CHECK(resolve_instruction_set() == "generic");
    ::setenv("SYMGRAD_ISA", "sse9", 1);
    CHECK_THROWS_WITH(resolve_instruction_set(),
                      "SYMGRAD_ISA=sse9: unknown instruction set 'sse9': expected auto, avx512, avx2 or generic");
    ::setenv("SYMGRAD_ISA", "auto", 1);
    CHECK(resolve_instruction_set() == available_instruction_sets().front());
    if (saved) {
        ::setenv("SYMGRAD_ISA", restore.c_str(), 1);
    } else {
        ::unsetenv("SYMGRAD_ISA");
    }
}

TEST_CASE("a program runs again with new values; binding errors are the evaluator's", "[compile]") {
    const Expr x = var("x", {3});
    const Expr y = exp(x) * 2;
    const Expr roots[] = {y};
    const Program p = compile(roots);
    CHECK(p.run({{"x", Tensor::zeros({3})}})[0].to_vector() == std::vector<double>{2, 2, 2});
    CHECK(p.run({{"x", Tensor::full({3}, std::log(2.0))}})[0].to_vector()[0] == Approx(4).epsilon(1e-15));
    CHECK_THROWS_AS(p.run({}), BindingError);
    CHECK_THROWS_AS(p.run({{"x", Tensor::zeros({4})}}), BindingError);
    const Expr empty_output[] = {Expr()};
    CHECK_THROWS_AS(compile(empty_output), Error);
}

TEST_CASE("long elementwise chains are split into bounded regions and still agree", "[compile]") {
    // 20,000 links of one shape: one stage, split into regions of at most 128 instructions.
    const Expr x = var("x", {5});
    const Expr w = var("w", {});
    Expr y = x;
    for (int i = 0; i < 20'000; ++i) y = y * w + x;
    const Expr roots[] = {y, grad(y, {w})[0]};
    const Program p = compile(roots);
    CHECK(p.region_count() > 300);
    const Bindings at = {{"x", Tensor::uniform({5}, -1, 1, 2)}, {"w", Tensor::scalar(0.9999)}};
    const auto expected = evaluate(roots, at);
    const auto got = p.run(at);
    CHECK(got[0].identical(expected[0]));
    CHECK(got[1].identical(expected[1]));
}
