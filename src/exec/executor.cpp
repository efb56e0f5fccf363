// The executor: runs a planned Program (plan.hpp says what a plan is), region by region, block by block.
#include <algorithm>

#include <cstdio>

#include "exec/blas_matmul.hpp"
#include "exec/native.hpp"
#include "exec/plan.hpp"
#include "exec/thread_pool.hpp"
#include "math/reduce_order.hpp"

namespace symgrad {

namespace detail {

namespace {

// Copies the elements [start, start + count) of value, broadcast to shape, into out, a run along the last axis
// at a time (a copy where that axis is the value's own, a fill where it is broadcast).
template <class T> void gather(const Tensor& value, const Shape& shape, std::int64_t start, std::size_t count, T* out) {
    if (count == 0) return;  // (a region with no elements: its shape may hold a zero to divide by)
    const T* data = value.data<T>();
    if (value.numel() == 1) {
        std::fill(out, out + count, data[0]);
        return;
    }
    const auto strides = broadcast_strides(value.shape(), shape);
    const std::size_t rank = shape.rank();
    // The multi-index of start, and its offset in value.
    std::vector<std::int64_t> index(rank);
    std::int64_t rest = start;
    std::int64_t offset = 0;
    for (std::size_t axis = rank; axis-- > 0;) {
        index[axis] = rest % shape[axis];
        rest /= shape[axis];
        offset += index[axis] * strides[axis];
    }
    const std::int64_t last = shape[rank - 1];
    const std::int64_t last_stride = strides[rank - 1];
    std::size_t done = 0;
    while (done < count) {
        const auto run = static_cast<std::size_t>(std::min<std::int64_t>(last - index[rank - 1], static_cast<std::int64_t>(count - done)));
        if (last_stride == 1) {
            std::copy(data + offset, data + offset + static_cast<std::int64_t>(run), out + done);
        } else {
            std::fill(out + done, out + done + run, data[offset]);  // stride 0: the value is broadcast along this axis
        }
        done += run;
        // Step the index past the run: to the start of the next row, carrying into the outer axes.
        offset += last_stride * static_cast<std::int64_t>(run);
        index[rank - 1] += static_cast<std::int64_t>(run);
        for (std::size_t axis = rank; axis-- > 0 && index[axis] == shape[axis];) {
            offset -= strides[axis] * shape[axis];
            index[axis] = 0;
            if (axis == 0) break;
            ++index[axis - 1];
            offset += strides[axis - 1];
        }
    }
}

// Gathers a region's operands of other shapes into their scratch blocks (block elements apart) for the elements
// [start, start + count): the ones that are the same in every block (invariant), or the others.
template <class T> void gather_operands(const Region& region, const std::vector<Tensor>& values, std::size_t block, std::int64_t start,
                                        std::size_t count, T* scratch, bool invariant) {
    for (std::size_t g = 0; g < region.gathered.size(); ++g) {
        if (region.gathered[g].invariant == invariant) gather<T>(values[region.gathered[g].node], region.shape, start, count, scratch + block * g);
    }
}

// The elements [begin, end) of a region: its instructions block by block, writing out what leaves the region and
// adding fused reductions' operands into acc (one row of accumulators per reduction, each `period` long).
template <class T> void run_chunk(const Program::Plan& plan, const Region& region, std::vector<Tensor>& values, std::int64_t begin,
                                  std::int64_t end, std::vector<double>& acc) {
    const std::size_t block = plan.block;
    const std::size_t width = region.instructions.size();
    // Registers: one block per instruction, one per gathered operand, and a block of zeros.
    const std::size_t slots = region.gathered.size();
    // The registers stay allocated on each thread between runs (a fresh block of tens of kB per region and run
    // cost page faults whenever the allocator had returned the memory); only the zeros need clearing.
    thread_local std::vector<T> storage;
    if (storage.size() < block * (width + slots + 1)) storage.resize(block * (width + slots + 1));
    T* const registers = storage.data();
    T* const scratch = registers + block * width;
    T* const zero_block = registers + block * (width + slots);
    std::fill(zero_block, zero_block + block, T(0));
    const T* const zeros = zero_block;
    const auto first = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(block), end - begin));
    gather_operands<T>(region, values, block, begin, first, scratch, true);
    const AccumulateKernel<T> accumulate = accumulate_kernel<T>(*plan.kernels);
    // Where each instruction writes: its register, or, for a value that leaves the region, the value itself
    // (later instructions read it back while it is still in cache; no copy).
    std::vector<T*> destination(width);
    for (std::int64_t start = begin; start < end; start += static_cast<std::int64_t>(block)) {
        const std::size_t count = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(block), end - start));
        for (std::size_t k = 0; k < width; ++k) destination[k] = registers + block * k;
        gather_operands<T>(region, values, block, start, count, scratch, false);
        for (const Materialized& m : region.materialized) destination[m.slot] = values[m.node].template data<T>() + start;
        for (std::size_t k = 0; k < width; ++k) {
            const Instruction& ins = region.instructions[k];
            if (ins.fused_away) continue;
            const T* operands[max_arity] = {zeros, zeros, zeros};
            const bool pair = ins.kind == KernelKind::pair;
            const auto& sources = pair ? ins.pair_source : ins.source;
            const auto& scratches = pair ? ins.pair_scratch : ins.scratch;
            for (std::size_t a = 0; a < (pair ? max_arity : ins.arity); ++a) {
                const Source& source = sources[a];
                if (source.in_region) {
                    operands[a] = destination[source.index];
                } else if (scratches[a] < 0) {
                    operands[a] = values[source.index].data<T>() + start;  // same shape: read in place
                } else {
                    operands[a] = scratch + block * static_cast<std::size_t>(scratches[a]);
                }
            }
            ins.kernel<T>()(destination[k], operands[0], operands[1], operands[2], count);
        }
        std::size_t row_offset = 0;
        for (const Reduction& r : region.reductions) {
            const T* from = r.source.in_region ? destination[r.source.index] : values[r.source.index].data<T>() + start;
            double* row = acc.data() + row_offset;
            // Element start + i adds into accumulator (start + i) mod period: whole runs at a time.
            std::size_t done = 0;
            auto j = static_cast<std::size_t>(start % r.period);
            while (done < count) {
                const std::size_t run = std::min(count - done, static_cast<std::size_t>(r.period) - j);
                accumulate(row + j, from + done, run);
                done += run;
                j = 0;
            }
            row_offset += static_cast<std::size_t>(r.period);
        }
    }
}

