// libFuzzer target for the expression language: every input is parsed; what parses is printed (text and
// LaTeX), differentiated with respect to each variable, simplified, and evaluated (raw and simplified) with
// the gradients at a fixed point; the fused engine runs the same graph and must give the same bits (NaN
// equal to NaN; with its matrix products done as the reference does them), or the target traps.
// Bad input must end in symgrad::Error (a clean message), never a crash, hang, or another exception.
// Build and run: see docs/language.md ("Fuzzing").
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <symgrad/symgrad.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace symgrad;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    ParseOptions options;
    options.shapes["x"] = Shape{3, 2};
    options.shapes["beta"] = Shape{2};
    options.shapes["w"] = Shape{2, 3};
    try {
        const Expr e = parse(text, options);
        const std::string printed = to_string(e);
        const std::string latex = to_latex(e);
        const Expr roots[] = {e};
        const auto vars = variables(roots);
        const auto grads = grad(e, vars);
        Bindings at;
        std::uint64_t seed = 1;
        for (const auto& v : vars) at.emplace(v.node().attrs().name, Tensor::uniform(v.shape(), -2, 2, seed++));
        std::vector<Expr> outputs{e};
        outputs.insert(outputs.end(), grads.begin(), grads.end());
        const auto simplified = simplify(outputs);
        const auto reference = evaluate(outputs, at);
        (void)evaluate(simplified, at);
        CompileOptions options;
        options.block = 3;  // small blocks, so the fuzzer's tiny tensors still span several
        // With BLAS, matrix products round differently: they only have to run (and keep their shapes).
        const auto with_blas = compile(outputs, options).run(at);
        for (std::size_t o = 0; o < with_blas.size(); ++o) {
            if (with_blas[o].shape() != reference[o].shape()) __builtin_trap();
        }
        options.blas = false;
        const auto fused = compile(outputs, options).run(at);
        for (std::size_t o = 0; o < fused.size(); ++o) {
            for (std::int64_t i = 0; i < fused[o].numel(); ++i) {
                const double a = fused[o].get(i);
                const double b = reference[o].get(i);
                if (!(std::isnan(a) && std::isnan(b)) && std::memcmp(&a, &b, sizeof a) != 0) __builtin_trap();
            }
        }
        (void)printed.size();
        (void)latex.size();
    } catch (const Error&) {
        // A clean refusal.
    }
    return 0;
}
