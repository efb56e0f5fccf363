// Choosing a kernel set: the CPU is asked first, and only then is a set's getter called (kernels_isa.hpp, the rule).
// Baseline code: nothing here is compiled with a wider -m flag.
#include "exec/kernels_isa.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace symgrad::detail {

namespace {

// The features each set is compiled for (CMakeLists.txt names the same ones as -m flags). libgcc's
// __builtin_cpu_supports reports avx/avx2/avx512* only when the OS also saves those registers (XGETBV).
bool cpu_runs(Isa isa) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    if (isa == Isa::avx2) return avx2;
    if (isa == Isa::avx512) {
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd");
    }
#endif
    return isa == Isa::generic;
}

// The set I when the CPU runs it, else null: the one way to a getter.
template <Isa I> const KernelSet* set_if_runs(const KernelSet& (*getter)(CpuVerified<I>)) {
    const std::optional<CpuVerified<I>> proof = verify_cpu<I>();
    return proof ? &getter(*proof) : nullptr;
}

struct IsaEntry {
    std::string_view name;
    Isa isa;
    const KernelSet* (*get_if_runs)();
};

// Widest first. A set that this build does not compile is not listed (every set but generic is x86-64 only).
constexpr IsaEntry built_sets[] = {
#if defined(__x86_64__)
    {"avx512", Isa::avx512, [] { return set_if_runs<Isa::avx512>(&kernel_set_avx512); }},
    {"avx2", Isa::avx2, [] { return set_if_runs<Isa::avx2>(&kernel_set_avx2); }},
#endif
    {"generic", Isa::generic, [] { return set_if_runs<Isa::generic>(&kernel_set_generic); }},
};

// Every name a build of symgrad may have, for the error messages.
constexpr std::string_view known_sets[] = {"avx512", "avx2", "generic"};

const IsaEntry* find_built(std::string_view name) {
    for (const IsaEntry& entry : built_sets) {
        if (entry.name == name) return &entry;
    }
    return nullptr;
}

// `source` starts the message when the name came from somewhere the user may not think of (SYMGRAD_ISA).
const KernelSet& checked_set(std::string_view name, std::string_view source) {
    const IsaEntry* entry = find_built(name);
    if (!entry) {
        bool known = false;
        for (std::string_view known_name : known_sets) known = known || known_name == name;
        if (known) {
            throw Error(fmt::format("{}this build of symgrad has no '{}' kernels (it was built for another processor; this CPU runs: {})",
                                    source, name, fmt::join(available_isas(), ", ")));
        }
        throw Error(fmt::format("{}unknown instruction set '{}': expected auto, avx512, avx2 or generic", source, name));
    }
    const KernelSet* set = entry->get_if_runs();
    if (!set)
        throw Error(fmt::format("{}this CPU cannot run the '{}' kernels (it runs: {})", source, name, fmt::join(available_isas(), ", ")));
    return *set;
}

}  // namespace

template <Isa I> std::optional<CpuVerified<I>> verify_cpu() {
    if (!cpu_runs(I)) return std::nullopt;
    return CpuVerified<I>();
}

int pair_index(Op op1, Op op2, int position) {
    int i1 = -1;
    int i2 = -1;
    for (int k = 0; k < 4; ++k) {
        if (pair_ops[static_cast<std::size_t>(k)] == op1) i1 = k;
        if (pair_ops[static_cast<std::size_t>(k)] == op2) i2 = k;
    }
    if (i1 < 0 || i2 < 0) return -1;
    return (i1 * 4 + i2) * 2 + position;
}

std::vector<std::string_view> available_isas() {
    std::vector<std::string_view> isas;
    for (const IsaEntry& entry : built_sets) {
        if (cpu_runs(entry.isa)) isas.push_back(entry.name);
    }
    return isas;
}

const KernelSet& kernel_set(std::string_view isa) {
    if (isa != "auto") return checked_set(isa, "");
    const char* forced = std::getenv("SYMGRAD_ISA");
    if (forced && *forced && std::string_view(forced) != "auto") {
        return checked_set(forced, fmt::format("SYMGRAD_ISA={}: ", forced));
    }
    return checked_set(available_isas().front(), "");
}

}  // namespace symgrad::detail
