// Anomaly detection: the first node that made a NaN or an infinity from finite operands, and its report.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "exec/plan.hpp"
#include "symgrad/compile.hpp"
#include "symgrad/print.hpp"

namespace symgrad {

namespace {

bool finite(double v) { return std::isfinite(v); }

// The flat index of operand `operand_shape`'s element that an elementwise node of `shape` read at `element`
// (the operand broadcast to the node's shape: right-aligned, length-1 axes repeated).
std::int64_t operand_element(const Shape& shape, std::int64_t element, const Shape& operand_shape) {
    std::int64_t flat = 0;
    std::int64_t stride = 1;
    const std::size_t offset = shape.rank() - operand_shape.rank();
    std::int64_t rest = element;
    std::vector<std::int64_t> index(shape.rank());
    for (std::size_t axis = shape.rank(); axis-- > 0;) {
        index[axis] = rest % std::max<std::int64_t>(shape[axis], 1);
        rest /= std::max<std::int64_t>(shape[axis], 1);
    }
    for (std::size_t axis = operand_shape.rank(); axis-- > 0;) {
        const std::int64_t dim = operand_shape[axis];
        if (dim != 1) flat += index[axis + offset] * stride;
        stride *= dim;
    }
    return flat;
}

std::vector<std::int64_t> unflatten(const Shape& shape, std::int64_t element) {
    std::vector<std::int64_t> index(shape.rank());
    for (std::size_t axis = shape.rank(); axis-- > 0;) {
        const std::int64_t dim = std::max<std::int64_t>(shape[axis], 1);
        index[axis] = element % dim;
        element /= dim;
    }
    return index;
}

std::string number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return fmt::format("{:.17g}", v);
}

}  // namespace

std::optional<NonFiniteOrigin> first_nonfinite_origin(std::span<const Expr> outputs, const std::unordered_map<const Node*, Tensor>& values) {
    for (const Node* node : topo_order(outputs)) {
        if (node->is_leaf()) continue;
        const auto found = values.find(node);
        if (found == values.end()) continue;
        const Tensor& value = found->second;
        const bool elementwise = op_info(node->op()).kind == OpClass::elementwise;
        bool operands_finite = true;  // (structural nodes: every element of every operand)
        if (!elementwise) {
            for (const Expr& operand : node->inputs()) {
                const Tensor& t = values.at(operand.get());
                for (std::int64_t i = 0; i < t.numel() && operands_finite; ++i) operands_finite = finite(t.get(i));
            }
            if (!operands_finite) continue;
        }
        for (std::int64_t i = 0; i < value.numel(); ++i) {
            if (finite(value.get(i))) continue;
            bool from_operand = false;
            if (elementwise) {
                for (const Expr& operand : node->inputs()) {
                    const Tensor& t = values.at(operand.get());
                    from_operand = from_operand || !finite(t.get(operand_element(node->shape(), i, t.shape())));
                }
            }
            if (!from_operand) return NonFiniteOrigin{node, i, value.get(i)};
        }
    }
    return std::nullopt;
}

Anomaly describe_origin(const NonFiniteOrigin& origin, const std::unordered_map<const Node*, Tensor>& values, std::string pass) {
    const Node& node = *origin.node;
    Anomaly a;
    a.node = handle(&node);
    a.pass = std::move(pass);
    a.expression = to_inline_string(handle(&node), 160);
    a.shape = node.shape();
    a.index = unflatten(node.shape(), origin.element);
    a.value = origin.value;
    if (op_info(node.op()).kind == OpClass::elementwise) {
        for (const Expr& operand : node.inputs()) {
            if (operand.op() == Op::constant) continue;  // (its value is in the expression)
            const Tensor& t = values.at(operand.get());
            a.operands.emplace_back(to_inline_string(operand, 80), t.get(operand_element(node.shape(), origin.element, t.shape())));
        }
    }
    a.path = path_from_inputs(node);
    return a;
}

std::vector<std::string> path_from_inputs(const Node& node) {
    // Back from the node through the first operand of each that is not a constant, to a leaf.
    std::vector<std::string> path;
    for (const Node* at = &node; at != nullptr;) {
        path.push_back(to_inline_string(handle(at), 80));
        const Node* next = nullptr;
        for (const Expr& operand : at->inputs()) {
            if (operand.op() != Op::constant) {
                next = operand.get();
                break;
            }
        }
        at = next;
    }
    return {path.rbegin(), path.rend()};
}

std::string Anomaly::message() const {
    std::string text = fmt::format("{}{} pass: {} made {}{}", context.empty() ? "" : context + ", ", pass, expression, number(value),
                                   shape.rank() == 0 ? std::string() : fmt::format(" at element [{}] of its shape {}", fmt::join(index, ", "), shape));
    if (!rule.empty()) text += fmt::format(", in the gradient of {} by the rule {}", rule_of, rule);
    text += ".";
    std::vector<std::string> parts;
    for (const auto& [what, v] : operands) parts.push_back(fmt::format("{} = {}", what, number(v)));
    text += parts.empty() ? "\nIts operands hold only finite values." : fmt::format("\nThere, {}.", fmt::join(parts, ", "));
    if (path.size() > 1) text += fmt::format("\nFrom the inputs: {}.", fmt::join(path, "  ->  "));
    return text;
}

AnomalyError::AnomalyError(Anomaly anomaly) : Error("anomaly: " + anomaly.message()), anomaly_(std::move(anomaly)) {}

namespace {

// Whether an element has all exponent bits set (inf or NaN): an OR over integer compares, which the compiler turns
// into vector code, so the check of the outputs is one pass at memory speed.
template <class T, class Bits> bool has_nonfinite(const T* values, std::int64_t n) {
    constexpr Bits exponent = std::is_same_v<T, float> ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
    Bits found = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        Bits bits;
        std::memcpy(&bits, values + i, sizeof bits);
        found |= static_cast<Bits>((bits & exponent) == exponent);
    }
    return found != 0;
}

}  // namespace

bool any_nonfinite(std::span<const Tensor> tensors) {
    for (const Tensor& t : tensors) {
        const bool found = t.dtype() == DType::float32 ? has_nonfinite<float, std::uint32_t>(t.data<float>(), t.numel())
                                                       : has_nonfinite<double, std::uint64_t>(t.data<double>(), t.numel());
        if (found) return true;
    }
    return false;
}

void throw_if_anomaly(std::span<const Expr> outputs, const Bindings& bindings) {
    const auto values = evaluate_all(outputs, bindings);
    if (const auto origin = first_nonfinite_origin(outputs, values)) throw AnomalyError(describe_origin(*origin, values, "evaluation"));
}

std::vector<Tensor> evaluate(std::span<const Expr> outputs, const Bindings& bindings, const RunOptions& options) {
    std::vector<Tensor> result = evaluate(outputs, bindings);
    if (options.detect_anomaly && any_nonfinite(result)) throw_if_anomaly(outputs, bindings);
    return result;
}

std::vector<Tensor> Program::run(const Bindings& bindings, const RunOptions& options) const {
    std::vector<Tensor> result = run(bindings);
    if (options.detect_anomaly && any_nonfinite(result)) throw_if_anomaly(plan_->outputs, bindings);
    return result;
}

}  // namespace symgrad
