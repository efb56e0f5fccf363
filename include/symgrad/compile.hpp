// Exec layer: compile(outputs) plans a graph once; Program::run evaluates it, fusing every elementwise region
// into one blocked pass over memory. The same graph, the same kernels and the same order of operations as the
// reference evaluator, so results agree with it exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "symgrad/evaluate.hpp"

namespace symgrad {

// The most threads a Program (or training) may be asked for; more is a mistake (a negative count read as
// unsigned), not a machine. compile() refuses more with an Error.
inline constexpr std::size_t max_threads = 1024;

// What runs a program's fused regions.
enum class Backend {
    // The interpreter first; the native backend once the program's regions have run native_after elements (a
    // compile pays off only for work that is repeated or large). The default.
    automatic,
    // Generated C++ for each region, compiled by the C++ compiler that built symgrad (SYMGRAD_CXX or CXX override
    // it) and cached on disk (native_cache_directory()), from the first run. Where it cannot run (no compiler, a
    // failing compile, no writable cache), the interpreter does, and stderr gets one line saying why.
    native,
    // The block kernels of the instruction set (CompileOptions::isa): no compiler needed.
    interpreter,
};

struct CompileOptions {
    // Elements per block: each fused instruction runs over this many at a time (a few kB of registers).
    std::size_t block = 1024;
    // Which compiled kernels run the regions: "auto" (the widest vector instructions this CPU has, unless the
    // SYMGRAD_ISA environment variable names a set), or one of available_instruction_sets(). Every set gives the
    // same bits; choosing one is for tests and for measuring.
    std::string isa = "auto";
    // Threads a region's elements are split over (the caller's thread included); 0 means one per hardware thread.
    // The workers sleep between runs. Results do not depend on the count, except for sums fused into a region,
    // which add one partial sum per thread (in a fixed order: the same count always gives the same bits).
    std::size_t threads = 1;
    // Matrix products through BLAS (OpenBLAS: fast, accumulates in the operands' dtype, in its own order). False
    // runs the reference evaluator's product (accumulates in double), so that every result is the reference's bits.
    bool blas = true;
    // The native backend gives the same bits as the interpreter; it is faster on large or repeated work. The
    // environment variable SYMGRAD_JIT=0 turns it off (the interpreter runs, silently).
    Backend backend = Backend::automatic;
    // Backend::automatic: elements (summed over regions and runs) the interpreter runs before the native backend
    // is built. About a millisecond of interpreted work per million.
    std::int64_t native_after = std::int64_t{1} << 20;
};

// How a program's native kernels were built, or why they were not.
struct NativeReport {
    bool native = false;  // the regions run native code
    bool compiled = false;  // a compile ran (false: the kernels came from the cache)
    bool from_cache = false;
    double milliseconds = 0;  // the compile, or the load from the cache
    std::string why_not;  // why the interpreter runs (empty when the options or SYMGRAD_JIT=0 chose it)
};

// The native backend's disk cache: $SYMGRAD_CACHE_DIR, else $XDG_CACHE_HOME/symgrad, else ~/.cache/symgrad
// (empty when none of them is set: no cache, and the interpreter runs).
std::string native_cache_directory();
struct NativeCacheUsage {
    std::string directory;
    std::size_t entries = 0;  // compiled kernels
    std::uintmax_t bytes = 0;  // everything symgrad keeps there
};
NativeCacheUsage native_cache_usage();
// Removes the files symgrad keeps in the cache (and nothing else); returns how many.
std::size_t clear_native_cache();

// The kernel sets this build has and this CPU runs, widest first: some of "avx512", "avx2", and "generic" (always
// there, and the only one on processors other than x86-64).
std::vector<std::string> available_instruction_sets();
// The set that CompileOptions::isa = `isa` runs on this CPU: for "auto", the SYMGRAD_ISA environment variable's
// choice or else the widest available. Throws Error for a name that is unknown, not in this build or not run by
// this CPU (the message says which, and what the CPU runs).
std::string resolve_instruction_set(const std::string& isa = "auto");

class Program {
public:
    // The values of the outputs given to compile(), for these bindings.
    std::vector<Tensor> run(const Bindings& bindings) const;
    // With options.detect_anomaly: when an output holds a NaN or an infinity (one extra pass over the outputs), the
    // reference evaluator finds where it was made and an AnomalyError reports it (evaluate.hpp).
    std::vector<Tensor> run(const Bindings& bindings, const RunOptions& options) const;

    // How the graph was planned (for tests and for the curious): fused regions and other steps.
    std::size_t region_count() const;
    std::size_t step_count() const;
    std::string describe() const;
    // How many instructions run inside the loop of their only reader (an add, sub, mul or div read only by
    // another): pairs of operations done in one pass over the registers.
    std::size_t fused_pair_count() const;
    // Copies share one plan; two programs are equal when they are the same plan (compile_cached's answer to a
    // repeated request).
    bool operator==(const Program& other) const { return plan_ == other.plan_; }
    // The kernel set the regions run ("avx512", "avx2" or "generic"); the native backend compiles for it too.
    std::string_view instruction_set() const;
    // What runs the regions now: "native" or "interpreter".
    std::string_view backend() const;
    // Builds the native kernels now (from the cache, or by compiling them), unless the interpreter was chosen, and
    // says how it went; later calls return the same report. Backend::automatic would do this after native_after
    // elements; a benchmark or a long training run may want it before the first run.
    NativeReport prepare_native() const;
    // The C++ the native backend compiles for this program: each region as one function (`symgrad kernel`).
    std::string native_source() const;

    struct Plan;

private:
    friend Program compile(std::span<const Expr> outputs, const CompileOptions& options);
    std::shared_ptr<const Plan> plan_;
};

// Plans the graphs of outputs: elementwise nodes of one shape that feed each other become one region, run in
// blocks; everything else (leaves, reductions, reshapes, matmul) is a step of its own.
Program compile(std::span<const Expr> outputs, const CompileOptions& options = {});

// compile(), once per graph: equal graphs are the same nodes (hash-consing), with their shapes and dtypes, so a
// later call with the same outputs and options returns the program planned the first time. Calling an
// activation in a loop plans it once. Keeps the 64 most recently used programs (and their graphs); safe to call
// from several threads.
Program compile_cached(std::span<const Expr> outputs, const CompileOptions& options = {});

// The values of outputs by the fused engine: compile_cached(outputs, options).run(bindings).
std::vector<Tensor> run_compiled(std::span<const Expr> outputs, const Bindings& bindings, const CompileOptions& options = {});
Tensor run_compiled(const Expr& output, const Bindings& bindings, const CompileOptions& options = {});

}  // namespace symgrad
