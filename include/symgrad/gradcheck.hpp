// Numerical checks of symbolic gradients: float64 finite differences on a random projection of the output.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "symgrad/autodiff.hpp"
#include "symgrad/evaluate.hpp"

namespace symgrad {

struct GradcheckOptions {
    // Step of the five-point central difference (f(-2h), f(-h), f(h), f(2h)): truncation error O(h^4),
    // so a large step keeps rounding error small.
    double eps = 1e-4;
    // An element passes when |analytic - numeric| <= atol + rtol * |numeric|.
    double atol = 1e-6;
    double rtol = 1e-5;
    // The checked function is sum(r * y) with r drawn from N(0, 1) with this seed, which tests every
    // element of the adjoint; with random_projection = false it is sum(y), the gradient grad() gives
    // without a seed (which takes the symbolic-one path of the reverse sweep).
    std::uint64_t seed = 0;
    bool random_projection = true;
    // Evaluate with the reference evaluator instead of the fused engine (compile_cached + run).
    bool reference = false;
};

struct GradcheckEntry {
    std::string variable;
    Shape shape;
    std::vector<std::int64_t> worst_index;  // the element with the largest |analytic - numeric|
    double analytic = 0.0;
    double numeric = 0.0;
    double abs_error = 0.0;
    double rel_error = 0.0;  // |analytic - numeric| / max(|analytic|, |numeric|), over all elements
    bool passed = true;
};

struct GradcheckReport {
    std::string order;  // "first order" or "second order"
    // What the analytic and numeric columns are derivatives of, in words: with a random projection they are not the
    // gradient of sum(y) that grad() gives ("d/dv of sum(r * y), r a random [3, 2] tensor (N(0, 1), seed 0): ...").
    std::string compared;
    std::vector<GradcheckEntry> entries;
    bool passed = true;
    double max_abs_error = 0.0;
    double max_rel_error = 0.0;
};

// Checks grad(y, wrt) against finite differences at the point `at`. Every wrt must be a variable.
// The graph is rebuilt in float64 first, whatever its dtype.
GradcheckReport gradcheck(const Expr& y, std::span<const Expr> wrt, const Bindings& at, const GradcheckOptions& options = {});

// Checks the second order: the gradient of sum(r2 * grad(y, wrt, seed = r)) against finite differences.
GradcheckReport gradgradcheck(const Expr& y, std::span<const Expr> wrt, const Bindings& at, const GradcheckOptions& options = {});

// A table: variable, shape, worst error, where, and PASS/FAIL.
std::string to_string(const GradcheckReport& report);

}  // namespace symgrad
