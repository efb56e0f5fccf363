// SplitMix64: a small, well-mixed generator whose output is the same on every platform. Seeded random tensors,
// the built-in datasets and the training shuffle all draw from it, so a seed means the same numbers everywhere.
#pragma once

#include <cstdint>

namespace symgrad::detail {

struct SplitMix64 {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 53 random bits.
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

}  // namespace symgrad::detail
