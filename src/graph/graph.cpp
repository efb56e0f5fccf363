#include "symgrad/graph.hpp"

#include <atomic>
#include <mutex>

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
    // Spread the bits, since the table uses the low ones.
    return static_cast<std::size_t>(detail::mix_bits(h));
}

bool same_attrs(const Attrs& a, const Attrs& b) {
    return a.name == b.name && a.ints == b.ints && a.keepdims == b.keepdims && a.value.identical(b.value);
}

// The hash-consing table: open addressing over (hash, node) slots, linear probing, tombstones for the
// dead. It holds plain pointers, not ownership: a node removes itself when it dies, so the table never
// keeps a graph alive. (std::unordered_multimap was tried first: its equal_range and insert grew
// super-linearly past a few hundred thousand nodes.)
class InternTable {
public:
    std::mutex mutex;

    template <class Match> const Node* find(std::size_t hash, Match&& match) const {
        for (std::size_t i = hash & mask_; slots_[i].node != nullptr; i = (i + 1) & mask_) {
            if (slots_[i].hash == hash && slots_[i].node != tombstone() && match(slots_[i].node)) return slots_[i].node;
        }
        return nullptr;
    }

    void insert(std::size_t hash, const Node* node) {
        if ((size_ + dead_ + 1) * 10 > slots_.size() * 7) grow();
        std::size_t i = hash & mask_;
        while (slots_[i].node != nullptr && slots_[i].node != tombstone()) i = (i + 1) & mask_;
        if (slots_[i].node == tombstone()) --dead_;
        slots_[i] = {hash, node};
        ++size_;
    }

    void erase(std::size_t hash, const Node* node) {
        for (std::size_t i = hash & mask_; slots_[i].node != nullptr; i = (i + 1) & mask_) {
            if (slots_[i].node == node) {
                slots_[i].node = tombstone();
                --size_;
                ++dead_;
                return;
            }
        }
    }

    std::size_t size() const { return size_; }

private:
    struct Slot {
        std::size_t hash = 0;
        const Node* node = nullptr;
    };

    static const Node* tombstone() { return reinterpret_cast<const Node*>(alignof(Node)); }

    void grow() {
        // Double when mostly alive; when mostly tombstones, rebuild at the same size.
        const std::size_t capacity = size_ * 2 >= slots_.size() / 2 ? slots_.size() * 2 : slots_.size();
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
        size_ = 0;
        dead_ = 0;
        for (const auto& slot : old) {
            if (slot.node != nullptr && slot.node != tombstone()) insert(slot.hash, slot.node);
        }
    }

