// The structural primitives' shape rules, reference kernels, attribute text and VJP helpers: what their rows in the
// table (table.hpp) point at. Private to the ops layer.
#pragma once

#include <string>
#include <vector>

#include "symgrad/ops.hpp"

namespace symgrad::detail {

// The shape of in reduced over axes (sorted), with the reduced axes kept as 1 or dropped.
Shape reduced_shape(const Shape& in, const std::vector<std::int64_t>& axes, bool keepdims);

Shape shape_broadcast_to(std::span<const Expr> in, const Attrs& attrs);
Shape shape_reduce(std::span<const Expr> in, const Attrs& attrs);
Shape shape_reshape(std::span<const Expr> in, const Attrs& attrs);
Shape shape_permute(std::span<const Expr> in, const Attrs& attrs);
Shape shape_matmul(std::span<const Expr> in, const Attrs& attrs);

Tensor eval_broadcast_to(const Node& node, std::span<const Tensor> in);
Tensor eval_sum(const Node& node, std::span<const Tensor> in);
Tensor eval_mean(const Node& node, std::span<const Tensor> in);
Tensor eval_amax(const Node& node, std::span<const Tensor> in);
Tensor eval_reshape(const Node& node, std::span<const Tensor> in);
Tensor eval_permute(const Node& node, std::span<const Tensor> in);
Tensor eval_matmul(const Node& node, std::span<const Tensor> in);

// ", axes=[0, 1], keepdims=true" (nothing when every axis is reduced and none is kept).
std::string reduce_attr_text(const Attrs& attrs, std::span<const Expr> in);
// ", [2, 3]": a shape or a permutation.
std::string ints_attr_text(const Attrs& attrs, std::span<const Expr> in);

// The adjoint of a reduction's operand: the adjoint with the reduced axes kept as 1 (broadcast back by the sweep).
Expr reduction_grad(const Vjp& v);
std::vector<std::int64_t> inverse_permutation(const std::vector<std::int64_t>& perm);

}  // namespace symgrad::detail
