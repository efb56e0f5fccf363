// The order in which a sum over leading axes adds its elements, shared by the reference evaluator
// (src/ops/structural.cpp) and the fused engine (src/exec/executor.cpp) so that both give the same bits.
//
// Element i of the operand (in row-major order) belongs to result element i mod groups. The sum keeps
// `period` accumulators in double, a multiple of groups: element i is added into accumulator i mod period, in
// order of i. Then result element j is the sum of accumulators j, j + groups, j + 2 groups, ... in that order.
// For groups of 64 or more the period is groups itself (one accumulator per result element); for fewer (a
// shared scalar parameter's gradient sums everything into one), the extra accumulators turn one long chain of
// dependent additions into 64 independent ones, which vectorize.
#pragma once

#include <cstdint>

namespace symgrad::detail {

inline constexpr std::int64_t min_accumulation_period = 64;

inline std::int64_t accumulation_period(std::int64_t groups) {
    if (groups <= 0 || groups >= min_accumulation_period) return groups;
    return groups * ((min_accumulation_period + groups - 1) / groups);
}

// acc holds `period` accumulators; the first `groups` of result get their folded sums.
template <class Out> void fold_accumulators(const double* acc, std::int64_t period, std::int64_t groups, Out&& result) {
    for (std::int64_t j = 0; j < groups; ++j) {
        double total = acc[j];
        for (std::int64_t k = j + groups; k < period; k += groups) total += acc[k];
        result(j, total);
    }
}

}  // namespace symgrad::detail
