#include "symgrad/tensor.hpp"

#include "tensor/splitmix.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <numbers>

namespace symgrad {

std::string_view dtype_name(DType dtype) { return dtype == DType::float32 ? "float32" : "float64"; }

std::size_t dtype_size(DType dtype) { return dtype == DType::float32 ? 4 : 8; }

Shape::Shape(std::initializer_list<std::int64_t> dims) : Shape(std::vector<std::int64_t>(dims)) {}

Shape::Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {
    for (auto d : dims_) {
        if (d < 0) {
            throw ShapeError(fmt::format("a shape cannot have a negative dimension: [{}]", fmt::join(dims_, ", ")));
        }
    }
    // Refuse shapes whose element count overflows, before anything tries to allocate them.
    std::int64_t count = 1;
    for (auto d : dims_) {
        if (d != 0 && count > std::numeric_limits<std::int64_t>::max() / d) {
            throw ShapeError(fmt::format("shape [{}] has too many elements", fmt::join(dims_, ", ")));
        }
        count *= d;
    }
}

std::int64_t Shape::numel() const {
    std::int64_t count = 1;
    for (auto d : dims_) count *= d;
    return count;
}

std::vector<std::int64_t> Shape::strides() const {
    std::vector<std::int64_t> result(dims_.size());
    std::int64_t stride = 1;
    for (std::size_t i = dims_.size(); i-- > 0;) {
        result[i] = stride;
        stride *= dims_[i];
    }
    return result;
}

std::string to_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape.dims(), ", ")); }

Shape broadcast_shapes(const Shape& a, const Shape& b) {
    const std::size_t rank = std::max(a.rank(), b.rank());
    std::vector<std::int64_t> dims(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        // Align from the right: a missing leading dimension acts as 1.
        const std::int64_t da = i < rank - a.rank() ? 1 : a[i - (rank - a.rank())];
        const std::int64_t db = i < rank - b.rank() ? 1 : b[i - (rank - b.rank())];
        if (da != db && da != 1 && db != 1) {
            throw ShapeError(fmt::format("cannot broadcast {} with {}", a, b));
        }
        dims[i] = da == 1 ? db : da;
    }
    return Shape(std::move(dims));
}

bool broadcastable_to(const Shape& from, const Shape& to) {
    if (from.rank() > to.rank()) return false;
    const std::size_t lead = to.rank() - from.rank();
    for (std::size_t i = 0; i < from.rank(); ++i) {
        if (from[i] != 1 && from[i] != to[lead + i]) return false;
    }
    return true;
}

std::vector<std::int64_t> broadcast_strides(const Shape& operand, const Shape& out) {
    std::vector<std::int64_t> strides(out.rank(), 0);
    const auto own = operand.strides();
    const std::size_t lead = out.rank() - operand.rank();
    for (std::size_t i = 0; i < operand.rank(); ++i) {
        if (operand[i] != 1) strides[lead + i] = own[i];
    }
    return strides;
}

StridedWalk::StridedWalk(const Shape& shape, std::vector<std::vector<std::int64_t>> strides)
    : dims_(shape.dims()), strides_(std::move(strides)), counter_(dims_.size(), 0), offsets_(strides_.size(), 0) {}

void StridedWalk::next() {
    for (std::size_t axis = dims_.size(); axis-- > 0;) {
        ++counter_[axis];
        for (std::size_t v = 0; v < strides_.size(); ++v) offsets_[v] += strides_[v][axis];
        if (counter_[axis] < dims_[axis]) return;
        // Roll this axis over to 0 and carry into the next one out.
        for (std::size_t v = 0; v < strides_.size(); ++v) offsets_[v] -= strides_[v][axis] * dims_[axis];
        counter_[axis] = 0;
    }
}

std::size_t normalize_axis(std::int64_t axis, std::size_t rank) {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r) {
        throw ShapeError(fmt::format("axis {} is out of range for rank {}", axis, rank));
    }
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

namespace {

// Freed large buffers are kept for the next allocation of the same size. A fresh large buffer comes from mmap and
// costs a page fault per 4 KiB on first touch: a program run in a loop on [256, 256] tensors spent three quarters
// of its time in the kernel. At most cache_limit bytes are kept; release_cached_buffers() returns them.
class BufferCache {
public:
    static constexpr std::size_t min_bytes = std::size_t{128} << 10;
    static constexpr std::size_t cache_limit = std::size_t{512} << 20;

    void* take(std::size_t bytes) {
        std::lock_guard lock(mutex_);
        const auto it = free_.find(bytes);
        if (it == free_.end()) return nullptr;
        void* memory = it->second;
        free_.erase(it);
        cached_ -= bytes;
        return memory;
    }

    void give(void* memory, std::size_t bytes) {
        {
            std::lock_guard lock(mutex_);
            if (cached_ + bytes <= cache_limit) {
                free_.emplace(bytes, memory);
                cached_ += bytes;
                return;
            }
        }
        std::free(memory);
    }

