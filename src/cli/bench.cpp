// symgrad bench EXPR --shape x=4096,1024 --shape beta=1024 [--dtype float32] [--threads N] [--json]: how fast the
// fused engine runs an activation forward, and forward then backward, against the memory-bandwidth bound.
//
// Forward is the program of y; backward is the program of the gradients of every variable given an output
// gradient dy (what a training step runs after the forward). The bound is the time to move the fewest bytes
// those two passes need (forward: read the variables, write y; backward: read the variables and dy, write every
// gradient) at the copy bandwidth measured in the same run, with the same threads, on a buffer of y's size.
#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace symgrad::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
    std::string expression;
    Shapes shapes;
    DType dtype = DType::float32;
    std::size_t threads = 1;  // 0: one per hardware thread
    std::size_t repeat = 0;  // 0: as many as fit in about a second (at least 5, at most 500)
    std::size_t block = CompileOptions{}.block;
    bool json = false;
    double memory_limit_gib = 4.0;
    Backend backend = Backend::native;
};

double elapsed_ms(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Copies a buffer with `threads` threads, each its own slice; the workers wait at a barrier between copies.
class Copier {
public:
    Copier(std::size_t bytes, std::size_t threads)
        : from_(bytes, 1),
          to_(bytes, 0),
          threads_(threads),
          start_(static_cast<std::ptrdiff_t>(threads)),
          finish_(static_cast<std::ptrdiff_t>(threads)) {
        for (std::size_t t = 1; t < threads; ++t) {
            try {
                workers_.emplace_back([this, t] {
                    for (;;) {
                        start_.arrive_and_wait();
                        if (stop_) return;
                        copy_slice(t);
                        finish_.arrive_and_wait();
                    }
                });
            } catch (const std::system_error&) {
                // The system would start no more threads: copy with those there are (as the engine's pool does).
                for (std::size_t missing = t; missing < threads; ++missing) {
                    (void)start_.arrive_and_drop();
                    (void)finish_.arrive_and_drop();
                }
                threads_ = t;
                break;
            }
        }
    }
    ~Copier() {
        stop_ = true;
        if (threads_ > 1) start_.arrive_and_wait();
        for (auto& w : workers_) w.join();
    }
    // One copy of the whole buffer; returns milliseconds.
    double copy() {
        const auto start = Clock::now();
        if (threads_ > 1) start_.arrive_and_wait();
        copy_slice(0);
        if (threads_ > 1) finish_.arrive_and_wait();
        return elapsed_ms(start);
    }
    std::size_t bytes() const { return from_.size(); }

private:
    void copy_slice(std::size_t t) {
        const std::size_t slice = (from_.size() + threads_ - 1) / threads_;
        const std::size_t begin = std::min(from_.size(), t * slice);
        const std::size_t end = std::min(from_.size(), begin + slice);
        std::memcpy(to_.data() + begin, from_.data() + begin, end - begin);
    }
    std::vector<char> from_;
    std::vector<char> to_;
    std::size_t threads_;  // set before any worker reads it (they first wait at start_)
    std::barrier<> start_;
    std::barrier<> finish_;
    bool stop_ = false;
    std::vector<std::thread> workers_;
};

double bytes_of(const Shape& shape, DType dtype) { return static_cast<double>(shape.numel()) * static_cast<double>(dtype_size(dtype)); }

std::string shape_list(const std::vector<Expr>& vars) {
    std::vector<std::string> parts;
    for (const auto& v : vars) parts.push_back(fmt::format("{} {}", v.node().attrs().name, v.shape()));
    return fmt::format("{}", fmt::join(parts, ", "));
}

// The native kernels of two programs built once without the cache's help and once from it: the cold and the warm
// compile, in a private cache directory made for the purpose and removed after (the user's cache is left alone).
struct CompileTimes {
    double cold_ms = 0;
    double warm_ms = 0;
    bool ok = false;
};

CompileTimes time_native_compiles(const std::vector<Expr>& forward, const std::vector<Expr>& backward, const CompileOptions& options) {
    CompileTimes times;
    char pattern[] = "/tmp/symgrad-bench-XXXXXX";
    const char* dir = mkdtemp(pattern);
    if (dir == nullptr) return times;
    const char* old = std::getenv("SYMGRAD_CACHE_DIR");
    const std::string saved = old ? old : "";
    setenv("SYMGRAD_CACHE_DIR", dir, 1);
    times.ok = true;
    for (double* total : {&times.cold_ms, &times.warm_ms}) {
        for (const auto* outputs : {&forward, &backward}) {
            const NativeReport report = compile(*outputs, options).prepare_native();
            times.ok = times.ok && report.native;
            *total += report.milliseconds;
        }
    }
    if (old) {
        setenv("SYMGRAD_CACHE_DIR", saved.c_str(), 1);
    } else {
        unsetenv("SYMGRAD_CACHE_DIR");
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return times;
}

int run_bench(const BenchOptions& o) {
    const DType dtype = o.dtype;
    const std::size_t threads = o.threads == 0 ? std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, max_threads) : o.threads;

    // Compiling: the gradient graph, simplified, and both plans.
    const auto compile_start = Clock::now();
    const ForwardBackward programs = forward_backward(o.expression, o.shapes, dtype);
    const Expr& y = programs.y;
    const auto& vars = programs.variables;
    const std::vector<Expr>& forward_outputs = programs.forward;
    const std::vector<Expr>& backward_outputs = programs.backward;
    CompileOptions options;
    options.threads = threads;
    options.block = o.block;
    options.backend = o.backend;
    const Program forward = compile(forward_outputs, options);
    const Program backward = compile(backward_outputs, options);
    const double compile_ms = elapsed_ms(compile_start);

    // The native kernels: timed cold and warm on the side, then this run's (from the user's cache, or compiled).
    CompileTimes native_times;
    NativeReport forward_native;
    NativeReport backward_native;
    if (o.backend != Backend::interpreter) {
        native_times = time_native_compiles(forward_outputs, backward_outputs, options);
        forward_native = forward.prepare_native();
        backward_native = backward.prepare_native();
    }
    const bool native = forward.backend() == "native" && backward.backend() == "native";

    const double limit = o.memory_limit_gib * 1073741824.0;
    // The programs' peak, and the copy-bandwidth buffers (two of y's size).
    const double needed =
        std::max(evaluation_peak_bytes(forward_outputs), evaluation_peak_bytes(backward_outputs)) + 2 * bytes_of(y.shape(), dtype);
    if (needed > limit) {
        throw InputError(fmt::format("these shapes need about {:.3g} GiB, past the memory limit of {} GiB (--memory-limit to change it)",
                                     needed / 1073741824.0, o.memory_limit_gib));
    }
    Bindings at;
    std::uint64_t seed = 1;
    for (const auto& v : vars) at.emplace(v.node().attrs().name, Tensor::uniform(v.shape(), -2, 2, seed++, dtype));
    at.emplace(output_gradient_name, Tensor::uniform(y.shape(), -1, 1, seed++, dtype));

    // The fewest bytes each pass moves.
    double variable_bytes = 0;
    for (const auto& v : vars) variable_bytes += bytes_of(v.shape(), dtype);
    const double forward_bytes = variable_bytes + bytes_of(y.shape(), dtype);
    const double backward_bytes = variable_bytes + bytes_of(y.shape(), dtype) + variable_bytes;
    const double min_bytes = forward_bytes + backward_bytes;

    Copier copier(std::max<std::size_t>(static_cast<std::size_t>(bytes_of(y.shape(), dtype)), 4096), threads);
    // Warm up (first touches of memory, the thread pool), then size the repetitions to about a second.
    const auto warm_start = Clock::now();
    forward.run(at);
    backward.run(at);
    copier.copy();
    const double once_ms = std::max(elapsed_ms(warm_start), 1e-3);
    const std::size_t repeat = o.repeat > 0 ? o.repeat : std::clamp<std::size_t>(static_cast<std::size_t>(1000.0 / once_ms), 5, 500);
    std::vector<double> forward_ms;
    std::vector<double> backward_ms;
    std::vector<double> both_ms;
    std::vector<double> copy_ms;
    for (std::size_t r = 0; r < repeat; ++r) {
        copy_ms.push_back(copier.copy());
        auto start = Clock::now();
        forward.run(at);
        forward_ms.push_back(elapsed_ms(start));
        start = Clock::now();
        backward.run(at);
        backward_ms.push_back(elapsed_ms(start));
        both_ms.push_back(forward_ms.back() + backward_ms.back());
    }
    const double fwd = median(forward_ms);
    const double bwd = median(backward_ms);
    const double fwd_bwd = median(both_ms);
    const double copy_gbps = 2.0 * static_cast<double>(copier.bytes()) / (median(copy_ms) * 1e6);  // read + write
    const double bound_ms = min_bytes / (copy_gbps * 1e6);
    const double gbps = min_bytes / (fwd_bwd * 1e6);

    if (o.json) {
        nlohmann::json shapes = nlohmann::json::object();
        for (const auto& v : vars) shapes[v.node().attrs().name] = v.shape().dims();
        const nlohmann::json answer = {{"expr", o.expression},
                                       {"dtype", std::string(dtype_name(dtype))},
                                       {"shape", shapes},
                                       {"output_shape", y.shape().dims()},
                                       {"threads", threads},
                                       {"isa", std::string(forward.instruction_set())},
                                       {"backend", native ? "native" : "interpreter"},
                                       {"compile_cold_ms", native_times.ok ? nlohmann::json(native_times.cold_ms) : nlohmann::json()},
                                       {"compile_warm_ms", native_times.ok ? nlohmann::json(native_times.warm_ms) : nlohmann::json()},
                                       {"kernels_from_cache", native && forward_native.from_cache && backward_native.from_cache},
                                       {"repeat", repeat},
                                       {"block", o.block},
                                       {"compile_ms", compile_ms},
                                       {"fwd_ms", fwd},
                                       {"bwd_ms", bwd},
                                       {"fwd_bwd_ms", fwd_bwd},
                                       {"min_bytes", min_bytes},
                                       {"gbps", gbps},
                                       {"copy_gbps", copy_gbps},
                                       {"bound_ms", bound_ms},
                                       {"bound_fraction", bound_ms / fwd_bwd}};
        std::cout << answer.dump() << "\n";
        return 0;
    }
    std::cout << fmt::format("{}\n  {}; {}; {} thread{}; {} backend, {} kernels; median of {}\n", o.expression, shape_list(vars),
                             dtype_name(dtype), threads, threads == 1 ? "" : "s", native ? "native" : "interpreter", forward.instruction_set(),
                             repeat);
    std::cout << fmt::format("  compile (grad + simplify + plan) {:>9.3f} ms\n", compile_ms);
    if (native) {
        const char* origin = forward_native.from_cache && backward_native.from_cache ? "loaded from the kernel cache"
                             : forward_native.compiled && backward_native.compiled ? "compiled now"
                                                                                   : "compiled now or loaded from the kernel cache";
        std::cout << fmt::format("  native kernels ({})   {:>9.3f} ms  (cold compile {:.0f} ms, warm load {:.1f} ms)\n", origin,
                                 forward_native.milliseconds + backward_native.milliseconds, native_times.cold_ms, native_times.warm_ms);
    } else {
        std::cout << fmt::format("  backend: interpreter{}\n", o.backend == Backend::interpreter ? " (--backend interpreter)" : "");
    }
    std::cout << fmt::format("  forward                          {:>9.3f} ms\n", fwd);
    std::cout << fmt::format("  backward                         {:>9.3f} ms\n", bwd);
    std::cout << fmt::format("  forward + backward               {:>9.3f} ms  {:.1f} GB/s of the fewest {:.3g} MB\n", fwd_bwd, gbps,
                             min_bytes / 1e6);
    std::cout << fmt::format("  bandwidth bound                  {:>9.3f} ms  (copy {:.1f} GB/s): {:.2f} of the bound\n", bound_ms,
                             copy_gbps, bound_ms / fwd_bwd);
    return 0;
}

}  // namespace