// The elements [begin, end) of a region by its generated function (native.hpp): the same blocks, gathers and
// accumulator rows as run_chunk, so the same bits.
template <class T> void run_chunk_native(const Program::Plan& plan, const Region& region, NativeFunction function, std::vector<Tensor>& values,
                                         std::int64_t begin, std::int64_t end, std::vector<double>& acc) {
    const std::size_t block = plan.block;
    const std::size_t slots = region.gathered.size();
    thread_local std::vector<T> storage;
    if (storage.size() < block * slots) storage.resize(block * slots);
    T* const scratch = storage.data();
    const auto first = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(block), end - begin));
    gather_operands<T>(region, values, block, begin, first, scratch, true);
    const std::size_t inputs = region.inputs.size();
    const std::size_t written = region.materialized.size();
    std::vector<T*> base(inputs + written);
    std::vector<void*> pointers(inputs + written + region.reductions.size());
    std::vector<double*> rows;
    std::size_t row_offset = 0;
    for (const Reduction& r : region.reductions) {
        rows.push_back(acc.data() + row_offset);
        row_offset += static_cast<std::size_t>(r.period);
    }
    const std::int64_t period = common_period(region);
    for (std::int64_t start = begin; start < end; start += static_cast<std::int64_t>(block)) {
        const std::size_t count = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(block), end - start));
        gather_operands<T>(region, values, block, start, count, scratch, false);
        for (std::size_t j = 0; j < inputs; ++j) {
            const RegionInput& in = region.inputs[j];
            base[j] = in.scratch < 0 ? values[in.node].template data<T>() + start : scratch + block * static_cast<std::size_t>(in.scratch);
        }
        for (std::size_t m = 0; m < written; ++m) base[inputs + m] = values[region.materialized[m].node].template data<T>() + start;
        // With a common period the function follows the wraps itself: one call per block.
        if (period > 0 || rows.empty()) {
            for (std::size_t k = 0; k < base.size(); ++k) pointers[k] = base[k];
            for (std::size_t r = 0; r < rows.size(); ++r) pointers[inputs + written + r] = rows[r];
            function(pointers.data(), count, period > 0 ? static_cast<std::size_t>(start % period) : 0);
            continue;
        }
        // Else runs that end where some reduction's accumulator index wraps.
        std::size_t done = 0;
        while (done < count) {
            std::size_t run = count - done;
            for (std::size_t r = 0; r < rows.size(); ++r) {
                const std::int64_t own = region.reductions[r].period;
                const auto j = static_cast<std::size_t>((start + static_cast<std::int64_t>(done)) % own);
                run = std::min(run, static_cast<std::size_t>(own) - j);
                pointers[inputs + written + r] = rows[r] + j;
            }
            for (std::size_t k = 0; k < base.size(); ++k) pointers[k] = base[k] + done;
            function(pointers.data(), run, 0);
            done += run;
        }
    }
}

