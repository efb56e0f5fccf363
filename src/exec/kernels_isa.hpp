// The block kernels of the fused engine, compiled once per vector instruction set and chosen at run time.
//
// src/exec/kernels_isa.inc is compiled three times (kernels_generic.cpp, kernels_avx2.cpp, kernels_avx512.cpp) with
// different -m flags; each defines one KernelSet. The rest of the library is built for the baseline of its
// architecture (x86-64 without AVX), so it runs everywhere, and the engine picks the widest set this CPU supports.
// All sets compute the same bits: the kernels use IEEE operations only and the library is compiled with
// -ffp-contract=off (no fused multiply-add that one width would use and another not).
//
// THE RULE: no code compiled with a wider -m flag runs before the CPU is known to support it.
//   1. kernels_avx2.cpp and kernels_avx512.cpp define one external symbol each, their table getter. Everything
//      else in them has internal linkage (the unnamed namespaces of kernels_isa.inc, ops_kernels.hpp, vmath.hpp
//      and the primitive table, ops/table.hpp, which they read only in constant expressions), so the linker can never take a wide copy of an inline function or a template instance for a
//      baseline one: they define no weak, unique or COMDAT symbol, and they have no static initialiser (their
//      table is a function-local static, built on the getter's first call).
//      tests/check_isa_objects.cmake reads the object files and fails the build's tests when this is broken.
//   2. A getter takes a CpuVerified<its set>, which only verify_cpu() (kernels_isa.cpp) makes, after asking the CPU
//      (__builtin_cpu_supports, which also checks that the OS saves the wider registers). So a getter cannot be
//      called before the question is answered; the compiler enforces it.
//   3. This header is seen by the wide files too: nothing in it may be an inline function or variable with
//      external linkage (it declares; kernels_isa.cpp defines).
// CI runs the tests under `qemu-x86_64 -cpu Haswell` (AVX2, no AVX-512) and `-cpu Nehalem` (neither).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
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
// (constexpr at namespace scope: internal linkage, see rule 3.)
constexpr std::array<Op, 4> pair_ops{Op::add, Op::sub, Op::mul, Op::div};
// The index in KernelSet::pair32/pair64 of op1, op2 and the position (0 or 1) of op1's result in op2; -1 when
// an op is not one of pair_ops.
int pair_index(Op op1, Op op2, int position);

struct KernelSet {
    std::string_view isa;
    std::array<BlockKernel<float>, op_count> f32{};
    std::array<BlockKernel<double>, op_count> f64{};
    // pow with a constant exponent n from 2 to 8, at index n (the pow kernel computes these exactly so).
    std::array<BlockKernel<float>, max_product_power + 1> power32{};
    std::array<BlockKernel<double>, max_product_power + 1> power64{};
    std::array<BlockKernel<float>, 32> pair32{};
    std::array<BlockKernel<double>, 32> pair64{};
    AccumulateKernel<float> accumulate32 = nullptr;
    AccumulateKernel<double> accumulate64 = nullptr;
};

enum class Isa { generic, avx2, avx512 };

// Proof that this CPU runs set I (rule 2): only verify_cpu<I> makes one, and a proof for one set is not one for
// another. An empty type passed by value: it costs nothing and defines no function.
template <Isa I> class CpuVerified {
    CpuVerified() = default;
    template <Isa J> friend std::optional<CpuVerified<J>> verify_cpu();
};

// A proof for set I when this build has it and this CPU runs it; nothing otherwise (kernels_isa.cpp).
template <Isa I> std::optional<CpuVerified<I>> verify_cpu();

// The getters, one per kernels_<isa>.cpp (the generic set needs no proof but takes one all the same, so that
// every set is reached the same way).
const KernelSet& kernel_set_generic(CpuVerified<Isa::generic>);
#if defined(__x86_64__)
const KernelSet& kernel_set_avx2(CpuVerified<Isa::avx2>);
const KernelSet& kernel_set_avx512(CpuVerified<Isa::avx512>);
#endif

// The set for `isa`: "auto" (the widest this CPU runs, or the SYMGRAD_ISA environment variable's choice), or one
// of available_isas(). Throws Error for a name that is unknown, that this build lacks or that this CPU cannot run.
const KernelSet& kernel_set(std::string_view isa);
// The sets this build has and this CPU runs, widest first; "generic" is always last.
std::vector<std::string_view> available_isas();

}  // namespace symgrad::detail
