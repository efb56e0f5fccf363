// The reference evaluator: runs a graph node by node. Clear rather than fast: it is the oracle the
// compiled engine is tested against and the engine of the teaching trace.
#pragma once

#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "symgrad/ops.hpp"

namespace symgrad {

// Values for variables, by name.
using Bindings = std::unordered_map<std::string, Tensor>;

// A binding that does not fit its variable: missing, or of another shape or dtype.
class BindingError : public Error {
public:
    using Error::Error;
};

// The values of outputs. Intermediate values are released as soon as nothing needs them.
std::vector<Tensor> evaluate(std::span<const Expr> outputs, const Bindings& bindings);
Tensor evaluate(const Expr& output, const Bindings& bindings);

// The value of every node of the graph (for traces and annotated graph pictures).
std::unordered_map<const Node*, Tensor> evaluate_all(std::span<const Expr> outputs, const Bindings& bindings);

// The most bytes of node values that evaluate(outputs, ...) holds at once (bindings and constants
// included): its own release schedule, simulated on sizes alone. Lets a caller refuse a request that
// would not fit before allocating anything.
double evaluation_peak_bytes(std::span<const Expr> outputs);

// One node's value from its operands' values (the step both functions above repeat).
Tensor evaluate_node(const Node& node, std::span<const Tensor> operands, const Bindings& bindings);

}  // namespace symgrad
