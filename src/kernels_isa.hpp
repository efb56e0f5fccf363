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

struct KernelSet {
    std::string_view isa;
    std::array<BlockKernel<float>, op_count> f32{};
    std::array<BlockKernel<double>, op_count> f64{};
    // pow with a scalar exponent of 2 or 3 (the pow kernel computes these exactly so).
    BlockKernel<float> square32 = nullptr;
    BlockKernel<double> square64 = nullptr;
    BlockKernel<float> cube32 = nullptr;
    BlockKernel<double> cube64 = nullptr;
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
