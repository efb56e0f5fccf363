// An open-addressing hash map from node pointers to small values, for the passes over a graph.
// std::unordered_map allocates once per entry and chases pointers; over a million nodes that cost
// more than the passes themselves. Linear probing over one array, no erase (a pass builds it once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace symgrad {
class Node;
}

namespace symgrad::detail {

// SplitMix64's finalizer: spreads pointer bits (whose low bits are always zero) over the whole word.
inline std::uint64_t mix_bits(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

template <class Value> class NodeMap {
public:
    explicit NodeMap(std::size_t expected = 16) { rehash(capacity_for(expected)); }

    // The value for key, inserting `initial` first when the key is new; second is true when inserted.
    std::pair<Value*, bool> try_emplace(const Node* key, Value initial = Value()) {
        if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
        std::size_t i = slot_of(key);
        while (slots_[i].key != nullptr) {
            if (slots_[i].key == key) return {&slots_[i].value, false};
            i = (i + 1) & mask_;
        }
        slots_[i].key = key;
        slots_[i].value = std::move(initial);
        ++size_;
        return {&slots_[i].value, true};
    }

    Value* find(const Node* key) {
        std::size_t i = slot_of(key);
        while (slots_[i].key != nullptr) {
            if (slots_[i].key == key) return &slots_[i].value;
            i = (i + 1) & mask_;
        }
        return nullptr;
    }
    const Value* find(const Node* key) const { return const_cast<NodeMap*>(this)->find(key); }
    bool contains(const Node* key) const { return find(key) != nullptr; }
    std::size_t size() const { return size_; }

private:
    struct Slot {
        const Node* key = nullptr;
        Value value{};
    };

    static std::size_t capacity_for(std::size_t expected) {
        std::size_t capacity = 16;
        while (capacity < expected * 2) capacity *= 2;
        return capacity;
    }

    std::size_t slot_of(const Node* key) const { return static_cast<std::size_t>(mix_bits(reinterpret_cast<std::uintptr_t>(key))) & mask_; }

    void rehash(std::size_t capacity) {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
        size_ = 0;
        for (auto& slot : old) {
            if (slot.key != nullptr) try_emplace(slot.key, std::move(slot.value));
        }
    }

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

}  // namespace symgrad::detail

namespace symgrad::detail {

// A map from node ids to 32-bit values for one pass over one graph. Ids grow with creation order, so a
// graph's ids cluster: the map keeps pages of 256 consecutive ids, found through a small hash of page
// numbers, and walks memory nearly in order where a pointer hash would jump at random (at millions of
// nodes those jumps, each a cache and TLB miss, were most of a pass's time).
class IdMap {
public:
    static constexpr std::uint32_t absent = static_cast<std::uint32_t>(-1);

    // The value for id (absent when there is none yet), as a reference that stays valid until the next
    // call that inserts.
    std::uint32_t& operator[](std::uint64_t id) {
        const std::uint64_t number = id >> page_bits;
        if (number != last_number_) {
            last_page_ = page(number);
            last_number_ = number;
        }
        return last_page_[id & (page_size - 1)];
    }

    std::uint32_t find(std::uint64_t id) const {
        const std::uint64_t number = id >> page_bits;
        const std::size_t mask = table_.size() - 1;
        for (std::size_t i = mix_bits(number) & mask; table_[i].values != nullptr; i = (i + 1) & mask) {
            if (table_[i].number == number) return table_[i].values[id & (page_size - 1)];
        }
        return absent;
    }

private:
    static constexpr unsigned page_bits = 8;
    static constexpr std::size_t page_size = std::size_t{1} << page_bits;

    struct Entry {
        std::uint64_t number = 0;
        std::uint32_t* values = nullptr;
    };

    std::uint32_t* page(std::uint64_t number) {
        std::size_t mask = table_.size() - 1;
        for (std::size_t i = mix_bits(number) & mask; table_[i].values != nullptr; i = (i + 1) & mask) {
            if (table_[i].number == number) return table_[i].values;
        }
        if ((pages_.size() + 1) * 2 > table_.size()) {
            grow();
            mask = table_.size() - 1;
        }
        pages_.push_back(std::vector<std::uint32_t>(page_size, absent));
        std::uint32_t* values = pages_.back().data();
        std::size_t i = mix_bits(number) & mask;
        while (table_[i].values != nullptr) i = (i + 1) & mask;
        table_[i] = {number, values};
        return values;
    }

    void grow() {
        std::vector<Entry> old = std::move(table_);
        table_.assign(old.size() * 2, Entry{});
        const std::size_t mask = table_.size() - 1;
        for (const auto& entry : old) {
            if (entry.values == nullptr) continue;
            std::size_t i = mix_bits(entry.number) & mask;
            while (table_[i].values != nullptr) i = (i + 1) & mask;
            table_[i] = entry;
        }
    }

    std::vector<Entry> table_ = std::vector<Entry>(16);
    std::vector<std::vector<std::uint32_t>> pages_;
    std::uint64_t last_number_ = static_cast<std::uint64_t>(-1);
    std::uint32_t* last_page_ = nullptr;
};

}  // namespace symgrad::detail
