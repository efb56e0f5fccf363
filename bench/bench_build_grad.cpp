// Time per node to build, differentiate, evaluate (reference evaluator) and print a chain
// y = y * w + x of N links, for several N: the figures behind docs/performance.md.
// Usage: bench_build_grad [N ...] (default 10000 100000 1000000); medians of 5 runs each.
// DOT output (Boost's write_graphviz) is timed up to 100,000 links.
#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <symgrad/symgrad.hpp>

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    using namespace symgrad;
    std::vector<std::int64_t> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(std::atoll(argv[i]));
    if (sizes.empty()) sizes = {10'000, 100'000, 1'000'000};
    constexpr int rounds = 5;
    fmt::print("{:>9} {:>10} {:>11} {:>12} {:>10} {:>10} {:>10}   (ns per forward link, median of {})\n", "links", "build", "grad",
               "grad nodes", "evaluate", "print", "dot", rounds);
    for (const auto n : sizes) {
        std::vector<double> build, differentiate, eval, print, dot;
        std::size_t grad_nodes = 0;
        for (int r = 0; r < rounds; ++r) {
            auto start = Clock::now();
            const Expr x = var("x", {});
            const Expr w = var("w", {});
            Expr y = x;
            for (std::int64_t i = 0; i < n; ++i) y = y * w + x;
            build.push_back(seconds(start));
            const std::size_t before = live_node_count();
            start = Clock::now();
            const auto [dx, dw] = grad(y, {x, w});
            differentiate.push_back(seconds(start));
            grad_nodes = live_node_count() - before;
            start = Clock::now();
            const auto values = evaluate(std::vector<Expr>{y, dx, dw}, {{"x", Tensor::scalar(0.5)}, {"w", Tensor::scalar(0.999999)}});
            eval.push_back(seconds(start));
            start = Clock::now();
            const std::size_t chars = to_string(y).size();
            print.push_back(seconds(start));
            if (chars == 0 || values.size() != 3) return 1;
            if (n <= 100'000) {
                start = Clock::now();
                const Expr roots[] = {y};
                if (to_dot(roots).empty()) return 1;
                dot.push_back(seconds(start));
            }
        }
        const double per = 1e9 / static_cast<double>(n);
        const std::string dot_text = dot.empty() ? "-" : fmt::format("{:.0f}", median(dot) * per);
        fmt::print("{:>9} {:>10.0f} {:>11.0f} {:>12} {:>10.0f} {:>10.0f} {:>10}\n", n, median(build) * per, median(differentiate) * per,
                   grad_nodes, median(eval) * per, median(print) * per, dot_text);
    }
    return 0;
}
