// Autodiff layer: symbolic reverse mode. Gradients are expressions built from the same primitives,
// so they print, evaluate and differentiate again like any other graph.
#pragma once

#include <array>
#include <functional>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "symgrad/ops.hpp"

namespace symgrad {

// The gradient of sum(seed * y) with respect to each expression in wrt (usually variables), each with
// the shape of its wrt. Without a seed it is the gradient of sum(y). A wrt that y does not depend on
// gets zeros. The seed must have y's shape and dtype (or broadcast to y's shape).
std::vector<Expr> grad(const Expr& y, std::span<const Expr> wrt, const Expr& seed = {});

// One step of the reverse sweep, as grad() takes it, for those who show the sweep (symgrad trace): first a step
// for each node whose rule runs (operand == node_step), then one for each operand it passes a gradient to.
struct SweepStep {
    static constexpr std::size_t node_step = std::numeric_limits<std::size_t>::max();
    const Node* node = nullptr;
    std::size_t operand = node_step;
    // The node's adjoint as its rule sees it; it broadcasts to the node's shape (null: the node has none).
    Expr adjoint;
    bool has_rule = true;  // false: the primitive passes no gradient (a comparison)
    // Operand steps: what the rule adds to the operand's adjoint, masked and summed to the operand's shape
    // (null: the rule gives this operand no gradient); the 0/1 where-mask it was multiplied by, if any (the
    // elements where the adjoint can be nonzero, so that 0 * inf there stays 0); and the shape it stood for
    // before the sum over broadcast axes (the node's shape for elementwise ops).
    Expr contribution;
    Expr mask;
    Shape logical;
};
using SweepObserver = std::function<void(const SweepStep&)>;

// grad(), reporting each step of its sweep to observe: the one reverse sweep that grad, trace and the lessons
// share, so that what they show can never disagree with the gradient.
std::vector<Expr> grad(const Expr& y, std::span<const Expr> wrt, const Expr& seed, const SweepObserver& observe);

// Which rule of grad(y, wrt, seed)'s sweep built `built`, a node of the gradients outside y's graph: the node
// whose rule it was, the operand, and the rule written with the operands' names ("d/dx sqrt(x) = 1 / (2 *
// sqrt(x))", with " where x = x - 1" for an operand that is not a variable). node is null when no rule built it
// (a node that simplify made, say). For anomaly reports.
struct GradientRule {
    const Node* node = nullptr;
    std::size_t operand = 0;
    std::string text;
    Expr adjoint;  // the node's adjoint as the rule saw it (it broadcasts to the node's shape)
};
GradientRule gradient_rule_of(const Expr& y, std::span<const Expr> wrt, const Expr& seed, const Node* built);

// The same for a braced list, so that  auto [dx, dbeta] = grad(y, {x, beta});  works.
template <std::size_t N> std::array<Expr, N> grad(const Expr& y, const Expr (&wrt)[N], const Expr& seed = {}) {
    const auto list = grad(y, std::span<const Expr>(wrt, N), seed);
    std::array<Expr, N> result;
    for (std::size_t i = 0; i < N; ++i) result[i] = list[i];
    return result;
}

// Forward mode: the directional derivative of each output when each variable (or any node) in `tangents` moves
// along its tangent, d/dt outputs(wrt + t * tangent) at t = 0, as an expression graph of each output's shape (zeros
// for an output that moves with none of them). A tangent has its wrt's dtype and a shape that broadcasts to its
// wrt's (a scalar 1 moves every element at once). One forward sweep, whatever the number of outputs: JAX's jvp,
// symbolic. The rules are the table's (OpInfo::jvp, jvp_rule).
std::vector<Expr> jvp(std::span<const Expr> outputs, std::span<const std::pair<Expr, Expr>> tangents);
// The same with a braced list of (wrt, tangent) pairs: jvp(outputs, {{x, v}, {beta, constant(1.0)}}).
std::vector<Expr> jvp(std::span<const Expr> outputs, std::initializer_list<std::pair<Expr, Expr>> tangents);
// The same for one output and one direction.
Expr jvp(const Expr& y, const Expr& x, const Expr& tangent);

// Hessian-vector product: d/dx <grad(y, x), v>, with v of x's shape. Built both ways, reverse over reverse (the
// gradient of <grad, v>) and forward over reverse (the jvp of the gradient along v), and the one with fewer nodes
// is returned (docs/guide.md shows when each wins).
Expr hvp(const Expr& y, const Expr& x, const Expr& v);

// The Hessian of sum(y) with respect to x, shape x.shape ++ x.shape; built from one gradient per
// element of x, so it is meant for small x (at most max_hessian_elements elements).
inline constexpr std::int64_t max_hessian_elements = 1024;
Expr hessian(const Expr& y, const Expr& x);

// The shape a VJP rule's contribution to an operand stands for. Elementwise ops and broadcast_to broadcast
// their operands to the node's shape, so the contribution is node-shaped (perhaps stored smaller) and is
// summed back to the operand; the other structural rules answer in the operand's frame, with extra leading
// batch axes only where the operand was broadcast (matmul).
Shape contribution_shape(const Node& node, const Expr& operand, const Expr& contribution);

// The gradient of an operand of shape `target` that was broadcast to `logical`, given an adjoint e that
// stands for its broadcast to `logical`: summed over the broadcast axes (where e is itself constant
// along such an axis, multiplied by its length instead). The result broadcasts to target.
Expr reduce_to_shape(const Expr& e, const Shape& target, const Shape& logical);
// The same, expanded to exactly the shape target.
Expr unbroadcast(const Expr& e, const Shape& target, const Shape& logical);

}  // namespace symgrad