    void release() {
        std::lock_guard lock(mutex_);
        for (auto& [bytes, memory] : free_) std::free(memory);
        free_.clear();
        cached_ = 0;
    }

private:
    std::mutex mutex_;
    std::multimap<std::size_t, void*> free_;
    std::size_t cached_ = 0;
};

// Never destroyed: a Tensor held by a static may be freed after every other static is gone.
BufferCache& buffer_cache() {
    static BufferCache* cache = new BufferCache;
    return *cache;
}

std::shared_ptr<std::byte[]> allocate(std::size_t bytes, bool zero) {
    // Small tensors (scalars, per-unit vectors) are the most numerous: one allocation holds the
    // control block and the zeroed data. Larger ones get 64-byte alignment, which suits every vector width.
    constexpr std::size_t small = 256;
    if (bytes <= small) return std::make_shared<std::byte[]>(std::max<std::size_t>(bytes, 1));
    constexpr std::size_t alignment = 64;
    const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    if (rounded < BufferCache::min_bytes) {
        void* memory = std::aligned_alloc(alignment, rounded);
        if (memory == nullptr) throw std::bad_alloc();
        if (zero) std::memset(memory, 0, rounded);
        return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(memory), [](std::byte* p) { std::free(p); });
    }
    void* memory = buffer_cache().take(rounded);
    if (memory == nullptr) memory = std::aligned_alloc(alignment, rounded);
    if (memory == nullptr) throw std::bad_alloc();
    if (zero) std::memset(memory, 0, rounded);
    return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(memory), [rounded](std::byte* p) { buffer_cache().give(p, rounded); });
}

using detail::SplitMix64;

}  // namespace

void release_cached_buffers() { buffer_cache().release(); }

Tensor::Tensor() : shape_({0}) {}

Tensor::Tensor(Shape shape, DType dtype) : Tensor(std::move(shape), dtype, true) {}

Tensor::Tensor(Shape shape, DType dtype, bool zero) : shape_(std::move(shape)), dtype_(dtype) {
    storage_ = allocate(nbytes(), zero);
    data_ = storage_.get();
}

Tensor Tensor::empty(Shape shape, DType dtype) { return Tensor(std::move(shape), dtype, false); }

Tensor Tensor::scalar(double value, DType dtype) { return full(Shape{}, value, dtype); }

Tensor Tensor::full(Shape shape, double value, DType dtype) {
    Tensor t(std::move(shape), dtype);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, value);
    return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype) { return Tensor(std::move(shape), dtype); }

Tensor Tensor::ones(Shape shape, DType dtype) { return full(std::move(shape), 1.0, dtype); }

Tensor Tensor::from_values(Shape shape, std::span<const double> values, DType dtype) {
    if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
        throw ShapeError(fmt::format("{} values cannot fill shape {} ({} elements)", values.size(), shape, shape.numel()));
    }
    Tensor t(std::move(shape), dtype);
    for (std::size_t i = 0; i < values.size(); ++i) t.set(static_cast<std::int64_t>(i), values[i]);
    return t;
}

Tensor Tensor::from_values(Shape shape, std::initializer_list<double> values, DType dtype) {
    return from_values(std::move(shape), std::span<const double>(values.begin(), values.size()), dtype);
}

Tensor Tensor::uniform(Shape shape, double lo, double hi, std::uint64_t seed, DType dtype) {
    Tensor t(std::move(shape), dtype);
    SplitMix64 rng{seed};
    for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, lo + (hi - lo) * rng.unit());
    return t;
}

Tensor Tensor::normal(Shape shape, double mean, double stddev, std::uint64_t seed, DType dtype) {
    Tensor t(std::move(shape), dtype);
    SplitMix64 rng{seed};
    for (std::int64_t i = 0; i < t.numel(); i += 2) {
        // Box-Muller: two independent normals from two uniforms; 1 - u keeps the log argument in (0, 1].
        const double radius = std::sqrt(-2.0 * std::log(1.0 - rng.unit()));
        const double angle = 2.0 * std::numbers::pi * rng.unit();
        t.set(i, mean + stddev * radius * std::cos(angle));
        if (i + 1 < t.numel()) t.set(i + 1, mean + stddev * radius * std::sin(angle));
    }
    return t;
}

template <> float* Tensor::data<float>() {
    if (dtype_ != DType::float32) throw DTypeError(fmt::format("tensor holds {}, not float32", dtype_));
    return static_cast<float*>(data_);
}
template <> double* Tensor::data<double>() {
    if (dtype_ != DType::float64) throw DTypeError(fmt::format("tensor holds {}, not float64", dtype_));
    return static_cast<double*>(data_);
}
template <> const float* Tensor::data<float>() const { return const_cast<Tensor*>(this)->data<float>(); }
template <> const double* Tensor::data<double>() const { return const_cast<Tensor*>(this)->data<double>(); }