    std::vector<Slot> slots_ = std::vector<Slot>(1024);
    std::size_t mask_ = 1023;
    std::size_t size_ = 0;
    std::size_t dead_ = 0;
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

const Attrs& Node::attrs() const { return attrs_ ? *attrs_ : no_attrs(); }

bool Node::is_scalar_constant() const { return op_ == Op::constant && shape_.numel() == 1 && shape_.rank() == 0; }

double Node::scalar_value() const { return attrs().value.get(0); }

Node::~Node() {
    {
        auto& table = intern_table();
        std::lock_guard lock(table.mutex);
        table.erase(hash_, this);
    }
    // Destroying operands inline would recurse once per level of the graph. Instead, the outermost
    // destructor on this thread drains a work list; nested destructors only add to it. The list lives on the
    // outermost destructor's stack and the thread_local is a plain pointer, so nothing here depends on
    // thread-local or static objects that may already be gone (a global Expr is destroyed at exit).
    struct Pending {
        std::vector<std::shared_ptr<const Node>> list;
    };
    thread_local Pending* pending = nullptr;
    if (pending) {
        for (std::size_t i = 0; i < arity_; ++i) pending->list.push_back(std::move(inputs_[i].node_));
        return;
    }
    bool destroys_an_operand = false;
    for (std::size_t i = 0; i < arity_; ++i) destroys_an_operand = destroys_an_operand || inputs_[i].node_.use_count() == 1;
    if (!destroys_an_operand) return;  // the members release their references; no operand dies with this node
    Pending local;
    pending = &local;
    for (std::size_t i = 0; i < arity_; ++i) local.list.push_back(std::move(inputs_[i].node_));
    while (!local.list.empty()) {
        auto last = std::move(local.list.back());
        local.list.pop_back();
        last.reset();
    }
    pending = nullptr;
}

Expr make_node(Op op, DType dtype, Shape shape, std::span<const Expr> inputs, Attrs attrs) {
    const std::size_t h = hash_of(op, dtype, shape, inputs, attrs);
    auto& table = intern_table();
    std::lock_guard lock(table.mutex);
    std::shared_ptr<const Node> alive;
    table.find(h, [&](const Node* candidate) {
        if (candidate->op() != op || candidate->dtype() != dtype || candidate->shape() != shape || candidate->arity() != inputs.size()) {
            return false;
        }
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            if (!(candidate->input(i) == inputs[i])) return false;
        }
        if (!same_attrs(candidate->attrs(), attrs)) return false;
        // A node whose last handle is being dropped on another thread cannot be revived; keep looking.
        alive = candidate->weak_from_this().lock();
        return alive != nullptr;
    });
    if (alive) return Expr(std::move(alive));
    auto node = std::make_shared<Node>(Node::Key());
    node->op_ = op;
    node->dtype_ = dtype;
    node->arity_ = static_cast<std::uint8_t>(inputs.size());
    node->shape_ = std::move(shape);
    for (std::size_t i = 0; i < inputs.size(); ++i) node->inputs_[i] = inputs[i];
    if (!attrs.empty()) node->attrs_ = std::make_shared<const Attrs>(std::move(attrs));
    node->hash_ = h;
    node->id_ = next_id.fetch_add(1, std::memory_order_relaxed);
    table.insert(h, node.get());
    return Expr(std::shared_ptr<const Node>(std::move(node)));
}

std::size_t live_node_count() {
    auto& table = intern_table();
    std::lock_guard lock(table.mutex);
    return table.size();
}

Expr handle(const Node* node) { return Expr(node->shared_from_this()); }

std::span<const std::uint32_t> GraphIndex::operands(std::size_t position) const {
    return {operands_[position].data(), operands_[position][max_arity]};
}

std::uint32_t GraphIndex::position(const Node* node) const {
    const std::uint32_t found = positions_.find(node->id());
    // A node of another graph may share an id page with this one: check that it is the same node.
    return found < nodes_.size() && nodes_[found] == node ? found : npos;
}

GraphIndex index_graph(std::span<const Expr> roots) {
    GraphIndex index;
    // While a node is on the stack its entry says so; once finished, it holds its position.
    constexpr std::uint32_t on_stack = GraphIndex::npos - 1;
    struct Frame {
        const Node* node;
        std::uint32_t next;
        std::array<std::uint32_t, max_arity + 1> operands;
    };
    std::vector<Frame> stack;
    for (const auto& root : roots) {
        if (!root) continue;
        std::uint32_t& root_entry = index.positions_[root.node().id()];
        if (root_entry != detail::IdMap::absent) continue;
        root_entry = on_stack;
        stack.push_back({root.get(), 0, {}});
        while (!stack.empty()) {
            Frame& frame = stack.back();
            if (frame.next < frame.node->arity()) {
                const Node* operand = frame.node->input(frame.next).get();
                std::uint32_t& entry = index.positions_[operand->id()];
                if (entry == detail::IdMap::absent) {
                    entry = on_stack;
                    stack.push_back({operand, 0, {}});  // its position arrives when it finishes
                } else {
                    // Operands are created before their users, so an operand is never still on the stack.
                    frame.operands[frame.next] = entry;
                    ++frame.next;
                }
                continue;
            }
            const auto position = static_cast<std::uint32_t>(index.nodes_.size());
            frame.operands[max_arity] = static_cast<std::uint32_t>(frame.node->arity());
            index.positions_[frame.node->id()] = position;
            index.nodes_.push_back(frame.node);
            index.operands_.push_back(frame.operands);
            stack.pop_back();
            if (!stack.empty()) {
                Frame& parent = stack.back();
                parent.operands[parent.next] = position;
                ++parent.next;
            }
        }
    }
    return index;
}

std::vector<const Node*> topo_order(std::span<const Expr> roots) { return index_graph(roots).nodes(); }

}  // namespace symgrad