template <class T> void run_region(const Program::Plan& plan, const Region& region, NativeFunction function, std::vector<Tensor>& values) {
    const std::int64_t n = region.shape.numel();
    for (const Materialized& m : region.materialized) {
        // Written in full, block by block: no need to zero them first.
        values[m.node] = Tensor::empty(plan.index.node(m.node)->shape(), region.dtype);
    }
    std::size_t row_length = 0;
    for (const Reduction& r : region.reductions) row_length += static_cast<std::size_t>(r.period);
    // Chunks of whole blocks, one per thread; tiny regions are not worth splitting.
    const auto block = static_cast<std::int64_t>(plan.block);
    const std::int64_t blocks = (n + block - 1) / block;
    constexpr std::int64_t min_chunk_elements = 16384;
    const auto chunks = static_cast<std::size_t>(
        std::clamp<std::int64_t>(std::min<std::int64_t>(blocks, n / min_chunk_elements), 1, static_cast<std::int64_t>(plan.threads)));
    const std::int64_t blocks_per_chunk = (blocks + static_cast<std::int64_t>(chunks) - 1) / static_cast<std::int64_t>(chunks);
    std::vector<std::vector<double>> acc(chunks, std::vector<double>(row_length, 0.0));
    parallel_for(chunks, plan.threads, [&](std::size_t c) {
        const std::int64_t begin = std::min(n, static_cast<std::int64_t>(c) * blocks_per_chunk * block);
        const std::int64_t end = std::min(n, begin + blocks_per_chunk * block);
        if (function != nullptr) {
            run_chunk_native<T>(plan, region, function, values, begin, end, acc[c]);
        } else {
            run_chunk<T>(plan, region, values, begin, end, acc[c]);
        }
    });
    std::size_t row_offset = 0;
    for (const Reduction& r : region.reductions) {
        // The chunks' rows added in chunk order, then folded from period to groups (reduce_order.hpp).
        std::vector<double> total(acc[0].begin() + static_cast<std::ptrdiff_t>(row_offset),
                                  acc[0].begin() + static_cast<std::ptrdiff_t>(row_offset) + r.period);
        for (std::size_t c = 1; c < chunks; ++c) {
            for (std::int64_t k = 0; k < r.period; ++k)
                total[static_cast<std::size_t>(k)] += acc[c][row_offset + static_cast<std::size_t>(k)];
        }
        Tensor out(plan.index.node(r.node)->shape(), region.dtype);
        fold_accumulators(total.data(), r.period, r.groups, [&](std::int64_t j, double sum) { out.set(j, sum * r.scale); });
        values[r.node] = std::move(out);
        row_offset += static_cast<std::size_t>(r.period);
    }
}

}  // namespace

