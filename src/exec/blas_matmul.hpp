// Matrix products through CBLAS (OpenBLAS), for the fused engine. The reference evaluator keeps its own loop,
// which accumulates in double: it is the oracle the BLAS results are checked against.
#pragma once

#include <cstddef>

#include "symgrad/tensor.hpp"

namespace symgrad::detail {

// The product of a node of Op::matmul whose operands are a and b, each as stored; a transposed operand is the
// input of a permute that swaps the last two axes, which BLAS reads transposed instead of the permute being
// materialized. Batch axes broadcast as in the shape rule. `threads` split the rows; OpenBLAS itself runs on one
// thread (the single-threaded build is linked; with a threaded one, its threads are set to one), so that no second
// pool spins beside the engine's.
Tensor blas_matmul(const Shape& out_shape, DType dtype, const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                   std::size_t threads);

}  // namespace symgrad::detail