Action add_bench(CLI::App& app) {
    auto options = std::make_shared<BenchOptions>();
    CLI::App* sub =
        app.add_subcommand("bench", "Time the fused engine on an expression, forward and backward, against the bandwidth bound.");
    add_expression_argument(*sub, options->expression);
    add_shape_option(*sub, options->shapes);
    add_dtype_option(*sub, options->dtype);
    add_threads_option(*sub, options->threads);
    sub->add_option("--repeat", options->repeat, "Repetitions (default: as many as fit in about a second, 5 to 500)")
        ->check(whole_number(1, 1'000'000));
    sub->add_option("--block", options->block, fmt::format("Elements per block of a fused pass (default {})", CompileOptions{}.block))
        ->check(whole_number(1, 1 << 20));
    sub->add_flag("--json", options->json,
                  "Print one JSON object (keys fwd_ms, bwd_ms, fwd_bwd_ms, gbps, bound_fraction, backend, compile_cold_ms, ...)");
    sub->add_option_function<std::string>(
        "--backend",
        [options](const std::string& name) {
            if (name != "native" && name != "interpreter") throw InputError(fmt::format("--backend '{}': choose native or interpreter", shown(name)));
            options->backend = name == "native" ? Backend::native : Backend::interpreter;
        },
        "native (default: each fused region compiled to machine code) or interpreter");
    sub->add_option("--memory-limit", options->memory_limit_gib, "Refuse shapes that need more GiB than this (default 4)")
        ->check(positive_number());
    sub->footer(
        "Example:\n  symgrad bench 'x * sigmoid(beta * x)' --shape x=4096,1024 --shape beta=1024 --threads 2\n"
        "Forward runs y; backward runs the gradients of every variable given an output gradient. The bound is the\n"
        "time to move the fewest bytes (read the variables, write y; read them and dy, write the gradients) at the\n"
        "copy bandwidth measured in the same run. Medians over the repetitions.");
    return [options] { return run_bench(*options); };
}

}  // namespace symgrad::cli
