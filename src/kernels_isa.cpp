#include "kernels_isa.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace symgrad::detail {

namespace {

// The features each set is compiled for (CMakeLists.txt names the same ones as -m flags).
bool cpu_runs(std::string_view isa) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                      __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    if (isa == "avx2") return avx2;
    if (isa == "avx512") {
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd");
    }
#endif
    return isa == "generic";
}

const KernelSet* find_set(std::string_view isa) {
#if defined(__x86_64__)
    if (isa == "avx512") return &kernel_set_avx512();
    if (isa == "avx2") return &kernel_set_avx2();
#endif
    if (isa == "generic") return &kernel_set_generic();
    return nullptr;
}

}  // namespace

std::vector<std::string_view> available_isas() {
    std::vector<std::string_view> isas;
    for (std::string_view isa : {"avx512", "avx2", "generic"}) {
        if (find_set(isa) && cpu_runs(isa)) isas.push_back(isa);
    }
    return isas;
}

const KernelSet& kernel_set(std::string_view isa) {
    if (isa == "auto") {
        const char* forced = std::getenv("SYMGRAD_ISA");
        if (forced && *forced) {
            isa = forced;
        } else {
            return *find_set(available_isas().front());
        }
    }
    const KernelSet* set = find_set(isa);
    if (!set) throw Error(fmt::format("unknown instruction set '{}': expected auto, avx512, avx2 or generic", isa));
    if (!cpu_runs(isa)) throw Error(fmt::format("this CPU cannot run the '{}' kernels (it runs: {})", isa, fmt::join(available_isas(), ", ")));
    return *set;
}

}  // namespace symgrad::detail
