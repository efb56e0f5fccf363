// The block kernels of the fused engine, compiled once per vector instruction set and chosen at run time.
//
// src/kernels_isa.inc is compiled three times (kernels_generic.cpp, kernels_avx2.cpp, kernels_avx512.cpp) with
// different -march flags; each defines one KernelSet. The library itself is built for the baseline x86-64, so it
// runs everywhere, and the engine picks the widest set this CPU supports. All sets compute the same bits: the
// kernels use IEEE operations only and the library is compiled with -ffp-contract=off (no fused multiply-add
// that one width would use and another not).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

#include "symgrad/ops.hpp"

namespace symgrad::detail {

// A kernel applied to n contiguous elements (operands beyond the op's arity point at zeros).
template <class T> using BlockKernel = void (*)(T* out, const T* a, const T* b, const T* c, std::size_t n);
// acc[j] += x[j] for j < n, in double (the reference sums in double): one row of a sum over leading axes.
template <class T> using AccumulateKernel = void (*)(double* acc, const T* x, std::size_t n);

// Two arithmetic operations in one loop, out = op2(op1(a, b), c) or op2(c, op1(a, b)), for op1 and op2 among
// add, sub, mul, div: the engine fuses an arithmetic instruction into its only reader (Horner steps, products of
// gradient factors), saving a store and a load per element; the roundings are those of the two ops.
inline constexpr std::array<Op, 4> pair_ops{Op::add, Op::sub, Op::mul, Op::div};
// The index in KernelSet::pair32/pair64 of op1, op2 and the position (0 or 1) of op1's result in op2; -1 when
// an op is not one of pair_ops.
inline int pair_index(Op op1, Op op2, int position) {
    int i1 = -1;
    int i2 = -1;
    for (int k = 0; k < 4; ++k) {
        if (pair_ops[static_cast<std::size_t>(k)] == op1) i1 = k;
        if (pair_ops[static_cast<std::size_t>(k)] == op2) i2 = k;
    }
    if (i1 < 0 || i2 < 0) return -1;
    return (i1 * 4 + i2) * 2 + position;
}

struct KernelSet {
    std::string_view isa;
    std::array<BlockKernel<float>, op_count> f32{};
    std::array<BlockKernel<double>, op_count> f64{};
    // pow with a scalar exponent of 2 or 3 (the pow kernel computes these exactly so).
    BlockKernel<float> square32 = nullptr;
    BlockKernel<double> square64 = nullptr;
    BlockKernel<float> cube32 = nullptr;
    BlockKernel<double> cube64 = nullptr;
    std::array<BlockKernel<float>, 32> pair32{};
    std::array<BlockKernel<double>, 32> pair64{};
    AccumulateKernel<float> accumulate32 = nullptr;
    AccumulateKernel<double> accumulate64 = nullptr;
};

const KernelSet& kernel_set_generic();
#if defined(__x86_64__)
const KernelSet& kernel_set_avx2();
const KernelSet& kernel_set_avx512();
#endif

// The set for `isa`: "auto" (the widest this CPU runs, or the SYMGRAD_ISA environment variable's choice), or one
// of available_isas(). Throws Error for a name that is unknown or that this CPU cannot run.
const KernelSet& kernel_set(std::string_view isa);
std::vector<std::string_view> available_isas();

}  // namespace symgrad::detail
