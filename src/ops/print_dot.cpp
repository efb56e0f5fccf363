// Graphviz DOT through Boost.Graph. write_graphviz walks vertex and edge lists, no recursion.
#include <cmath>
#include <sstream>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphviz.hpp>

#include "symgrad/print.hpp"

namespace symgrad {

namespace {

struct VertexData {
    std::string label;
    std::string fill;
    bool output = false;
    bool overrides_gradient = false;  // drawn dashed
};

struct EdgeData {
    std::string label;
};

using DotGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, VertexData, EdgeData>;

std::string escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string node_label(const Node& node) {
    switch (node.op()) {
    case Op::variable: return node.attrs().name;
    case Op::constant: return to_inline_string(handle(&node), 60);
    default: break;
    }
    std::string label(op_info(node.op()).name);
    const auto& info = op_info(node.op());
    if (info.attr_text) {
        std::string attrs = info.attr_text(node.attrs(), node.inputs());
        if (attrs.starts_with(", ")) attrs.erase(0, 2);
        if (!attrs.empty()) label += " " + attrs;
    }
    return label;
}

}  // namespace

// A value in a node: up to 6 elements in full (4 significant digits, nested brackets), more as their range.
std::string to_short_string(const Tensor& value) {
    auto number = [](double v) { return std::isnan(v) ? std::string("nan") : fmt::format("{:.4g}", v); };
    if (value.rank() == 0) return number(value.get(0));
    if (value.numel() == 0) return "[]";
    if (value.numel() <= 6) {
        std::vector<std::int64_t> block(value.rank());  // elements per step of each axis and below
        std::int64_t size = 1;
        for (std::size_t k = block.size(); k-- > 0;) block[k] = size *= value.shape()[k];
        std::string text;
        for (std::int64_t i = 0; i < value.numel(); ++i) {
            for (const std::int64_t b : block) text += i % b == 0 ? "[" : "";
            text += number(value.get(i));
            for (const std::int64_t b : block) text += (i + 1) % b == 0 ? "]" : "";
            if (i + 1 < value.numel()) text += ", ";
        }
        return text;
    }
    double lo = value.get(0);
    double hi = lo;
    for (std::int64_t i = 1; i < value.numel(); ++i) {
        lo = std::min(lo, value.get(i));
        hi = std::max(hi, value.get(i));
    }
    return fmt::format("min {}, max {}", number(lo), number(hi));
}

std::string to_dot(std::span<const Expr> outputs, const DotOptions& options) {
    const GraphIndex index = index_graph(outputs);
    DotGraph graph(index.size());
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        VertexData& data = graph[i];
        data.label = node_label(node);
        // A gradient override says so, and its edges say which operand gives the value and which the gradient.
        const OpInfo& info = op_info(node.op());
        data.overrides_gradient = !info.gradient_override.empty();
        if (data.overrides_gradient) data.label += node.arity() > 1 ? "\ngradient replaced" : "\ngradient stopped";
        if (node.shape().rank() > 0) data.label += "\n" + to_string(node.shape());
        // micrograd's "data | grad": the value, and the adjoint of the output with respect to this node.
        if (options.values != nullptr) {
            if (auto it = options.values->find(&node); it != options.values->end()) data.label += "\ndata " + to_short_string(it->second);
        }
        if (options.adjoints != nullptr) {
            if (auto it = options.adjoints->find(&node); it != options.adjoints->end()) data.label += "\ngrad " + to_short_string(it->second);
        }
        if (options.fill_color) data.fill = options.fill_color(node);
        // Edges run from operand to user; their numbers matter only where the operand order does.
        const bool ordered = node.arity() > 1;
        const auto operands = index.operands(i);
        for (std::size_t k = 0; k < operands.size(); ++k) {
            EdgeData edge{ordered ? std::to_string(k) : std::string()};
            if (data.overrides_gradient && ordered) edge.label = std::string(info.operands[k]);
            boost::add_edge(operands[k], i, edge, graph);
        }
    }
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        VertexData& data = graph[index.position(outputs[k].get())];
        data.output = true;
        if (k < options.output_names.size()) data.label = options.output_names[k] + " = " + data.label;
    }
    std::ostringstream out;
    boost::write_graphviz(
        out, graph,
        [&graph](std::ostream& os, std::size_t v) {
            const VertexData& data = graph[v];
            os << "[label=\"" << escape(data.label) << "\"";
            if (!data.fill.empty())
                os << (data.overrides_gradient ? "" : ", style=filled") << ", fillcolor=\"" << escape(data.fill) << "\"";
            if (data.output) os << ", peripheries=2";
            if (data.overrides_gradient) os << (data.fill.empty() ? ", style=dashed" : ", style=\"filled,dashed\"");
            os << "]";
        },
        [&graph](std::ostream& os, const DotGraph::edge_descriptor& e) {
            const EdgeData& data = graph[e];
            if (!data.label.empty()) os << "[label=\"" << data.label << "\"]";
        },
        [](std::ostream& os) {
            os << "rankdir=BT;\nnode [shape=box, fontname=\"Helvetica\"];\nedge [fontname=\"Helvetica\", fontsize=10];\n";
        });
    return out.str();
}

}  // namespace symgrad
