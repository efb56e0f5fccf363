// The reference evaluator: runs a graph node by node. Clear rather than fast: it is the oracle the
// compiled engine is tested against and the engine of the teaching trace.
#pragma once

#include <optional>
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

// ---------------------------------------------------------------------------------------------
// Anomaly detection: where the first NaN or infinity that is not in the inputs was made
// ---------------------------------------------------------------------------------------------

// The origin of a non-finite value: the first node, in evaluation order, with a NaN or infinite element whose
// operands are finite there (for an elementwise node, the operands' elements it read; for a structural one, all
// of them). Leaves are never origins: a NaN given as input is not an anomaly.
struct NonFiniteOrigin {
    const Node* node = nullptr;
    std::int64_t element = 0;  // flat, row-major, in the node's shape
    double value = 0;  // NaN, inf or -inf
};
std::optional<NonFiniteOrigin> first_nonfinite_origin(std::span<const Expr> outputs, const std::unordered_map<const Node*, Tensor>& values);

// What anomaly mode reports: the subexpression that made the first NaN or infinity, in which pass, by which rule,
// at which element, from which operand values, and how the inputs reach it.
struct Anomaly {
    Expr node;  // the node that made it
    std::string context;  // where the evaluation was, if the caller says (training: the epoch and the batch)
    std::string pass;  // "forward", "backward", or "evaluation" (a program that does not know which outputs are gradients)
    std::string expression;  // the node that made it, inline: "sqrt(x - 1)", "1 / (2 * sqrt(x - 1))"
    std::string rule;  // backward: the derivative rule that built it, "d/dx sqrt(x) = 1 / (2 * sqrt(x))" (else empty)
    std::string rule_of;  // backward: the forward node whose rule it is, "sqrt(x - 1)" (else empty)
    Shape shape;  // the node's shape
    std::vector<std::int64_t> index;  // the element, one index per axis of shape
    double value = 0;  // NaN, inf or -inf
    std::vector<std::pair<std::string, double>> operands;  // each operand (and in the backward pass the adjoint) there
    std::vector<std::string> path;  // from an input to the node, one subexpression per step
    // The report: several lines, each a full sentence.
    std::string message() const;
};

// Thrown by the check of Program::run and evaluate (RunOptions::detect_anomaly), and by the CLI's --detect-anomaly.
class AnomalyError : public Error {
public:
    explicit AnomalyError(Anomaly anomaly);
    const Anomaly& anomaly() const { return anomaly_; }

private:
    Anomaly anomaly_;
};

// The report of a NonFiniteOrigin in pass `pass` ("forward", "backward", "evaluation"): the node, the element,
// the operands' values there, and the path from an input (rule and rule_of are left for the caller).
Anomaly describe_origin(const NonFiniteOrigin& origin, const std::unordered_map<const Node*, Tensor>& values, std::string pass);

// How the inputs reach a node: from a variable (or constant) through each node's first operand that is not a
// constant, one subexpression per step, the node last.
std::vector<std::string> path_from_inputs(const Node& node);

// Options of an evaluation: with detect_anomaly, a NaN or infinity in an output makes the reference evaluator
// find its origin, and an AnomalyError reports it unless every such value came from the inputs.
struct RunOptions {
    bool detect_anomaly = false;
};
// evaluate() with options.
std::vector<Tensor> evaluate(std::span<const Expr> outputs, const Bindings& bindings, const RunOptions& options);
// Whether some element of some tensor is NaN or infinite (the one extra pass of the engine's check).
bool any_nonfinite(std::span<const Tensor> tensors);
// The reference evaluator's search for the origin of a NaN or infinity in outputs at these bindings; throws
// AnomalyError with the report when there is one (nothing when every non-finite value came from the inputs).
void throw_if_anomaly(std::span<const Expr> outputs, const Bindings& bindings);

}  // namespace symgrad
