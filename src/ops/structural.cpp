// The structural primitives' shape rules, reference kernels, attribute text and VJP helpers, which their rows in
// the table (table.hpp) point at.
#include "ops/structural.hpp"

#include <algorithm>

#include "math/reduce_order.hpp"

namespace symgrad::detail {

Shape reduced_shape(const Shape& in, const std::vector<std::int64_t>& axes, bool keepdims) {
    std::vector<std::int64_t> dims;
    for (std::size_t i = 0; i < in.rank(); ++i) {
        const bool reduced = std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(i)) != axes.end();
        if (!reduced) {
            dims.push_back(in[i]);
        } else if (keepdims) {
            dims.push_back(1);
        }
    }
    return Shape(std::move(dims));
}

Shape shape_broadcast_to(std::span<const Expr> in, const Attrs& attrs) {
    Shape target(attrs.ints);
    if (!broadcastable_to(in[0].shape(), target)) {
        throw ShapeError(fmt::format("cannot broadcast {} to {}", in[0].shape(), target));
    }
    return target;
}

Shape shape_reduce(std::span<const Expr> in, const Attrs& attrs) { return reduced_shape(in[0].shape(), attrs.ints, attrs.keepdims); }

Shape shape_reshape(std::span<const Expr> in, const Attrs& attrs) {
    Shape target(attrs.ints);
    if (target.numel() != in[0].shape().numel()) {
        throw ShapeError(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", in[0].shape(), in[0].shape().numel(), target,
                                     target.numel()));
    }
    return target;
}

Shape shape_permute(std::span<const Expr> in, const Attrs& attrs) {
    const Shape& shape = in[0].shape();
    std::vector<std::int64_t> dims;
    for (auto axis : attrs.ints) dims.push_back(shape[static_cast<std::size_t>(axis)]);
    return Shape(std::move(dims));
}

Shape shape_matmul(std::span<const Expr> in, const Attrs&) {
    const Shape& a = in[0].shape();
    const Shape& b = in[1].shape();
    if (a.rank() < 2 || b.rank() < 2) {
        throw ShapeError(fmt::format("operands need rank 2 or more, got {} and {}", a, b));
    }
    if (a[a.rank() - 1] != b[b.rank() - 2]) {
        throw ShapeError(fmt::format("the inner dimensions of {} and {} differ ({} vs {})", a, b, a[a.rank() - 1], b[b.rank() - 2]));
    }
    const Shape batch_a(std::vector<std::int64_t>(a.begin(), a.end() - 2));
    const Shape batch_b(std::vector<std::int64_t>(b.begin(), b.end() - 2));
    auto dims = broadcast_shapes(batch_a, batch_b).dims();
    dims.push_back(a[a.rank() - 2]);
    dims.push_back(b[b.rank() - 1]);
    return Shape(std::move(dims));
}

Tensor eval_broadcast_to(const Node& node, std::span<const Tensor> in) {
    Tensor out(node.shape(), node.dtype());
    StridedWalk walk(node.shape(), {broadcast_strides(in[0].shape(), node.shape())});
    for (std::int64_t i = 0; i < out.numel(); ++i, walk.next()) out.set(i, in[0].get(walk.offset(0)));
    return out;
}

namespace {

// Sums in double whatever the dtype: the reference is meant to be the more accurate side of every comparison.
// Reductions over leading axes (per-unit parameter gradients, and sums of everything) add in the order of
// reduce_order.hpp, which the fused engine repeats; reductions over trailing axes add each group in order; any
// other reduction walks x in row-major order.
template <class T> void accumulate(const Tensor& x, const std::vector<std::int64_t>& axes, const Shape& kept, std::vector<double>& acc) {
    const T* data = x.data<T>();
    const std::int64_t n = x.numel();
    const std::size_t rank = x.rank();
    const auto leading = [&] {
        for (std::size_t i = 0; i < axes.size(); ++i) {
            if (axes[i] != static_cast<std::int64_t>(i)) return false;
        }
        return true;
    }();
    const auto trailing = [&] {
        for (std::size_t i = 0; i < axes.size(); ++i) {
            if (axes[i] != static_cast<std::int64_t>(rank - axes.size() + i)) return false;
        }
        return true;
    }();
    const auto groups = static_cast<std::int64_t>(acc.size());
    if (leading && groups > 0) {
        // In the order of reduce_order.hpp: `period` accumulators, then folded to `groups`.
        const std::int64_t period = detail::accumulation_period(groups);
        std::vector<double> partial(static_cast<std::size_t>(period), 0.0);
        for (std::int64_t i = 0; i < n; i += period) {
            const std::int64_t row = std::min(period, n - i);
            for (std::int64_t j = 0; j < row; ++j) partial[static_cast<std::size_t>(j)] += static_cast<double>(data[i + j]);
        }
        detail::fold_accumulators(partial.data(), period, groups,
                                  [&](std::int64_t j, double total) { acc[static_cast<std::size_t>(j)] = total; });
        return;
    }
    if (trailing && groups > 0) {
        const std::int64_t inner = n / groups;
        for (std::int64_t g = 0; g < groups; ++g) {
            double total = 0.0;
            for (std::int64_t j = 0; j < inner; ++j) total += static_cast<double>(data[g * inner + j]);
            acc[static_cast<std::size_t>(g)] = total;
        }
        return;
    }
    StridedWalk walk(x.shape(), {broadcast_strides(kept, x.shape())});
    for (std::int64_t i = 0; i < n; ++i, walk.next()) acc[static_cast<std::size_t>(walk.offset(0))] += static_cast<double>(data[i]);
}

Tensor reduce_sum(const Node& node, const Tensor& x, double scale) {
    const Shape kept = reduced_shape(x.shape(), node.attrs().ints, true);
    std::vector<double> acc(static_cast<std::size_t>(kept.numel()), 0.0);
    if (x.dtype() == DType::float32) {
        accumulate<float>(x, node.attrs().ints, kept, acc);
    } else {
        accumulate<double>(x, node.attrs().ints, kept, acc);
    }
    Tensor out(node.shape(), node.dtype());
    for (std::int64_t i = 0; i < out.numel(); ++i) out.set(i, acc[static_cast<std::size_t>(i)] * scale);
    return out;
}

}  // namespace

