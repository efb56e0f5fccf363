// One training step of a 784-256-256-10 MLP with a per-unit swish_beta activation, batch 256, cross-entropy, SGD
// (lr 0.01): forward, loss, every gradient (one compiled program) and the optimizer's update, float32. Prints one
// JSON object: {"step_ms": median, "run_ms": median of the program alone, "threads": N, "backend": ...}. bench/compare_torch.py
// --mlp runs it beside PyTorch eager. Usage: bench_mlp [threads] [steps]
#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <symgrad/symgrad.hpp>

using namespace symgrad;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    const std::size_t threads = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1;
    const int steps = argc > 2 ? std::atoi(argv[2]) : 50;
    nn::MLP model(784, {256, 256}, 10, nn::Activation::builtin("swish_beta"), DType::float32, 1);
    const auto step = nn::training_step_graph(model, 256);
    Bindings at = model.bindings();
    at.emplace("input", Tensor::uniform({256, 784}, 0, 1, 1, DType::float32));
    std::vector<std::int32_t> labels(256);
    for (int i = 0; i < 256; ++i) labels[static_cast<std::size_t>(i)] = i % 10;
    at.emplace("target", nn::one_hot(labels, 10));
    CompileOptions options;
    options.threads = threads;
    const Program program = compile(step, options);
    // The native backend's kernels before the timing (SYMGRAD_JIT=0 for the interpreter's figures).
    const NativeReport native = program.prepare_native();
    nn::OptimizerOptions sgd;
    sgd.kind = "sgd";
    sgd.lr = 0.01;
    auto optimizer = nn::make_optimizer(sgd);
    std::vector<double> step_ms;
    std::vector<double> run_ms;
    for (int r = 0; r < steps + 5; ++r) {
        const auto start = Clock::now();
        auto values = program.run(at);
        const auto ran = Clock::now();
        values.erase(values.begin());
        optimizer->step(model.parameters(), values);
        const auto done = Clock::now();
        if (r >= 5) {  // warm-up
            step_ms.push_back(std::chrono::duration<double, std::milli>(done - start).count());
            run_ms.push_back(std::chrono::duration<double, std::milli>(ran - start).count());
        }
    }
    std::sort(step_ms.begin(), step_ms.end());
    std::sort(run_ms.begin(), run_ms.end());
    fmt::print("{{\"step_ms\": {:.4f}, \"run_ms\": {:.4f}, \"threads\": {}, \"backend\": \"{}\"}}\n", step_ms[step_ms.size() / 2],
               run_ms[run_ms.size() / 2], threads, native.native ? "native" : "interpreter");
    return 0;
}
