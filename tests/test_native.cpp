// The native backend (src/exec/native.hpp): generated code gives the reference evaluator's bits on every row of the
// primitive table; the disk cache serves, survives damage and concurrency; every way it cannot run falls back to
// the interpreter. (The random-graph property is in test_properties.cpp.)
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "exec/native.hpp"
#include "helpers.hpp"
#include "same_bits.hpp"

using namespace symgrad;
using symgrad::testing::same_bits;
namespace fs = std::filesystem;

namespace {

// Sets (or, with nullptr, unsets) an environment variable until the end of the scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        had_ = std::getenv(name) != nullptr;
        if (value) {
            setenv(name, value, 1);
        } else {
            unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (had_) {
            setenv(name_.c_str(), old_.c_str(), 1);
        } else {
            unsetenv(name_.c_str());
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
    std::string old_;
    bool had_ = false;
};

// An empty directory of this test's own.
fs::path fresh_directory(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / fmt::format("symgrad-native-test-{}-{}", name, static_cast<long>(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// A fresh directory in SYMGRAD_CACHE_DIR until the end of the scope, then removed (also when a test fails).
class TestCache {
public:
    explicit TestCache(const std::string& name) : dir_(fresh_directory(name)), env_("SYMGRAD_CACHE_DIR", dir_.c_str()) {}
    ~TestCache() {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    TestCache(const TestCache&) = delete;
    TestCache& operator=(const TestCache&) = delete;
    const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
    ScopedEnv env_;
};

std::size_t entries_in(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& file : fs::directory_iterator(dir)) n += file.path().extension() == ".kernel" ? 1 : 0;
    return n;
}

CompileOptions native_options() {
    CompileOptions options;
    options.backend = Backend::native;
    return options;
}

// swish_beta and its gradients: a small program with a per-unit sum.
std::vector<Expr> swish_program(std::int64_t batch = 9, std::int64_t units = 37) {
    const Expr x = var("x", {batch, units}, DType::float32);
    const Expr beta = var("beta", {units}, DType::float32);
    const Expr y = x * sigmoid(beta * x);
    std::vector<Expr> outputs{y};
    for (const auto& g : grad(y, {x, beta})) outputs.push_back(g);
    return outputs;
}

Bindings swish_bindings(std::int64_t batch = 9, std::int64_t units = 37) {
    return {{"x", Tensor::uniform({batch, units}, -3, 3, 1, DType::float32)}, {"beta", Tensor::uniform({units}, 0.5, 2, 2, DType::float32)}};
}

// Each elementwise row of the table applied to a, b, c (as many as it takes), and each binary one to a and a constant.
std::vector<Expr> every_elementwise_row(const Expr& a, const Expr& b, const Expr& c) {
    std::vector<Expr> outputs;
    for (const OpInfo& info : op_table()) {
        if (info.kind != OpClass::elementwise) continue;
        const Operand operands[3] = {a, b, c};
        outputs.push_back(apply(info.op, std::span<const Operand>(operands, info.arity)));
        if (info.arity == 2) {
            const Operand with_constant[2] = {a, Operand(0.75)};
            outputs.push_back(apply(info.op, with_constant));
        }
    }
    return outputs;
}

void require_same_as_reference(const Program& program, std::span<const Expr> outputs, const Bindings& at) {
    const auto expected = evaluate(outputs, at);
    const auto got = program.run(at);
    REQUIRE(got.size() == expected.size());
    for (std::size_t o = 0; o < got.size(); ++o) {
        INFO("output " << o << ": " << to_inline_string(outputs[o], 120));
        REQUIRE(same_bits(got[o], expected[o]));
    }
}

}  // namespace

TEST_CASE("every elementwise row compiles natively and gives the reference's bits", "[native]") {
    const TestCache cache("rows");
    for (const DType dtype : {DType::float32, DType::float64}) {
        // Odd sizes leave tails after the vector loops; b is broadcast along the batch, c is a scalar.
        const Expr a = var("a", {5, 37}, dtype);
        const Expr b = var("b", {37}, dtype);
        const Expr c = var("c", {}, dtype);
        std::vector<Expr> outputs = every_elementwise_row(a, b, c);
        // The pow variants (products for the exponents 2 to 8), a power past them, and the gradients with their
        // sums: per unit (b) and to a scalar (c), several in one region.
        for (const int n : {2, 3, 4, 5, 6, 7, 8, 9}) outputs.push_back(pow(a, n));
        // Exponents the C library's pow gets at run time (g++ would fold pow(x, -1.0) into 1 / x, another rounding).
        for (const double e : {-1.0, 0.0, 1.0, 0.5, -0.5, -2.0}) outputs.push_back(pow(a, e));
        Expr total = constant(0.0, dtype);
        for (const auto& out : outputs) total = total + sum(out * out);
        for (const auto& g : grad(total, {a, b, c})) outputs.push_back(g);
        const Program program = compile(outputs, native_options());
        const NativeReport report = program.prepare_native();
        INFO(report.why_not);
        REQUIRE(report.native);
        REQUIRE(report.compiled);
        REQUIRE(program.backend() == "native");
        Bindings at{{"a", Tensor::uniform({5, 37}, -2, 2, 3, dtype)}, {"b", Tensor::uniform({37}, -2, 2, 4, dtype)},
                    {"c", Tensor::uniform({}, 0.5, 1.5, 5, dtype)}};
        require_same_as_reference(program, outputs, at);
        // IEEE specials through every kernel.
        Tensor special = at.at("a").clone();
        const double values[] = {INFINITY, -INFINITY, NAN, 0.0, -0.0, 1e-40, 88.5, -104.0};
        for (std::int64_t i = 0; i < special.numel(); ++i) special.set(i, values[i % 8]);
        at["a"] = special;
        require_same_as_reference(program, outputs, at);
    }
}

TEST_CASE("the native backend gives the interpreter's bits on every thread count and block size", "[native]") {
    const TestCache cache("threads");
    // 601 x 97 = 58,297 elements: three chunks of whole blocks on three threads (a chunk is at least 16,384), so
    // chunks that start inside a row of units, and three rows of partial sums.
    const auto outputs = swish_program(601, 97);
    const auto at = swish_bindings(601, 97);
    for (const std::size_t threads : {1, 3}) {
        for (const std::size_t block : {7, 1024}) {
            CompileOptions options = native_options();
            options.threads = threads;
            options.block = block;
            CompileOptions interpreted = options;
            interpreted.backend = Backend::interpreter;
            const auto expected = compile(outputs, interpreted).run(at);
            const Program program = compile(outputs, options);
            REQUIRE(program.prepare_native().native);
            const auto got = program.run(at);
            for (std::size_t o = 0; o < got.size(); ++o) REQUIRE(same_bits(got[o], expected[o]));
        }
    }
}

TEST_CASE("the kernel cache serves a second program and rebuilds a damaged or foreign entry", "[native]") {
    const TestCache cache("cache");
    const fs::path& dir = cache.dir();
    const auto outputs = swish_program();
    const auto at = swish_bindings();
    CHECK(native_cache_directory() == dir.string());

    const NativeReport first = compile(outputs, native_options()).prepare_native();
    REQUIRE(first.native);
    CHECK(first.compiled);
    CHECK_FALSE(first.from_cache);
    REQUIRE(entries_in(dir) == 1);

    const Program second = compile(outputs, native_options());
    const NativeReport warm = second.prepare_native();
    REQUIRE(warm.native);
    CHECK(warm.from_cache);
    CHECK_FALSE(warm.compiled);
    require_same_as_reference(second, outputs, at);
    CHECK(native_cache_usage().entries == 1);

    fs::path entry;
    for (const auto& file : fs::directory_iterator(dir)) entry = file.path();
    const auto size = fs::file_size(entry);
    SECTION("a truncated entry is rebuilt") { fs::resize_file(entry, size / 2); }
    SECTION("a damaged object is rebuilt") {
        std::fstream file(entry, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(static_cast<std::streamoff>(size - 100));
        file.write("\x00\x01\x02\x03", 4);
    }
    SECTION("a foreign file under the entry's name is rebuilt, not loaded") {
        std::ofstream(entry, std::ios::binary) << "symgrad-kernel 1\n5 3 0\nhello\x7f" "EL";
    }
    SECTION("another program's entry under this name is rebuilt") {
        const Expr x = var("x", {9, 37}, DType::float32);
        const Program other = compile(std::vector<Expr>{exp(x) + 1}, native_options());
        REQUIRE(other.prepare_native().native);
        fs::path other_entry;
        for (const auto& file : fs::directory_iterator(dir)) {
            if (file.path() != entry) other_entry = file.path();
        }
        fs::copy_file(other_entry, entry, fs::copy_options::overwrite_existing);
    }
    const Program third = compile(outputs, native_options());
    const NativeReport rebuilt = third.prepare_native();
    REQUIRE(rebuilt.native);
    CHECK(rebuilt.compiled);
    require_same_as_reference(third, outputs, at);
    // And the rebuilt entry serves the next one.
    CHECK(compile(outputs, native_options()).prepare_native().from_cache);

    CHECK(clear_native_cache() >= 1);
    CHECK(native_cache_usage().entries == 0);
}

TEST_CASE("programs compiling the same kernels at once all get them", "[native]") {
    const TestCache cache("concurrent");
    const fs::path& dir = cache.dir();
    const auto outputs = swish_program(11, 29);
    const auto at = swish_bindings(11, 29);
    const auto expected = evaluate(outputs, at);
    std::vector<int> ok(4, 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < ok.size(); ++t) {
        threads.emplace_back([&, t] {
            const Program program = compile(outputs, native_options());
            if (!program.prepare_native().native) return;
            const auto got = program.run(at);
            bool same = true;
            for (std::size_t o = 0; o < got.size(); ++o) same = same && same_bits(got[o], expected[o]);
            ok[t] = same ? 1 : 0;
        });
    }
    for (auto& thread : threads) thread.join();
    for (const int k : ok) CHECK(k == 1);
    CHECK(entries_in(dir) == 1);
    for (const auto& file : fs::directory_iterator(dir)) CHECK(file.path().filename().string().rfind("symgrad-tmp-", 0) != 0);
}

TEST_CASE("without a compiler or a writable cache the interpreter runs, and says why", "[native]") {
    const auto outputs = swish_program();
    const auto at = swish_bindings();
    SECTION("no compiler") {
        const TestCache cache("nocompiler");
        ScopedEnv cxx("SYMGRAD_CXX", "/nonexistent/bin/g++");
        const Program program = compile(outputs, native_options());
        const NativeReport report = program.prepare_native();
        CHECK_FALSE(report.native);
        CHECK_THAT(report.why_not, Catch::Contains("no C++ compiler") && Catch::Contains("/nonexistent/bin/g++"));
        CHECK(program.backend() == "interpreter");
        require_same_as_reference(program, outputs, at);
    }
    SECTION("flags in the compiler command are kept, and are part of the cache key") {
        const TestCache cache("cxxflags");
        const fs::path& dir = cache.dir();
        {
            ScopedEnv cxx("SYMGRAD_CXX", "g++ -O1");
            const Program program = compile(outputs, native_options());
            REQUIRE(program.prepare_native().native);
            require_same_as_reference(program, outputs, at);
        }
        const Program plain = compile(outputs, native_options());
        const NativeReport report = plain.prepare_native();
        REQUIRE(report.native);
        CHECK(report.compiled);  // not the -O1 object
        CHECK(entries_in(dir) == 2);
    }
    SECTION("a compiler that fails") {
        const TestCache cache("falsecompiler");
        ScopedEnv cxx("SYMGRAD_CXX", "false");
        const Program program = compile(outputs, native_options());
        const NativeReport report = program.prepare_native();
        CHECK_FALSE(report.native);
        CHECK_THAT(report.why_not, Catch::Contains("failed") && Catch::Contains("source kept in"));
        require_same_as_reference(program, outputs, at);
    }
    SECTION("an unwritable cache") {
        const TestCache base("unwritable");
        std::ofstream(base.dir() / "a-file") << "not a directory";
        ScopedEnv cache("SYMGRAD_CACHE_DIR", (base.dir() / "a-file" / "cache").c_str());
        const Program program = compile(outputs, native_options());
        const NativeReport report = program.prepare_native();
        CHECK_FALSE(report.native);
        CHECK_THAT(report.why_not, Catch::Contains("not writable"));
        require_same_as_reference(program, outputs, at);
    }
    SECTION("SYMGRAD_JIT=0 and Backend::interpreter are choices: no reason given") {
        {
            ScopedEnv jit("SYMGRAD_JIT", "0");
            const Program program = compile(outputs, native_options());
            const NativeReport report = program.prepare_native();
            CHECK_FALSE(report.native);
            CHECK(report.why_not.empty());
            require_same_as_reference(program, outputs, at);
        }
        CompileOptions options;
        options.backend = Backend::interpreter;
        const Program program = compile(outputs, options);
        CHECK_FALSE(program.prepare_native().native);
        CHECK(program.prepare_native().why_not.empty());
        CHECK(program.backend() == "interpreter");
    }
}

TEST_CASE("Backend::automatic switches to native code after native_after elements", "[native]") {
    const TestCache cache("automatic");
    const auto outputs = swish_program(10, 10);
    const auto at = swish_bindings(10, 10);
    CompileOptions options;
    options.native_after = 1000;
    const Program program = compile(outputs, options);
    std::int64_t per_run = 0;
    for (std::size_t r = 0; r < program.region_count(); ++r) per_run += 100;  // every region is [10, 10] here
    const std::int64_t runs_before = (1000 + per_run - 1) / per_run - 1;
    for (std::int64_t k = 0; k < runs_before; ++k) {
        require_same_as_reference(program, outputs, at);
        CHECK(program.backend() == "interpreter");
    }
    require_same_as_reference(program, outputs, at);
    CHECK(program.backend() == "native");
    require_same_as_reference(program, outputs, at);
}

TEST_CASE("the generated source reads as the expression it computes", "[native]") {
    const auto outputs = swish_program();
    const std::string source = compile(outputs, native_options()).native_source();
    CHECK_THAT(source, Catch::Contains("symgrad_region_0") && Catch::Contains("K::sigmoid<float>") && Catch::Contains("// sigmoid(beta * x)") &&
                           Catch::Contains("acc0[j + t] += static_cast<double>("));
}

TEST_CASE("clearing the cache removes symgrad's files and nothing else", "[native]") {
    const TestCache cache("clear");
    const fs::path& dir = cache.dir();
    REQUIRE(compile(swish_program(), native_options()).prepare_native().native);
    std::ofstream(dir / "notes.txt") << "mine";
    const NativeCacheUsage before = native_cache_usage();
    CHECK(before.entries == 1);
    CHECK(before.bytes > 1000);
    CHECK(clear_native_cache() == 1);
    CHECK(fs::exists(dir / "notes.txt"));
    CHECK(native_cache_usage().entries == 0);
}

namespace {

// Every elementwise row, the pow variants and exponents passed at run time, and the gradients of the sum of their
// squares.
std::vector<Expr> every_row(const Expr& a, const Expr& b, const Expr& c, DType dtype) {
    std::vector<Expr> outputs = every_elementwise_row(a, b, c);
    for (const int n : {2, 3, 5, 8, 9}) outputs.push_back(pow(a, n));
    for (const double e : {-1.0, 0.5, -2.0}) outputs.push_back(pow(a, e));
    Expr total = constant(0.0, dtype);
    for (const auto& out : outputs) total = total + out * out;
    for (const auto& g : grad(total, {a, b, c})) outputs.push_back(g);
    // (rows that are NaN somewhere make those sums NaN): sums of finite terms, per index of b and of everything
    const Expr finite = b * sin(a) + c * a * b;
    for (const auto& g : grad(finite, {b, c})) outputs.push_back(g);
    return outputs;
}

}  // namespace

TEST_CASE("the PyTorch export's elementwise passes give the reference's bits on every row", "[native]") {
    using detail::ElementwiseKind;
    const TestCache cache("passes");
    // One pass over scalars: a like x, b one value per index, c one value; the last five outputs are gradients,
    // those of b summed per index and those of c over everything.
    const Expr sa = var("a");
    const Expr sb = var("b");
    const Expr sc = var("c");
    const auto scalar_outputs = every_row(sa, sb, sc, DType::float64);
    detail::ElementwisePass pass{"rows", {{"a", ElementwiseKind::element}, {"b", ElementwiseKind::indexed}, {"c", ElementwiseKind::scalar}}, {}};
    for (std::size_t k = 0; k < scalar_outputs.size(); ++k) {
        const std::size_t from_end = scalar_outputs.size() - k;
        const bool indexed = from_end == 2 || from_end == 4;
        const bool scalar = from_end == 1 || from_end == 3;
        pass.outputs.push_back({scalar_outputs[k], indexed ? ElementwiseKind::indexed : scalar ? ElementwiseKind::scalar : ElementwiseKind::element});
    }
    const detail::ElementwisePass passes[] = {pass};
    const std::string source = "#include <cstddef>\n" + std::string(detail::native_prelude()) + detail::elementwise_source(passes);
    for (const DType dtype : {DType::float32, DType::float64}) {
        auto toolchain = detail::native_toolchain("generic");
        for (const char* flag : {"-pthread", "-fopenmp-simd"}) toolchain.flags.emplace_back(flag);
        toolchain.flags.push_back(dtype == DType::float32 ? "-DSYMGRAD_REAL=float" : "-DSYMGRAD_REAL=double");
        const detail::NativeBuild build = detail::build_native(source, toolchain, true);
        INFO(build.why_not);
        REQUIRE(build.module);
        using Entry = int (*)(void* const*, const long long*, long long);
        const auto entry = reinterpret_cast<Entry>(build.module->symbol("symgrad_rows"));
        REQUIRE(entry != nullptr);
        // Both loops: b along the last axis (inner 1), and b along the middle axis of [4, 37, 3] (inner 3).
        for (const bool middle : {false, true}) {
            const Shape x_shape = middle ? Shape{4, 37, 3} : Shape{5, 37};
            const Shape b_shape = middle ? Shape{37, 1} : Shape{37};
            const Expr a = var("a", x_shape, dtype);
            const Expr b = var("b", b_shape, dtype);
            const Expr c = var("c", {}, dtype);
            const auto outputs = every_row(a, b, c, dtype);
            Bindings at{{"a", Tensor::uniform(x_shape, -2, 2, 3, dtype)}, {"b", Tensor::uniform(b_shape, -2, 2, 4, dtype)},
                        {"c", Tensor::uniform({}, 0.5, 1.5, 5, dtype)}};
            for (const bool special : {false, true}) {
                if (special) {  // IEEE specials through every kernel
                    Tensor t = at.at("a").clone();
                    const double values[] = {INFINITY, -INFINITY, NAN, 0.0, -0.0, 1e-40, 88.5, -104.0};
                    for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, values[i % 8]);
                    at["a"] = t;
                }
                const auto expected = evaluate(outputs, at);
                std::vector<Tensor> got;
                std::vector<void*> pointers{const_cast<void*>(at.at("a").raw()), const_cast<void*>(at.at("b").raw()),
                                            const_cast<void*>(at.at("c").raw())};
                for (std::size_t k = 0; k < outputs.size(); ++k) {
                    got.push_back(Tensor::zeros(pass.outputs[k].kind == ElementwiseKind::element ? x_shape
                                                : pass.outputs[k].kind == ElementwiseKind::indexed ? b_shape : Shape{},
                                                dtype));
                    pointers.push_back(got.back().raw());
                }
                const long long dims[3] = {x_shape.numel(), 37, middle ? 3 : 1};
                REQUIRE(entry(pointers.data(), dims, 3) == 0);
                for (std::size_t k = 0; k < outputs.size(); ++k) {
                    INFO("output " << k << ": " << to_inline_string(outputs[k], 120) << (middle ? ", inner 3" : ", inner 1")
                                   << (special ? ", specials" : ""));
                    if (pass.outputs[k].kind == ElementwiseKind::element) {
                        REQUIRE(same_bits(got[k], expected[k]));
                    } else if (!special) {  // sums: the same terms, added in another order
                        for (std::int64_t i = 0; i < got[k].numel(); ++i) {
                            const double want = expected[k].get(i);
                            if (std::isnan(want) && k + 2 < outputs.size()) {
                                REQUIRE(std::isnan(got[k].get(i)));
                                continue;
                            }
                            REQUIRE(std::abs(got[k].get(i) - want) <= (dtype == DType::float32 ? 1e-5 : 1e-12) * (1 + std::abs(want)));
                        }
                    }
                }
            }
        }
    }
}
