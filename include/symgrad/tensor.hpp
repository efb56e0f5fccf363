// Tensor layer: Shape, DType, Tensor and NumPy broadcasting. Knows nothing about graphs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

namespace symgrad {

// Every error symgrad raises derives from Error, so a caller can catch them all in one place.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Shapes that do not fit together: broadcasting, reshapes, axes out of range.
class ShapeError : public Error {
public:
    using Error::Error;
};

// Operands of different element types.
class DTypeError : public Error {
public:
    using Error::Error;
};

enum class DType : std::uint8_t { float32, float64 };

// Of a pair of things for float32 and float64 (a row's scalar kernels, a kernel set's loops), the one for the
// element type T: the one place that chooses between them by type.
template <class T, class ForFloat, class ForDouble> constexpr auto for_element_type(ForFloat for_float, ForDouble for_double) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "symgrad computes in float and double");
    if constexpr (std::is_same_v<T, float>) {
        return for_float;
    } else {
        return for_double;
    }
}

std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

class Shape {
public:
    Shape() = default;
    Shape(std::initializer_list<std::int64_t> dims);
    explicit Shape(std::vector<std::int64_t> dims);

    std::size_t rank() const { return dims_.size(); }
    std::int64_t numel() const;
    std::int64_t operator[](std::size_t axis) const { return dims_[axis]; }
    const std::vector<std::int64_t>& dims() const { return dims_; }
    auto begin() const { return dims_.begin(); }
    auto end() const { return dims_.end(); }
    bool operator==(const Shape&) const = default;

    // Row-major strides in elements.
    std::vector<std::int64_t> strides() const;

private:
    std::vector<std::int64_t> dims_;
};

std::string to_string(const Shape& shape);

// NumPy broadcasting: dimensions are aligned from the right; each pair must be equal or contain a 1.
// Throws ShapeError naming both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);
bool broadcastable_to(const Shape& from, const Shape& to);

// Row-major strides of `operand` as seen from a shape it broadcasts to: 0 along broadcast axes,
// and leading axes that the operand lacks.
std::vector<std::int64_t> broadcast_strides(const Shape& operand, const Shape& out);

// Walks the elements of a shape in row-major order, keeping for each of several strided views the
// flat offset of the element that lines up with the current one. The loop behind broadcasting,
// reductions and permutations in the reference evaluator.
class StridedWalk {
public:
    StridedWalk(const Shape& shape, std::vector<std::vector<std::int64_t>> strides);
    std::int64_t offset(std::size_t view) const { return offsets_[view]; }
    void next();

private:
    std::vector<std::int64_t> dims_;
    std::vector<std::vector<std::int64_t>> strides_;
    std::vector<std::int64_t> counter_;
    std::vector<std::int64_t> offsets_;
};

// Maps an axis that may be negative (-1 is the last axis) into [0, rank); throws ShapeError otherwise.
std::size_t normalize_axis(std::int64_t axis, std::size_t rank);

// A dense, contiguous, row-major array of float32 or float64. Copies of a Tensor share storage
// (a handle, like a shared_ptr); clone() makes an independent copy.
class Tensor {
public:
    Tensor();  // an empty float64 scalar-less tensor: shape [0]
    Tensor(Shape shape, DType dtype);  // zero-filled

    static Tensor scalar(double value, DType dtype = DType::float64);
    static Tensor full(Shape shape, double value, DType dtype = DType::float64);
    static Tensor zeros(Shape shape, DType dtype = DType::float64);
    // Storage whose contents are unspecified, for a caller that writes every element before reading any.
    static Tensor empty(Shape shape, DType dtype = DType::float64);
    static Tensor ones(Shape shape, DType dtype = DType::float64);
    // Values in row-major order; their count must equal the shape's element count.
    static Tensor from_values(Shape shape, std::span<const double> values, DType dtype = DType::float64);
    static Tensor from_values(Shape shape, std::initializer_list<double> values, DType dtype = DType::float64);
    // Deterministic on every platform for a given seed (own generator, not std:: distributions).
    static Tensor uniform(Shape shape, double lo, double hi, std::uint64_t seed, DType dtype = DType::float64);
    static Tensor normal(Shape shape, double mean, double stddev, std::uint64_t seed, DType dtype = DType::float64);

    const Shape& shape() const { return shape_; }
    DType dtype() const { return dtype_; }
    std::size_t rank() const { return shape_.rank(); }
    std::int64_t numel() const { return shape_.numel(); }
    std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }

    // Typed access; throws DTypeError when T does not match the dtype.
    template <class T> T* data();
    template <class T> const T* data() const;
    const void* raw() const { return data_; }
    void* raw() { return data_; }

    // Element access through double, whatever the dtype.
    double get(std::int64_t flat_index) const;
    void set(std::int64_t flat_index, double value);
    double at(std::span<const std::int64_t> index) const;
    double at(std::initializer_list<std::int64_t> index) const;
    double item() const;  // the single element of a one-element tensor
    std::vector<double> to_vector() const;

    Tensor clone() const;
    Tensor reshape(Shape shape) const;  // shares storage
    Tensor astype(DType dtype) const;  // a copy when the dtype changes
    bool same_storage(const Tensor& other) const { return storage_ == other.storage_; }

    // Bitwise equality of shape, dtype and values (so NaN equals NaN with the same payload).
    bool identical(const Tensor& other) const;

private:
    Tensor(Shape shape, DType dtype, bool zero);
    std::shared_ptr<std::byte[]> storage_;
    void* data_ = nullptr;
    Shape shape_;
    DType dtype_ = DType::float64;
};

template <> float* Tensor::data<float>();
template <> double* Tensor::data<double>();
template <> const float* Tensor::data<float>() const;
template <> const double* Tensor::data<double>() const;

// NumPy-style text: nested brackets, elided in the middle when large.
std::string to_string(const Tensor& tensor);

// Tensors of 128 KiB and more return their memory to a cache when freed (up to 512 MiB in all), so that the next
// tensor of that size, in a loop of runs, reuses it instead of paying page faults on fresh memory. This returns
// the cached memory to the system.
void release_cached_buffers();

}  // namespace symgrad

template <> struct fmt::formatter<symgrad::Shape> : fmt::formatter<std::string_view> {
    template <class Ctx> auto format(const symgrad::Shape& shape, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(symgrad::to_string(shape), ctx);
    }
};

template <> struct fmt::formatter<symgrad::DType> : fmt::formatter<std::string_view> {
    template <class Ctx> auto format(symgrad::DType dtype, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(symgrad::dtype_name(dtype), ctx);
    }
};

template <> struct fmt::formatter<symgrad::Tensor> : fmt::formatter<std::string_view> {
    template <class Ctx> auto format(const symgrad::Tensor& tensor, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(symgrad::to_string(tensor), ctx);
    }
};
