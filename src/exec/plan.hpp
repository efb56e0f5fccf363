// What compile() (compile.cpp, the planner) hands to Program::run (executor.cpp): the steps of a planned graph.
//
// Planning: every node gets a stage. A leaf is stage 0; a structural node is one more than its latest operand; an
// elementwise node shares the stage of an operand that is elementwise and of its own shape, and is one more than
// any other operand. Elementwise nodes with the same stage and shape form one region. A region only reads values
// of earlier stages (or its own nodes), so running stages in order needs no other analysis, and no region can
// depend on itself through a reduction.
//
// Running a region: for each block of elements, each instruction of the region runs its block kernel over a
// register of `block` elements; operands are registers of the region, or materialized values (read in place when
// they have the region's shape, gathered through broadcast strides otherwise). Values used outside their region,
// and the outputs, are written out.
//
// Reductions fused into a region: a sum or mean over leading axes (the per-unit parameter gradient's sum over the
// batch) of a value of the region's shape is accumulated block by block in the region's pass, in double and in
// the reference evaluator's order, instead of being written out and read again. Its operand is a register of the
// region, or a value the region's stage can read.
//
// Threads: a region's elements are split into contiguous chunks of whole blocks, one task each. A fused reduction
// keeps one row of accumulators per chunk and adds the rows in chunk order, so a given thread count always gives
// the same bits; with one thread they are the reference evaluator's bits.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exec/kernels_isa.hpp"
#include "symgrad/compile.hpp"

namespace symgrad::detail {

inline constexpr std::uint32_t none = static_cast<std::uint32_t>(-1);

// An operand is a register of the region (the instruction that computed it) or a materialized value.
struct Source {
    bool in_region = false;
    std::uint32_t index = none;  // register slot, or position in the graph index
};

// A kernel set's accumulation loop for T. (Here, not in kernels_isa.hpp, which the wide kernel files see too.)
template <class T> AccumulateKernel<T> accumulate_kernel(const KernelSet& set) {
    return for_element_type<T>(set.accumulate32, set.accumulate64);
}

// Which block kernel an instruction runs.
enum class KernelKind : std::uint8_t {
    row,  // the table row's kernel
    variant,  // a cheaper form with the same bits (the row's variant hook: pow with exponent 2 to 8 as a product)
    pair,  // two arithmetic ops in one loop: this instruction and the one it absorbed (fuse_pairs)
};

struct Instruction {
    const OpInfo* info;
    KernelKind kind = KernelKind::row;
    BlockKernel<float> kernel32 = nullptr;
    BlockKernel<double> kernel64 = nullptr;
    std::uint32_t node = none;  // position in the index
    // The node's operands (whatever kernel runs it).
    std::array<Source, max_arity> source{};
    std::array<std::int32_t, max_arity> scratch{-1, -1, -1};  // scratch slot of a gathered operand
    std::size_t arity = 0;
    bool fused_away = false;  // computed inside its only reader (a pair kernel); its register is unused
    // A pair kernel's three operands: the absorbed instruction's two, then this one's other operand.
    std::array<Source, max_arity> pair_source{};
    std::array<std::int32_t, max_arity> pair_scratch{-1, -1, -1};

