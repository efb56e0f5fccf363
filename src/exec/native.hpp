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
#include <span>
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

// The kernels' text that generated code starts with (src/math/ops_kernels.hpp with vmath.hpp and piecewise.inc in
// place of their includes); code after it calls them as K::name<T>(a, b, c).
std::string_view native_prelude();
// The kernel call that computes `node` on its operands' texts (unused operands "0"), for element type `type`.
std::string native_call(const Node& node, const std::string (&operands)[max_arity], std::string_view type);
// A scalar constant as a C++ literal of the dtype's type with exactly its value (the shortest text that reads back).
std::string native_literal(double value, DType dtype);
// The expression a node computes, cut short to one line, for a comment beside the code that computes it.
std::string native_comment(const Node* node);

// Elementwise passes over a tensor x whose other operands are either like x, one value for all, or one value per
// index of a block of x's axes: the kernels of the PyTorch export (export_torch with native, docs/export.md).
// Element e of x reads indexed operands at m = (e / inner) % mid, where the caller chooses mid and inner: per unit
// [B, U] is mid = U, inner = 1; per channel [B, C, H, W] is mid = C, inner = H * W.
enum class ElementwiseKind {
    element,  // an input like x; an output written for each element
    indexed,  // an input with mid values; an output summed over the elements that share an index (mid sums)
    scalar,  // an input with one value; an output summed over all elements
};
struct ElementwiseInput {
    std::string variable;  // its name in the outputs' scalar expressions
    ElementwiseKind kind;
};
struct ElementwiseOutput {
    Expr value;  // a scalar expression of the inputs' variables (float64, elementwise)
    ElementwiseKind kind;
};
struct ElementwisePass {
    std::string name;  // the entry point is symgrad_<name>
    std::vector<ElementwiseInput> inputs;
    std::vector<ElementwiseOutput> outputs;
};
// C++ source for the passes (after native_prelude()), for the element type the macro SYMGRAD_REAL names (float or
// double). Each pass is `extern "C" int symgrad_<name>(void* const* p, const long long* dims, long long threads)`:
// p holds the inputs' data in order, then the outputs' (summed outputs: mid values, or one, of the element type);
// dims = {elements, mid, inner}; threads splits the elements into that many contiguous ranges (fewer for small
// tensors), whose partial sums (in double) are added in range order. Returns 0; 1 when out of memory, 2 when dims
// make no sense (no elements per index, fewer than none in all).
// One loop per run of elements computes each element's outputs in registers with the same kernels, in the same
// order, as the reference evaluator. Throws Error on a variable that is not an input (a bug of the caller).
std::string elementwise_source(std::span<const ElementwisePass> passes);

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
// Its parts: the compiler that built symgrad, the flags for every instruction set (the kernel sets' own, with
// -ffp-contract=off, and those of a shared object), and the -m flags of one ("avx512", "avx2"; none for "generic").
std::string native_compiler();
std::vector<std::string> native_flags();
std::vector<std::string> native_isa_flags(std::string_view isa);

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
