#include "symgrad/evaluate.hpp"

#include <algorithm>

namespace symgrad {

namespace {

Tensor bound_value(const Node& node, const Bindings& bindings) {
    const std::string& name = node.attrs().name;
    const auto found = bindings.find(name);
    if (found == bindings.end()) {
        std::vector<std::string> bound;
        for (const auto& [key, value] : bindings) bound.push_back(key);
        std::sort(bound.begin(), bound.end());
        throw BindingError(fmt::format("no value is bound to variable '{}' (shape {}, {}); bound: {}", name, node.shape(), node.dtype(),
                                       bound.empty() ? "nothing" : fmt::format("{}", fmt::join(bound, ", "))));
    }
    const Tensor& value = found->second;
    if (value.shape() != node.shape()) {
        throw BindingError(
            fmt::format("variable '{}' has shape {} but the value bound to it has shape {}", name, node.shape(), value.shape()));
    }
    if (value.dtype() != node.dtype()) {
        throw BindingError(
            fmt::format("variable '{}' is {} but the value bound to it is {} (convert it with astype)", name, node.dtype(), value.dtype()));
    }
    return value;
}

template <class T> void run_elementwise(const Node& node, std::span<const Tensor> in, Tensor& out) {
    const ScalarKernel<T> kernel = op_info(node.op()).kernel<T>();
    const T* operand[max_arity] = {nullptr, nullptr, nullptr};
    for (std::size_t i = 0; i < in.size(); ++i) operand[i] = in[i].data<T>();
    T* result = out.data<T>();
    const std::int64_t n = out.numel();
    const bool same_shapes = std::all_of(in.begin(), in.end(), [&](const Tensor& t) { return t.shape() == node.shape(); });
    if (same_shapes) {
        for (std::int64_t i = 0; i < n; ++i) {
            result[i] = kernel(operand[0][i], in.size() > 1 ? operand[1][i] : T(0), in.size() > 2 ? operand[2][i] : T(0));
        }
        return;
    }
    std::vector<std::vector<std::int64_t>> strides;
    for (const auto& t : in) strides.push_back(broadcast_strides(t.shape(), node.shape()));
    StridedWalk walk(node.shape(), std::move(strides));
    for (std::int64_t i = 0; i < n; ++i, walk.next()) {
        const T a = operand[0][walk.offset(0)];
        const T b = in.size() > 1 ? operand[1][walk.offset(1)] : T(0);
        const T c = in.size() > 2 ? operand[2][walk.offset(2)] : T(0);
        result[i] = kernel(a, b, c);
    }
}

}  // namespace

Tensor evaluate_node(const Node& node, std::span<const Tensor> operands, const Bindings& bindings) {
    const OpInfo& info = op_info(node.op());
    switch (info.kind) {
    case OpClass::leaf: return node.op() == Op::variable ? bound_value(node, bindings) : node.attrs().value;
    case OpClass::structural: return info.eval(node, operands);
    case OpClass::elementwise: break;
    }
    Tensor out = Tensor::empty(node.shape(), node.dtype());  // every element is written below
    if (node.dtype() == DType::float32) {
        run_elementwise<float>(node, operands, out);
    } else {
        run_elementwise<double>(node, operands, out);
    }
    return out;
}

namespace {

std::vector<std::uint32_t> use_counts(const GraphIndex& index, std::span<const Expr> outputs) {
    std::vector<std::uint32_t> uses(index.size(), 0);
    for (std::size_t i = 0; i < index.size(); ++i) {
        for (auto operand : index.operands(i)) ++uses[operand];
    }
    for (const auto& out : outputs) ++uses[index.position(out.get())];  // outputs are never released
    return uses;
}

// Evaluates in topological order. Without keep_all, a value is released once its last user has run.
std::vector<Tensor> run(const GraphIndex& index, std::span<const Expr> outputs, const Bindings& bindings, bool keep_all) {
    std::vector<std::uint32_t> remaining_uses = use_counts(index, outputs);
    std::vector<Tensor> values(index.size());
    std::vector<Tensor> operands;
    for (std::size_t i = 0; i < index.size(); ++i) {
        operands.clear();
        for (auto operand : index.operands(i)) operands.push_back(values[operand]);
        values[i] = evaluate_node(*index.node(i), operands, bindings);
        if (keep_all) continue;
        for (auto operand : index.operands(i)) {
            if (--remaining_uses[operand] == 0) values[operand] = Tensor();
        }
    }
    return values;
}

}  // namespace

std::vector<Tensor> evaluate(std::span<const Expr> outputs, const Bindings& bindings) {
    for (const auto& out : outputs) {
        if (!out) throw Error("evaluate: an output is an empty Expr");
    }
    const GraphIndex index = index_graph(outputs);
    auto values = run(index, outputs, bindings, false);
    std::vector<Tensor> result;
    for (const auto& out : outputs) result.push_back(values[index.position(out.get())]);
    return result;
}

Tensor evaluate(const Expr& output, const Bindings& bindings) { return evaluate(std::span<const Expr>(&output, 1), bindings)[0]; }

double evaluation_peak_bytes(std::span<const Expr> outputs) {
    const GraphIndex index = index_graph(outputs);
    std::vector<std::uint32_t> remaining_uses = use_counts(index, outputs);
    auto bytes = [&](std::size_t i) {
        const Node& node = *index.node(i);
        return static_cast<double>(node.shape().numel()) * static_cast<double>(dtype_size(node.dtype()));
    };
    double live = 0.0;
    double peak = 0.0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        live += bytes(i);
        peak = std::max(peak, live);
        for (auto operand : index.operands(i)) {
            if (--remaining_uses[operand] == 0) live -= bytes(operand);
        }
    }
    return peak;
}

std::unordered_map<const Node*, Tensor> evaluate_all(std::span<const Expr> outputs, const Bindings& bindings) {
    const GraphIndex index = index_graph(outputs);
    auto values = run(index, outputs, bindings, true);
    std::unordered_map<const Node*, Tensor> result;
    for (std::size_t i = 0; i < index.size(); ++i) result.emplace(index.node(i), std::move(values[i]));
    return result;
}

}  // namespace symgrad
