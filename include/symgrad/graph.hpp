// Graph layer: immutable, hash-consed nodes, the Expr handle, and the one topological-order routine.
// Shapes are inferred by the ops layer (ops.hpp), which creates nodes through make_node().
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "symgrad/detail/node_map.hpp"
#include "symgrad/tensor.hpp"

namespace symgrad {

// One line per primitive; the primitive table (src/ops/table.hpp) has one row per line, in this order.
enum class Op : std::uint8_t {
    // leaves
    variable,
    constant,
    // elementwise, broadcasting
    neg,
    add,
    sub,
    mul,
    div,
    pow,
    exp,
    log,
    log1p,
    expm1,
    sqrt,
    abs,
    sign,
    round,
    floor,
    ceil,
    heaviside,
    sin,
    cos,
    tanh,
    sigmoid,
    softplus,
    erf,
    relu,
    maximum,
    minimum,
    where,
    lt,
    le,
    gt,
    ge,
    eq,
    ne,
    clamp,
    stop_gradient,
    custom_grad,
    // structural
    broadcast_to,
    sum,
    mean,
    amax,
    reshape,
    permute,
    matmul,
    count_  // not an op: the number of ops
};

inline constexpr std::size_t op_count = static_cast<std::size_t>(Op::count_);
inline constexpr std::size_t max_arity = 3;

// What a node carries besides its op and operands. Most nodes carry nothing (a null pointer in the node).
struct Attrs {
    std::string name;  // variable: its name
    Tensor value;  // constant: its value
    std::vector<std::int64_t> ints;  // sum/mean: sorted axes; permute: the permutation; broadcast_to/reshape: the shape
    bool keepdims = false;  // sum/mean

    bool empty() const { return name.empty() && value.numel() == 0 && ints.empty() && !keepdims; }
};

class Node;

// A handle to an immutable node. Copies are cheap. Since equal subexpressions are one node,
// == and != compare identity, which is structural equality.
// (Elementwise comparisons that build graph nodes are lt/le/gt/ge/eq/ne and the operators < <= > >=.)
class Expr {
public:
    Expr() = default;
    explicit Expr(std::shared_ptr<const Node> node) : node_(std::move(node)) {}

    const Node& node() const { return *node_; }
    const Node* get() const { return node_.get(); }
    explicit operator bool() const { return node_ != nullptr; }

    Op op() const;
    const Shape& shape() const;
    DType dtype() const;
    std::size_t rank() const { return shape().rank(); }

    bool operator==(const Expr& other) const { return node_ == other.node_; }

private:
    friend class Node;
    std::shared_ptr<const Node> node_;
};

class Node : public std::enable_shared_from_this<Node> {
public:
    Op op() const { return op_; }
    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    std::span<const Expr> inputs() const { return {inputs_.data(), arity_}; }
    const Expr& input(std::size_t i) const { return inputs_[i]; }
    std::size_t arity() const { return arity_; }
    const Attrs& attrs() const;
    // Creation order: operands always have smaller ids than the nodes that use them.
    std::uint64_t id() const { return id_; }
    std::size_t hash() const { return hash_; }

    bool is_leaf() const { return arity_ == 0; }
    bool is_scalar_constant() const;
    // The value of a one-element constant; only meaningful when is_scalar_constant().
    double scalar_value() const;

    // Releases operands without recursion, so a chain of a million nodes is destroyed in constant stack.
    ~Node();

    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Only make_node can make the key, so only make_node constructs nodes (through make_shared,
    // which puts the node and its reference counts in one allocation).
    class Key {
        friend Expr make_node(Op, DType, Shape, std::span<const Expr>, Attrs);
        Key() = default;
    };
    explicit Node(Key) {}

private:
    friend Expr make_node(Op, DType, Shape, std::span<const Expr>, Attrs);

    Op op_{};
    DType dtype_{};
    std::uint8_t arity_ = 0;
    Shape shape_;
    std::array<Expr, max_arity> inputs_;
    std::shared_ptr<const Attrs> attrs_;
    std::size_t hash_ = 0;
    std::uint64_t id_ = 0;
};

inline Op Expr::op() const { return node_->op(); }
inline const Shape& Expr::shape() const { return node_->shape(); }
inline DType Expr::dtype() const { return node_->dtype(); }

// The one way nodes come to exist: returns the existing node when an identical one is alive
// (same op, dtype, shape, operands and attributes), else a new one. Thread-safe.
// Low level: it checks nothing; use the builders of ops.hpp, which infer and check shapes.
Expr make_node(Op op, DType dtype, Shape shape, std::span<const Expr> inputs, Attrs attrs = {});

// Number of distinct nodes alive right now (for tests of sharing and release).
std::size_t live_node_count();

// A graph laid out for passes over it: every node reachable from the roots, each after all of its
// operands, in depth-first post-order (operands left to right), and each node's operands as positions
// in that order. Passes keep their per-node state in vectors indexed by position.
class GraphIndex {
public:
    static constexpr std::uint32_t npos = static_cast<std::uint32_t>(-1);

    const std::vector<const Node*>& nodes() const { return nodes_; }
    std::size_t size() const { return nodes_.size(); }
    const Node* node(std::size_t position) const { return nodes_[position]; }
    // Positions of the operands of the node at `position`.
    std::span<const std::uint32_t> operands(std::size_t position) const;
    // The position of a node, or npos when the graph does not hold it.
    std::uint32_t position(const Node* node) const;

private:
    friend GraphIndex index_graph(std::span<const Expr> roots);
    // Operand positions, and the arity in the last slot (so a pass need not touch the node to know it).
    std::vector<const Node*> nodes_;
    std::vector<std::array<std::uint32_t, max_arity + 1>> operands_;
    detail::IdMap positions_;  // node id -> position (unfinished: npos - 1)
};

// Builds the index with one iterative depth-first walk: no recursion, whatever the depth.
GraphIndex index_graph(std::span<const Expr> roots);

// Just the order of index_graph.
std::vector<const Node*> topo_order(std::span<const Expr> roots);

// The Expr handle for a node that is known to be alive (held by some Expr).
Expr handle(const Node* node);

}  // namespace symgrad

template <> struct std::hash<symgrad::Expr> {
    std::size_t operator()(const symgrad::Expr& e) const noexcept { return std::hash<const symgrad::Node*>()(e.get()); }
};