Tensor eval_sum(const Node& node, std::span<const Tensor> in) { return reduce_sum(node, in[0], 1.0); }

Tensor eval_mean(const Node& node, std::span<const Tensor> in) {
    const std::int64_t count = in[0].numel() / std::max<std::int64_t>(node.shape().numel(), 1);
    // The mean of nothing is NaN, as in NumPy and PyTorch.
    const double scale = count == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / static_cast<double>(count);
    return reduce_sum(node, in[0], scale);
}

Tensor eval_amax(const Node& node, std::span<const Tensor> in) {
    const Tensor& x = in[0];
    const Shape kept = reduced_shape(x.shape(), node.attrs().ints, true);
    std::vector<double> best(static_cast<std::size_t>(kept.numel()), -std::numeric_limits<double>::infinity());
    StridedWalk walk(x.shape(), {broadcast_strides(kept, x.shape())});
    for (std::int64_t i = 0; i < x.numel(); ++i, walk.next()) {
        double& b = best[static_cast<std::size_t>(walk.offset(0))];
        const double v = x.get(i);
        if (std::isnan(v) || v > b) b = std::isnan(b) ? b : v;
    }
    Tensor out(node.shape(), node.dtype());
    for (std::int64_t i = 0; i < out.numel(); ++i) out.set(i, best[static_cast<std::size_t>(i)]);
    return out;
}

Tensor eval_reshape(const Node& node, std::span<const Tensor> in) { return in[0].reshape(node.shape()); }

Tensor eval_permute(const Node& node, std::span<const Tensor> in) {
    const auto in_strides = in[0].shape().strides();
    std::vector<std::int64_t> strides;
    for (auto axis : node.attrs().ints) strides.push_back(in_strides[static_cast<std::size_t>(axis)]);
    Tensor out(node.shape(), node.dtype());
    StridedWalk walk(node.shape(), {strides});
    for (std::int64_t i = 0; i < out.numel(); ++i, walk.next()) out.set(i, in[0].get(walk.offset(0)));
    return out;
}

namespace {

template <class T> void matmul_loop(const Node& node, const Tensor& a, const Tensor& b, Tensor& out) {
    const Shape& shape = node.shape();
    const std::size_t rank = shape.rank();
    const std::int64_t m = shape[rank - 2];
    const std::int64_t n = shape[rank - 1];
    const std::int64_t k = a.shape()[a.rank() - 1];
    const Shape batch(std::vector<std::int64_t>(shape.begin(), shape.end() - 2));
    auto matrix_strides = [&](const Shape& s) {
        // One step along a batch axis of the operand moves by one whole matrix.
        const Shape operand_batch(std::vector<std::int64_t>(s.begin(), s.end() - 2));
        auto strides = broadcast_strides(operand_batch, batch);
        for (auto& st : strides) st *= s[s.rank() - 2] * s[s.rank() - 1];
        return strides;
    };
    StridedWalk walk(batch, {matrix_strides(a.shape()), matrix_strides(b.shape())});
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    for (std::int64_t batch_index = 0; batch_index < batch.numel(); ++batch_index, walk.next()) {
        const T* ma = pa + walk.offset(0);
        const T* mb = pb + walk.offset(1);
        T* mo = po + batch_index * m * n;
        for (std::int64_t i = 0; i < m; ++i) {
            for (std::int64_t j = 0; j < n; ++j) {
                double acc = 0.0;
                for (std::int64_t p = 0; p < k; ++p) acc += static_cast<double>(ma[i * k + p]) * mb[p * n + j];
                mo[i * n + j] = static_cast<T>(acc);
            }
        }
    }
}

}  // namespace

Tensor eval_matmul(const Node& node, std::span<const Tensor> in) {
    Tensor out(node.shape(), node.dtype());
    if (node.dtype() == DType::float32) {
        matmul_loop<float>(node, in[0], in[1], out);
    } else {
        matmul_loop<double>(node, in[0], in[1], out);
    }
    return out;
}

// Attribute text for printing.

namespace {

std::string dims_text(const std::vector<std::int64_t>& dims) { return fmt::format("[{}]", fmt::join(dims, ", ")); }

}  // namespace

std::string reduce_attr_text(const Attrs& attrs, std::span<const Expr> in) {
    const bool all_axes = attrs.ints.size() == in[0].rank();
    std::string text = all_axes ? "" : fmt::format(", axes={}", dims_text(attrs.ints));
    if (attrs.keepdims) text += ", keepdims=true";
    return text;
}

std::string ints_attr_text(const Attrs& attrs, std::span<const Expr>) { return ", " + dims_text(attrs.ints); }

// VJP helpers.

// The adjoint of a reduction's operand: the (kept-dimension) adjoint, broadcast back by the sweep.
Expr reduction_grad(const Vjp& v) {
    // A symbolic one stays one: ones broadcast to any shape.
    if (v.grad.is_one()) return v.grad;
    const Shape kept = reduced_shape(v.x().shape(), v.attrs().ints, true);
    return reshape(v.full_grad(), kept.dims());
}

std::vector<std::int64_t> inverse_permutation(const std::vector<std::int64_t>& perm) {
    std::vector<std::int64_t> inverse(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inverse[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
    return inverse;
}

}  // namespace symgrad::detail
