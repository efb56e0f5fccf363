// The engine's worker threads: one pool per process, started on first use, sleeping on a condition variable
// between jobs (no spinning thread is ever left behind), joined at exit.
#pragma once

#include <cstddef>
#include <functional>

namespace symgrad::detail {

// Runs task(0), ..., task(count - 1), on up to `threads` threads (the caller's included), and returns when all
// are done. An exception thrown by a task is rethrown here (the first one, if several threw).
void parallel_for(std::size_t count, std::size_t threads, const std::function<void(std::size_t)>& task);

// The number of threads "all of them" means: std::thread::hardware_concurrency(), at least 1.
std::size_t hardware_threads();

}  // namespace symgrad::detail
