// Differential libFuzzer target for the fused engine: each input is decoded into a random graph over every
// elementwise row of the primitive table (plus whole powers, sums and means that broadcast back), its gradients,
// a block size and a thread count; the program runs on the backend that SYMGRAD_FUZZ_BACKEND names ("native" or,
// by default, "interpreter") and must give the reference evaluator's bits (NaN equal to NaN; with several threads,
// the interpreter's with as many, whose sums add one partial sum per thread). A difference, or generated code that
// does not compile, is a finding (a trap). Refusals of the graph builder (symgrad::Error) are not.
// Build and run: see docs/native.md ("Fuzzing the engine").
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <symgrad/symgrad.hpp>

#include "../same_bits.hpp"

namespace {

using namespace symgrad;
using symgrad::testing::same_bits;

class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    // The next byte; zeros once the input is used up.
    unsigned byte() { return at_ < size_ ? data_[at_++] : 0u; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

Backend fuzzed_backend() {
    const char* name = std::getenv("SYMGRAD_FUZZ_BACKEND");
    return name != nullptr && std::string_view(name) == "native" ? Backend::native : Backend::interpreter;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in(data, size);
    const DType dtype = (in.byte() & 1) != 0 ? DType::float64 : DType::float32;
    const std::int64_t batch = 1 + in.byte() % 9;
    const std::int64_t units = 1 + in.byte() % 70;
    const std::vector<Expr> vars{var("x", {batch, units}, dtype), var("p", {units}, dtype), var("s", {}, dtype), var("r", {batch, 1}, dtype)};
    std::vector<const OpInfo*> rows;
    for (const OpInfo& info : op_table()) {
        if (info.kind == OpClass::elementwise) rows.push_back(&info);
    }
    try {
        std::vector<Expr> pool = vars;
        const unsigned count = 1 + in.byte() % 24;
        for (unsigned k = 0; k < count; ++k) {
            const unsigned choice = in.byte();
            const Expr a = pool[in.byte() % pool.size()];
            const Expr b = pool[in.byte() % pool.size()];
            const Expr c = pool[in.byte() % pool.size()];
            if (choice < 200) {
                const OpInfo& row = *rows[choice % rows.size()];
                const Operand operands[3] = {a, (choice & 1) != 0 ? Operand(b) : Operand(0.5 + (choice % 7)), c};
                pool.push_back(apply(row.op, std::span<const Operand>(operands, row.arity)));
            } else if (choice < 215) {
                // the products 2..8, pow itself (9), and exponents the C library's pow must get at run time
                const double exponents[] = {2, 3, 4, 5, 6, 7, 8, 9, -1, 0, 1, 0.5, -2, 2.5, -0.5};
                pool.push_back(pow(a, exponents[choice % 15]));
            } else if (choice < 230) {
                pool.push_back(a.rank() > 0 ? sum(a, {0}, true) : a);
            } else if (choice < 245) {
                pool.push_back(a.rank() > 0 ? mean(a, {-1}, true) : a);
            } else {
                pool.push_back(a * static_cast<double>(choice % 5) - b);
            }
        }
        const Expr y = pool.back() + vars[0] * vars[1] * vars[2] + vars[3];
        std::vector<Expr> outputs{y};
        const auto grads = grad(y, vars);
        outputs.insert(outputs.end(), grads.begin(), grads.end());

        CompileOptions options;
        const std::size_t blocks[] = {1, 7, 64, 1024};
        options.block = blocks[in.byte() % 4];
        options.threads = 1 + in.byte() % 3;
        options.backend = fuzzed_backend();
        const Program program = compile(outputs, options);
        if (options.backend == Backend::native) {
            // (Where no regions formed there is nothing to compile; otherwise the native code must run.)
            const NativeReport report = program.prepare_native();
            if (!report.native && program.region_count() > 0) {
                std::fprintf(stderr, "engine_fuzzer: the native backend does not run: %s\n", report.why_not.c_str());
                __builtin_trap();
            }
        }
        Bindings at;
        const unsigned seed = in.byte();
        const bool specials = (seed & 1) != 0;
        for (std::size_t v = 0; v < vars.size(); ++v) {
            Tensor value = Tensor::uniform(vars[v].shape(), -2.5, 2.5, seed + v, dtype);
            if (specials) {
                const double values[] = {INFINITY, -INFINITY, NAN, 0.0, -0.0, 1e-40, 100.0};
                for (std::int64_t i = 0; i < value.numel(); i += 3) value.set(i, values[(i + v) % 7]);
            }
            at.emplace(vars[v].node().attrs().name, value);
        }
        CompileOptions reference_options = options;
        reference_options.backend = Backend::interpreter;
        const auto expected = options.threads == 1 ? evaluate(outputs, at) : compile(outputs, reference_options).run(at);
        const auto got = program.run(at);
        for (std::size_t o = 0; o < got.size(); ++o) {
            if (!same_bits(got[o], expected[o])) {
                std::fprintf(stderr, "engine_fuzzer: output %zu differs from the reference (%s backend, block %zu, %zu threads)\n%s\n", o,
                             std::string(program.backend()).c_str(), options.block, options.threads, to_string(outputs[o]).c_str());
                __builtin_trap();
            }
        }
    } catch (const symgrad::Error&) {
        // The builder refused the graph (a shape or dtype mismatch): not a finding.
    }
    return 0;
}
