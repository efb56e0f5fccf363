// A chain of a million nodes is built, differentiated, evaluated, printed and destroyed on a thread
// whose stack is exactly 8 MiB: nothing may recurse over the graph.
#include <pthread.h>

#include <chrono>
#include <cstdlib>
#include <functional>

#include "helpers.hpp"

using namespace symgrad;

namespace {

// Runs work on a new thread with the given stack size and waits for it.
void run_with_stack(std::size_t bytes, std::function<void()> work) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, bytes);
    pthread_t thread;
    auto trampoline = [](void* arg) -> void* {
        (*static_cast<std::function<void()>*>(arg))();
        return nullptr;
    };
    REQUIRE(pthread_create(&thread, &attr, trampoline, &work) == 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
}

std::int64_t chain_length() {
    // CI's sanitizer build sets a shorter chain: AddressSanitizer makes each node several times dearer.
    if (const char* text = std::getenv("SYMGRAD_SCALE_NODES")) return std::atoll(text);
    return 1'000'000;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("a million-node chain builds, differentiates, evaluates, prints and dies in an 8 MiB stack", "[scale]") {
    const std::int64_t n = chain_length();
    const std::size_t live_before = live_node_count();
    bool finished = false;
    double y_value = 0;
    double dx_value = 0;
    double dw_value = 0;
    std::size_t text_size = 0;
    std::size_t latex_size = 0;
    std::size_t dot_size = 0;
    std::size_t live_peak = 0;
    run_with_stack(8 << 20, [&] {
        auto start = std::chrono::steady_clock::now();
        // The multiplier is a variable, so nothing folds: both gradients are chains as long as y.
        const Expr x = var("x", {});
        const Expr w = var("w", {});
        Expr y = x;
        for (std::int64_t i = 0; i < n; ++i) y = y * w + x;
        const double build = seconds_since(start);
        start = std::chrono::steady_clock::now();
        const auto [dx, dw] = grad(y, {x, w});
        const double differentiate = seconds_since(start);
        start = std::chrono::steady_clock::now();
        const auto values = evaluate(std::vector<Expr>{y, dx, dw}, {{"x", Tensor::scalar(0.5)}, {"w", Tensor::scalar(0.999999)}});
        const double eval = seconds_since(start);
        y_value = values[0].item();
        dx_value = values[1].item();
        dw_value = values[2].item();
        start = std::chrono::steady_clock::now();
        text_size = to_string(y).size();
        latex_size = to_latex(dx).size();
        // DOT goes through Boost's write_graphviz, which runs a regex over every vertex id (about 20 us
        // a node): linear, but a million-node DOT file is past what Graphviz can lay out anyway.
        Expr link = x;
        for (int i = 0; i < 20'000; ++i) link = link * w + x;
        const Expr dot_roots[] = {grad(link, {w})[0]};
        dot_size = to_dot(dot_roots).size();
        const double print = seconds_since(start);
        live_peak = live_node_count();
        start = std::chrono::steady_clock::now();
        WARN(fmt::format("{} nodes: build {:.2f} s, grad {:.2f} s, evaluate {:.2f} s, print {:.2f} s", n, build, differentiate, eval,
                         print));
        finished = true;
    });
    REQUIRE(finished);
    // Forward mode by hand: y' = y w + x, dy/dx' = w dy/dx + 1, dy/dw' = w dy/dw + y.
    double y_ref = 0.5;
    double dx_ref = 1;
    double dw_ref = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        dw_ref = dw_ref * 0.999999 + y_ref;
        dx_ref = dx_ref * 0.999999 + 1;
        y_ref = y_ref * 0.999999 + 0.5;
    }
    CHECK(y_value == Approx(y_ref).epsilon(1e-9));
    CHECK(dx_value == Approx(dx_ref).epsilon(1e-9));
    CHECK(dw_value == Approx(dw_ref).epsilon(1e-9));
    CHECK(text_size > static_cast<std::size_t>(n) * 9);  // "(... * w + x)" per link
    CHECK(latex_size > static_cast<std::size_t>(n));
    CHECK(dot_size > 20'000 * 20);
    CHECK(live_peak > live_before + static_cast<std::size_t>(2 * n));
    // Everything built inside the thread is gone.
    CHECK(live_node_count() == live_before);
}
