// libFuzzer target for the expression language: every input is parsed; what parses is printed (text and
// LaTeX), differentiated with respect to each variable, simplified, and evaluated (raw and simplified) with
// the gradients at a fixed point.
// Bad input must end in symgrad::Error (a clean message), never a crash, hang, or another exception.
// Build and run: see docs/language.md ("Fuzzing").
#include <cstddef>
#include <cstdint>

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
        (void)evaluate(outputs, at);
        (void)evaluate(simplified, at);
        (void)printed.size();
        (void)latex.size();
    } catch (const Error&) {
        // A clean refusal.
    }
    return 0;
}
