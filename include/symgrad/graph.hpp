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

#include "symgrad/tensor.hpp"

namespace symgrad {

// One line per primitive; the ops table (ops.cpp) has one row per line, in this order.
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
    // structural
    broadcast_to,
    sum,
    mean,
    reshape,
    permute,
    matmul,
    count_  // not an op: the number of ops
};

inline constexpr std::size_t op_count = static_cast<std::size_t>(Op::count_);
inline constexpr std::size_t max_arity = 3;

// What a node carries besides its op and operands. Most nodes carry nothing (a null pointer in the node).
struct Attrs {
    std::string name;               // variable: its name
    Tensor value;                   // constant: its value
    std::vector<std::int64_t> ints; // sum/mean: sorted axes; permute: the permutation; broadcast_to/reshape: the shape
    bool keepdims = false;          // sum/mean

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

private:
    friend Expr make_node(Op, DType, Shape, std::span<const Expr>, Attrs);
    Node() = default;

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

// Every node reachable from roots, each after all of its operands, in depth-first post-order
// (operands left to right). Iterative: no recursion whatever the depth.
std::vector<const Node*> topo_order(std::span<const Expr> roots);

// The Expr handle for a node that is known to be alive (held by some Expr).
Expr handle(const Node* node);

}  // namespace symgrad

template <> struct std::hash<symgrad::Expr> {
    std::size_t operator()(const symgrad::Expr& e) const noexcept { return std::hash<const symgrad::Node*>()(e.get()); }
};