double Tensor::get(std::int64_t flat_index) const {
    if (dtype_ == DType::float32) return static_cast<const float*>(data_)[flat_index];
    return static_cast<const double*>(data_)[flat_index];
}

void Tensor::set(std::int64_t flat_index, double value) {
    if (dtype_ == DType::float32) {
        static_cast<float*>(data_)[flat_index] = static_cast<float>(value);
    } else {
        static_cast<double*>(data_)[flat_index] = value;
    }
}

double Tensor::at(std::span<const std::int64_t> index) const {
    if (index.size() != rank()) {
        throw ShapeError(fmt::format("index [{}] has {} coordinates, tensor of shape {} needs {}", fmt::join(index, ", "), index.size(),
                                     shape_, rank()));
    }
    std::int64_t flat = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
        if (index[i] < 0 || index[i] >= shape_[i]) {
            throw ShapeError(fmt::format("index [{}] is out of bounds for shape {}", fmt::join(index, ", "), shape_));
        }
        flat = flat * shape_[i] + index[i];
    }
    return get(flat);
}

double Tensor::at(std::initializer_list<std::int64_t> index) const {
    return at(std::span<const std::int64_t>(index.begin(), index.size()));
}

double Tensor::item() const {
    if (numel() != 1) {
        throw ShapeError(fmt::format("item() needs a tensor with one element, got shape {}", shape_));
    }
    return get(0);
}

std::vector<double> Tensor::to_vector() const {
    std::vector<double> values(static_cast<std::size_t>(numel()));
    for (std::int64_t i = 0; i < numel(); ++i) values[static_cast<std::size_t>(i)] = get(i);
    return values;
}

Tensor Tensor::clone() const {
    Tensor copy(shape_, dtype_);
    if (nbytes() > 0) std::memcpy(copy.data_, data_, nbytes());
    return copy;
}

Tensor Tensor::reshape(Shape shape) const {
    if (shape.numel() != numel()) {
        throw ShapeError(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", shape_, numel(), shape, shape.numel()));
    }
    Tensor view = *this;
    view.shape_ = std::move(shape);
    return view;
}

Tensor Tensor::astype(DType dtype) const {
    if (dtype == dtype_) return *this;
    Tensor copy(shape_, dtype);
    for (std::int64_t i = 0; i < numel(); ++i) copy.set(i, get(i));
    return copy;
}

bool Tensor::identical(const Tensor& other) const {
    if (shape_ != other.shape_ || dtype_ != other.dtype_) return false;
    return nbytes() == 0 || std::memcmp(data_, other.data_, nbytes()) == 0;
}

namespace {

std::string format_element(double value, DType dtype) {
    if (std::isnan(value)) return "nan";  // NaN's sign bit means nothing: never "-nan"
    if (dtype == DType::float32) return fmt::format("{}", static_cast<float>(value));
    return fmt::format("{}", value);
}

}  // namespace

std::string to_string(const Tensor& tensor) {
    const Shape& shape = tensor.shape();
    if (shape.rank() == 0) return format_element(tensor.get(0), tensor.dtype());
    constexpr std::int64_t summary_threshold = 1000;
    constexpr std::int64_t edge = 3;
    const bool summarize = tensor.numel() > summary_threshold;
    const std::size_t rank = shape.rank();
    std::string out;
    // Walk a multi-index over the shape, opening and closing brackets as coordinates roll over;
    // when summarizing, jump over the middle of every long axis and write "..." in its place.
    std::vector<std::int64_t> index(rank, 0);
    out.append(rank, '[');
    if (tensor.numel() == 0) {
        out.append(rank, ']');
        return out;
    }
    const auto strides = shape.strides();
    while (true) {
        std::int64_t flat = 0;
        for (std::size_t i = 0; i < rank; ++i) flat += index[i] * strides[i];
        out += format_element(tensor.get(flat), tensor.dtype());
        // Advance the innermost coordinate, carrying outwards.
        std::size_t axis = rank;
        std::size_t closed = 0;
        bool elided = false;
        while (axis-- > 0) {
            ++index[axis];
            if (summarize && shape[axis] > 2 * edge && index[axis] == edge) {
                index[axis] = shape[axis] - edge;
                elided = true;
            }
            if (index[axis] < shape[axis]) break;
            index[axis] = 0;
            ++closed;
            if (axis == 0) {
                out.append(closed, ']');
                return out;
            }
        }
        out.append(closed, ']');
        out += ",";
        if (closed > 0) {
            out.append(closed, '\n');
            out.append(rank - closed, ' ');
            if (elided) {
                out += "...,";
                out.append(closed, '\n');
                out.append(rank - closed, ' ');
            }
            out.append(closed, '[');
        } else {
            out += elided ? " ..., " : " ";
        }
    }
}

}  // namespace symgrad