namespace {

// Says once per process, on stderr, why the native backend does not run (a compile failure each time: it is a bug).
void explain_fallback(const std::string& why) {
    static std::mutex mutex;
    static bool said = false;
    std::lock_guard lock(mutex);
    if (said && why.find("failed") == std::string::npos) return;
    said = true;
    std::fputs(fmt::format("symgrad: the native backend is not used ({}); the interpreter runs\n", why).c_str(), stderr);
}

// Builds a plan's native kernels (from the cache, or by compiling); the caller holds the state's mutex.
void build_native_kernels(const Program::Plan& plan) {
    NativeState& state = plan.native;
    NativeReport& report = state.report;
    if (plan.backend == Backend::interpreter || plan.regions.empty()) {
        state.settled = true;
        return;
    }
    const NativeBuild build = build_native(native_source(plan), native_toolchain(plan.kernels->isa), true);
    report.compiled = build.compiled;
    report.from_cache = build.from_cache;
    report.milliseconds = build.milliseconds;
    report.why_not = build.why_not;
    if (build.module) {
        for (std::size_t k = 0; k < plan.regions.size(); ++k) {
            auto* function = reinterpret_cast<NativeFunction>(build.module->symbol(fmt::format("symgrad_region_{}", k)));
            if (function == nullptr) {
                report.why_not = fmt::format("the compiled kernels lack symgrad_region_{}", k);
                state.functions.clear();
                break;
            }
            state.functions.push_back(function);
        }
    }
    if (report.why_not.empty()) {
        state.module = build.module;
        report.native = true;
        state.ready.store(true, std::memory_order_release);
    } else {
        explain_fallback(report.why_not);
    }
    state.settled = true;
}

// Whether this run's regions run native code: builds the kernels when the backend asks for them now.
bool use_native(const Program::Plan& plan) {
    NativeState& state = plan.native;
    if (state.ready.load(std::memory_order_acquire)) return true;
    if (state.settled.load(std::memory_order_acquire) || plan.backend == Backend::interpreter) return false;
    if (plan.backend == Backend::automatic) {
        std::int64_t elements = 0;
        for (const Region& region : plan.regions) elements += region.shape.numel();
        if (state.elements.fetch_add(elements) + elements < plan.native_after) return false;
    }
    // One thread builds; a run on another thread meanwhile uses the interpreter.
    std::unique_lock lock(state.mutex, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    if (!state.settled) build_native_kernels(plan);
    return state.ready.load(std::memory_order_acquire);
}

}  // namespace

}  // namespace detail

std::string_view Program::backend() const { return plan_->native.ready.load() ? "native" : "interpreter"; }

NativeReport Program::prepare_native() const {
    detail::NativeState& state = plan_->native;
    std::lock_guard lock(state.mutex);
    if (!state.settled) detail::build_native_kernels(*plan_);
    return state.report;
}

std::string Program::native_source() const { return detail::native_source(*plan_); }

std::vector<Tensor> Program::run(const Bindings& bindings) const {
    const Plan& plan = *plan_;
    std::vector<Tensor> values(plan.index.size());
    std::vector<Tensor> operands;
    const bool native = detail::use_native(plan);
    for (const detail::Step& step : plan.steps) {
        if (step.region >= 0) {
            const auto r = static_cast<std::size_t>(step.region);
            const detail::Region& region = plan.regions[r];
            const detail::NativeFunction function = native ? plan.native.functions[r] : nullptr;
            if (region.dtype == DType::float32) {
                detail::run_region<float>(plan, region, function, values);
            } else {
                detail::run_region<double>(plan, region, function, values);
            }
        } else if (step.is_blas_matmul()) {
            const Node& node = *plan.index.node(step.node);
            values[step.node] = detail::blas_matmul(node.shape(), node.dtype(), values[step.matmul[0].source], step.matmul[0].transposed,
                                                    values[step.matmul[1].source], step.matmul[1].transposed, plan.threads);
        } else {
            operands.clear();
            for (const auto operand : plan.index.operands(step.node)) operands.push_back(values[operand]);
            values[step.node] = evaluate_node(*plan.index.node(step.node), operands, bindings);
        }
        for (const auto i : step.release_after) values[i] = Tensor();
    }
    std::vector<Tensor> result;
    for (const auto& out : plan.outputs) result.push_back(values[plan.index.position(out.get())]);
    return result;
}

}  // namespace symgrad
