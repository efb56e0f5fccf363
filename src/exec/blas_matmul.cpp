#include "exec/blas_matmul.hpp"

#include <cblas.h>

#include <algorithm>
#include <mutex>

#include "exec/thread_pool.hpp"

namespace symgrad::detail {

namespace {

void keep_blas_single_threaded() {
#if SYMGRAD_HAVE_OPENBLAS_SET_NUM_THREADS
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
#endif
}

// One step along a batch axis of an operand of shape s moves by one whole matrix (0 where it is broadcast).
std::vector<std::int64_t> matrix_strides(const Shape& s, const Shape& batch) {
    const Shape operand_batch(std::vector<std::int64_t>(s.begin(), s.end() - 2));
    auto strides = broadcast_strides(operand_batch, batch);
    for (auto& st : strides) st *= s[s.rank() - 2] * s[s.rank() - 1];
    return strides;
}

void gemm(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k, bool ta, bool tb, std::int64_t lda,
          std::int64_t ldb) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c, static_cast<int>(n));
}

void gemm(const double* a, const double* b, double* c, std::int64_t m, std::int64_t n, std::int64_t k, bool ta, bool tb, std::int64_t lda,
          std::int64_t ldb) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0, c, static_cast<int>(n));
}

template <class T> void run(const Shape& shape, const Tensor& a, bool ta, const Tensor& b, bool tb, Tensor& out, std::size_t threads) {
    const std::size_t rank = shape.rank();
    const std::int64_t m = shape[rank - 2];
    const std::int64_t n = shape[rank - 1];
    // As stored: a is [.., m, k] or, transposed, [.., k, m]; b is [.., k, n] or [.., n, k].
    const std::int64_t k = ta ? a.shape()[a.rank() - 2] : a.shape()[a.rank() - 1];
    const std::int64_t lda = a.shape()[a.rank() - 1];
    const std::int64_t ldb = b.shape()[b.rank() - 1];
    const Shape batch(std::vector<std::int64_t>(shape.begin(), shape.end() - 2));
    const auto sa = matrix_strides(a.shape(), batch);
    const auto sb = matrix_strides(b.shape(), batch);
    const std::int64_t batches = batch.numel();
    if (m == 0 || n == 0 || batches == 0) return;
    if (k == 0) {
        std::fill(out.data<T>(), out.data<T>() + out.numel(), T(0));  // BLAS may leave C alone when k = 0
        return;
    }
    // Tasks: (batch, block of rows). Rows split only as far as there are threads to use them.
    const std::int64_t row_blocks = std::clamp<std::int64_t>(static_cast<std::int64_t>(threads) / std::max<std::int64_t>(batches, 1), 1, m);
    const std::int64_t rows_per_block = (m + row_blocks - 1) / row_blocks;
    const auto tasks = static_cast<std::size_t>(batches * row_blocks);
    parallel_for(tasks, threads, [&](std::size_t task) {
        const auto t = static_cast<std::int64_t>(task);
        const std::int64_t batch_index = t / row_blocks;
        const std::int64_t row0 = (t % row_blocks) * rows_per_block;
        const std::int64_t rows = std::min(rows_per_block, m - row0);
        if (rows <= 0) return;
        // The batch index's offsets in a and b.
        std::int64_t offset_a = 0;
        std::int64_t offset_b = 0;
        std::int64_t rest = batch_index;
        for (std::size_t axis = batch.rank(); axis-- > 0;) {
            const std::int64_t i = rest % batch[axis];
            rest /= batch[axis];
            offset_a += i * sa[axis];
            offset_b += i * sb[axis];
        }
        // Rows row0.. of op(a): rows of a, or columns of a as stored when transposed.
        const T* pa = a.data<T>() + offset_a + (ta ? row0 : row0 * lda);
        T* pc = out.data<T>() + batch_index * m * n + row0 * n;
        gemm(pa, b.data<T>() + offset_b, pc, rows, n, k, ta, tb, lda, ldb);
    });
}

}  // namespace

Tensor blas_matmul(const Shape& out_shape, DType dtype, const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                   std::size_t threads) {
    keep_blas_single_threaded();
    Tensor out = Tensor::empty(out_shape, dtype);
    if (dtype == DType::float32) {
        run<float>(out_shape, a, transpose_a, b, transpose_b, out, threads);
    } else {
        run<double>(out_shape, a, transpose_a, b, transpose_b, out, threads);
    }
    return out;
}

}  // namespace symgrad::detail