    template <class T> BlockKernel<T> kernel() const { return for_element_type<T>(kernel32, kernel64); }
};

// A sum or mean over leading axes computed in a region's pass.
struct Reduction {
    std::uint32_t node;  // the reduction's position in the index
    Source source;  // what it sums: a register, or a value of the region's shape
    std::int64_t groups;  // elements of the result
    std::int64_t period;  // accumulators (reduce_order.hpp): the length of the row kept per chunk
    double scale;  // 1 for sum, 1/count for mean
};

// A register whose value leaves the region: written into the value itself.
struct Materialized {
    std::uint32_t slot;  // the register
    std::uint32_t node;  // the value's position in the index
};

// A value of another shape than the region's, gathered (broadcast) into a scratch block: one per value, however
// many instructions read it. An invariant one (a scalar, or a per-unit value whose period divides the block) is
// the same in every block and is gathered once per chunk.
struct Gathered {
    std::uint32_t node;
    bool invariant;
};

// A value a region's generated function reads (native.hpp): in place when it has the region's shape (scratch -1),
// else from its gathered scratch block. A scalar constant is not one (the generated code holds it as a literal),
// except where it is an operand of the C library's pow (see literal_operand).
struct RegionInput {
    std::uint32_t node;
    std::int32_t scratch = -1;
};

struct Region {
    Shape shape;
    DType dtype;
    std::vector<Instruction> instructions;
    std::vector<Reduction> reductions;
    std::vector<Materialized> materialized;
    std::vector<Gathered> gathered;
    std::vector<RegionInput> inputs;  // for the native backend
};

// Whether the native backend writes `operand` of `ins` as a literal: a scalar constant, except in a pow that calls
// the general kernel. There the C library's pow must get the exponent at run time, as the interpreter's does: g++
// folds pow(x, -1.0) with a literal -1.0 into 1.0 / x, which rounds differently from glibc's pow.
inline bool literal_operand(const Instruction& ins, const Node& operand) {
    if (!operand.is_scalar_constant()) return false;
    return !(ins.info->op == Op::pow && ins.kind == KernelKind::row);
}

// Registers cost a block of memory per instruction, so a region holds at most this many; a longer run of
// elementwise nodes continues in the next region, which reads what it needs written out.
inline constexpr std::size_t max_region_instructions = 128;

// What a matrix product reads: an operand, or the operand of a transpose it bypasses (BLAS reads it transposed).
struct MatmulOperand {
    std::uint32_t source = none;
    bool transposed = false;
};

// One step of the plan: a region, or a single node evaluated by the reference kernels, or a matrix product by BLAS.
struct Step {
    std::uint32_t stage;
    std::int64_t region = -1;  // index into regions, or -1
    std::uint32_t node = none;
    std::array<MatmulOperand, 2> matmul{};  // for a matrix product by BLAS (matmul[0].source != none)
    std::vector<std::uint32_t> release_after;  // values nothing later reads: released after this step

    bool is_blas_matmul() const { return matmul[0].source != none; }
};

}  // namespace symgrad::detail

namespace symgrad::detail {

class NativeModule;
using NativeFunction = void (*)(void* const* pointers, std::size_t n, std::size_t phase);

// The period of a region's fused reductions when they all have the same one (the native backend then follows the
// accumulator index's wrap inside its loop), else 0.
inline std::int64_t common_period(const Region& region) {
    if (region.reductions.empty()) return 0;
    for (const Reduction& r : region.reductions) {
        if (r.period != region.reductions.front().period) return 0;
    }
    return region.reductions.front().period;
}

// Whether a plan's regions run native code yet (Backend::automatic switches after native_after elements). Written
// once, under the mutex; `ready` is set last, so a run that sees it reads complete functions.
struct NativeState {
    std::mutex mutex;
    std::atomic<bool> ready{false};
    std::atomic<bool> settled{false};  // ready, or given up (the interpreter runs from now on)
    std::atomic<std::int64_t> elements{0};  // elements the interpreter ran (Backend::automatic)
    std::shared_ptr<NativeModule> module;
    std::vector<NativeFunction> functions;  // per region
    NativeReport report;
};

}  // namespace symgrad::detail

namespace symgrad {

struct Program::Plan {
    GraphIndex index;
    std::vector<Expr> outputs;
    std::vector<detail::Region> regions;
    std::vector<detail::Step> steps;
    std::size_t block;
    std::size_t threads;
    const detail::KernelSet* kernels;
    Backend backend = Backend::automatic;
    std::int64_t native_after = 0;
    mutable detail::NativeState native;
};

}  // namespace symgrad
