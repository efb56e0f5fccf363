// Bitwise equality of tensors, the fused engine's promise: the same bits as the reference evaluator, except that any
// NaN equals any NaN (a NaN's payload is not part of it). No test framework here: the fuzz targets use it too.
#pragma once

#include <cmath>
#include <cstring>

#include <symgrad/tensor.hpp>

namespace symgrad::testing {

inline bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    for (std::int64_t i = 0; i < a.numel(); ++i) {
        const double x = a.get(i);
        const double y = b.get(i);
        if (std::isnan(x) && std::isnan(y)) continue;
        if (std::memcmp(&x, &y, sizeof x) != 0) return false;
    }
    return true;
}

}  // namespace symgrad::testing
