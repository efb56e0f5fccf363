// Anomaly mode for a function and its gradients: where the first NaN or infinity that is not in the inputs was
// made, in the forward pass or in the backward pass, and by which derivative rule.
#pragma once

#include <optional>
#include <span>

#include "symgrad/autodiff.hpp"
#include "symgrad/evaluate.hpp"

namespace symgrad {

// Evaluates y and grad(y, wrt, seed) at `at` with the reference evaluator and returns the origin of the first NaN or
// infinity that does not come from the inputs: in the forward pass, the subexpression of y that made it; in the
// backward pass, the node of the gradient, the forward node whose rule built it and the rule ("d/dx sqrt(x) = 1 /
// (2 * sqrt(x))"), with the adjoint and the operands' values at that element. Nothing when all is finite (or every
// non-finite value came from the inputs). The seed, if any, is a variable bound in `at` or a constant.
std::optional<Anomaly> find_anomaly(const Expr& y, std::span<const Expr> wrt, const Bindings& at, const Expr& seed = {});

}  // namespace symgrad
