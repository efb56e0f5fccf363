// Forward + backward of composed activations: the reference evaluator against the fused engine (compile +
// run), float32, x of shape [B, U] (default 4096 x 1024), per-unit parameters; medians of 7 runs. The last column is
// the engine's run with anomaly mode on (RunOptions::detect_anomaly: one pass of bit tests over the outputs when all
// is finite), as a ratio to the run without it.
// Usage: bench_engine [B U]. The engine's speed targets and PyTorch's figures are in docs/performance.md.
#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <symgrad/symgrad.hpp>

using namespace symgrad;
using Clock = std::chrono::steady_clock;

namespace {

template <class F> double median_ms(F&& f) {
    std::vector<double> times;
    for (int r = 0; r < 7; ++r) {
        const auto start = Clock::now();
        f();
        times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const std::int64_t B = argc > 2 ? std::atoll(argv[1]) : 4096;
    const std::int64_t U = argc > 2 ? std::atoll(argv[2]) : 1024;
    const std::vector<std::pair<std::string, std::string>> activations = {
        {"swish_beta", "x * sigmoid(beta * x)"},
        {"seed", "p1 * sigmoid(p2 * x + b1) + b2"},
        {"PReLU composed", "max(x, 0) + a * min(x, 0)"},
        {"GELU (tanh)", "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))"},
    };
    fmt::print("x [{}, {}], float32, forward + backward (gradients of x and every parameter), median of 7\n", B, U);
    fmt::print("{:<16} {:>14} {:>12} {:>10} {:>10} {:>16}\n", "activation", "reference ms", "engine ms", "ratio", "compile ms",
               "anomaly check");
    for (const auto& [name, text] : activations) {
        ParseOptions options;
        options.dtype = DType::float32;
        options.shapes["x"] = Shape{B, U};
        for (const char* unit : {"beta", "p1", "p2", "b1", "b2", "a"}) options.shapes[unit] = Shape{U};
        const Expr y = parse(text, options);
        const Expr roots[] = {y};
        const auto vars = variables(roots);
        Bindings at;
        std::uint64_t seed = 1;
        for (const auto& v : vars) at.emplace(v.node().attrs().name, Tensor::uniform(v.shape(), -2, 2, seed++, DType::float32));
        std::vector<Expr> outputs{y};
        const auto start = Clock::now();
        const auto grads = simplify(grad(y, vars));
        outputs.insert(outputs.end(), grads.begin(), grads.end());
        const Program program = compile(outputs);
        const double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        const double reference = median_ms([&] { evaluate(outputs, at); });
        const double engine = median_ms([&] { program.run(at); });
        RunOptions checked;
        checked.detect_anomaly = true;
        const double with_check = median_ms([&] { program.run(at, checked); });
        fmt::print("{:<16} {:>14.2f} {:>12.2f} {:>9.2f}x {:>10.2f} {:>15.2f}x\n", name, reference, engine, reference / engine, compile_ms,
                   with_check / engine);
    }
    return 0;
}
