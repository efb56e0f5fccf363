#include "symgrad/graph.hpp"

#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace symgrad {

namespace {

std::size_t mix(std::size_t seed, std::size_t value) {
    // boost::hash_combine's mixing step, widened to 64 bits.
    return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 12) + (seed >> 4));
}

std::size_t hash_bytes(const void* data, std::size_t size) {
    return std::hash<std::string_view>()(std::string_view(static_cast<const char*>(data), size));
}

std::size_t hash_of(Op op, DType dtype, const Shape& shape, std::span<const Expr> inputs, const Attrs& attrs) {
    std::size_t h = mix(static_cast<std::size_t>(op), static_cast<std::size_t>(dtype));
    for (auto d : shape) h = mix(h, static_cast<std::size_t>(d));
    for (const auto& in : inputs) h = mix(h, std::hash<const Node*>()(in.get()));
    h = mix(h, std::hash<std::string>()(attrs.name));
    for (auto v : attrs.ints) h = mix(h, static_cast<std::size_t>(v));
    h = mix(h, attrs.keepdims ? 1 : 0);
    if (attrs.value.numel() > 0) h = mix(h, hash_bytes(attrs.value.raw(), attrs.value.nbytes()));
    return h;
}

bool same_attrs(const Attrs& a, const Attrs& b) {
    return a.name == b.name && a.ints == b.ints && a.keepdims == b.keepdims && a.value.identical(b.value);
}

// The hash-consing table. It holds plain pointers, not ownership: a node removes itself when it dies,
// so the table never keeps a graph alive.
struct InternTable {
    std::mutex mutex;
    std::unordered_multimap<std::size_t, const Node*> nodes;
};

InternTable& intern_table() {
    // Never destroyed: nodes held by static Exprs may die after main returns.
    static auto* table = new InternTable();
    return *table;
}

std::atomic<std::uint64_t> next_id{1};

const Attrs& no_attrs() {
    static const Attrs empty;
    return empty;
}

}  // namespace

const Attrs& Node::attrs() const {
    return attrs_ ? *attrs_ : no_attrs();
}

bool Node::is_scalar_constant() const {
    return op_ == Op::constant && shape_.numel() == 1 && shape_.rank() == 0;
}

double Node::scalar_value() const {
    return attrs().value.get(0);
}

Node::~Node() {
    {
        auto& table = intern_table();
        std::lock_guard lock(table.mutex);
        auto [first, last] = table.nodes.equal_range(hash_);
        for (auto it = first; it != last; ++it) {
            if (it->second == this) {
                table.nodes.erase(it);
                break;
            }
        }
    }
    // Destroying operands inline would recurse once per level of the graph. Instead, the outermost
    // destructor on this thread drains a work list; nested destructors only add to it.
    thread_local std::vector<std::shared_ptr<const Node>> pending;
    thread_local bool draining = false;
    for (std::size_t i = 0; i < arity_; ++i) pending.push_back(std::move(inputs_[i].node_));
    if (draining) return;
    draining = true;
    while (!pending.empty()) {
        auto last = std::move(pending.back());
        pending.pop_back();
        last.reset();
    }
    draining = false;
}

Expr make_node(Op op, DType dtype, Shape shape, std::span<const Expr> inputs, Attrs attrs) {
    const std::size_t h = hash_of(op, dtype, shape, inputs, attrs);
    auto& table = intern_table();
    std::lock_guard lock(table.mutex);
    auto [first, last] = table.nodes.equal_range(h);
    for (auto it = first; it != last; ++it) {
        const Node* candidate = it->second;
        if (candidate->op() != op || candidate->dtype() != dtype || candidate->shape() != shape ||
            candidate->arity() != inputs.size()) {
            continue;
        }
        bool same_inputs = true;
        for (std::size_t i = 0; i < inputs.size(); ++i) same_inputs = same_inputs && candidate->input(i) == inputs[i];
        if (!same_inputs || !same_attrs(candidate->attrs(), attrs)) continue;
        // A node whose last handle is being dropped on another thread cannot be revived; make a new one.
        if (auto alive = candidate->weak_from_this().lock()) return Expr(std::move(alive));
    }
    auto node = std::shared_ptr<Node>(new Node());
    node->op_ = op;
    node->dtype_ = dtype;
    node->arity_ = static_cast<std::uint8_t>(inputs.size());
    node->shape_ = std::move(shape);
    for (std::size_t i = 0; i < inputs.size(); ++i) node->inputs_[i] = inputs[i];
    if (!attrs.empty()) node->attrs_ = std::make_shared<const Attrs>(std::move(attrs));
    node->hash_ = h;
    node->id_ = next_id.fetch_add(1, std::memory_order_relaxed);
    table.nodes.emplace(h, node.get());
    return Expr(std::shared_ptr<const Node>(std::move(node)));
}

std::size_t live_node_count() {
    auto& table = intern_table();
    std::lock_guard lock(table.mutex);
    return table.nodes.size();
}

Expr handle(const Node* node) {
    return Expr(node->shared_from_this());
}

std::vector<const Node*> topo_order(std::span<const Expr> roots) {
    std::vector<const Node*> order;
    std::unordered_set<const Node*> visited;
    // Each stack entry is a node and the index of the next operand to visit.
    std::vector<std::pair<const Node*, std::size_t>> stack;
    for (const auto& root : roots) {
        if (!root || !visited.insert(root.get()).second) continue;
        stack.emplace_back(root.get(), 0);
        while (!stack.empty()) {
            auto& [node, next] = stack.back();
            if (next < node->arity()) {
                const Node* operand = node->input(next).get();
                ++next;
                if (visited.insert(operand).second) stack.emplace_back(operand, 0);
            } else {
                order.push_back(node);
                stack.pop_back();
            }
        }
    }
    return order;
}

}  // namespace symgrad
