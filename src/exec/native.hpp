// The native backend: each fused region of a plan as one generated C++ function, compiled at run time by the C++
// compiler that built symgrad, cached on disk, and loaded with dlopen.
//
// The generated code calls the same scalar kernels as the interpreter and the reference evaluator (their text is
// compiled into the library: src/math/ops_kernels.hpp with vmath.hpp and piecewise.inc inlined) in the same
// order, with the same floating-point flags (-ffp-contract=off, no fast-math), so every value it computes has the
// reference's bits. What changes is where intermediates live: one loop over a run of elements computes every
// instruction of the region for an element in registers, instead of one pass over a block per instruction.
//
// A region's function is called by the executor on the same chunks and blocks as the interpreter (so gathered
// operands and the chunked partial sums are the same), and within a block on runs that end where a fused
// reduction's accumulator index wraps, so each accumulator row is indexed by the loop counter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exec/plan.hpp"

namespace symgrad::detail {

// A region's generated function (NativeFunction, plan.hpp). `pointers` holds, in order: one per entry of
// Region::inputs (its elements at the run's start: the value itself, read in place, or its gathered scratch
// block); one per Region::materialized (the value's elements at the run's start); one per Region::reductions (its
// accumulator row). It computes n elements. When the reductions have a common period P (common_period), the rows
// point at their first accumulator and the run's first element adds into accumulator `phase` (its index mod P);
// the loop wraps to accumulator 0 as the reference does. Otherwise the rows point at the run's accumulator and
// the run ends before any wraps (phase is 0).

// The C++ source of a plan's regions: the prelude (the kernels), then `symgrad_region_<k>` for region k. Each line
// of a loop is commented with the expression it computes (`symgrad kernel` prints this text).
std::string native_source(const Program::Plan& plan);

// How the native backend would compile: the compiler (SYMGRAD_CXX, else CXX, else the one that built symgrad), its
// identity (resolved path, size and modification time: a new compiler version is a new identity), the flags for
// an instruction set, and the host CPU's identity. `why_not` is set when there is no usable compiler.
struct NativeToolchain {
    std::vector<std::string> command;  // the compiler command as given ("ccache g++", "g++ -m64")
    std::string compiler;  // its last executable (g++), for messages
    std::vector<std::string> flags;
    std::string identity;
    std::string why_not;
};
NativeToolchain native_toolchain(std::string_view isa);

// A loaded shared object (closed when the last Program using it goes).
class NativeModule {
public:
    NativeModule(void* handle, int fd) : handle_(handle), fd_(fd) {}
    NativeModule(const NativeModule&) = delete;
    NativeModule& operator=(const NativeModule&) = delete;
    ~NativeModule();
    void* symbol(const std::string& name) const;

private:
    void* handle_;
    int fd_;  // the memory file it was loaded from, kept open while loaded (or -1)
};

struct NativeBuild {
    std::shared_ptr<NativeModule> module;  // null when the interpreter has to run
    std::string why_not;  // why (one line), when module is null
    bool compiled = false;  // a compile ran (false: taken from the cache, or failed before compiling)
    bool from_cache = false;
    double milliseconds = 0;  // compile or load, as measured
};

// The module of `source`: loaded from the cache when an entry for this source, toolchain and CPU is there and
// intact; otherwise compiled and stored (when `compile` is true).
NativeBuild build_native(const std::string& source, const NativeToolchain& toolchain, bool compile);

// The cache: $SYMGRAD_CACHE_DIR, else $XDG_CACHE_HOME/symgrad, else $HOME/.cache/symgrad. Empty when none of
// them is set.
std::string native_cache_directory();

}  // namespace symgrad::detail
