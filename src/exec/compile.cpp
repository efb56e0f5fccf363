// The planner and the blocked, fused executor.
//
// Planning: every node gets a stage. A leaf is stage 0; a structural node is one more than its latest
// operand; an elementwise node shares the stage of an operand that is elementwise and of its own shape, and is
// one more than any other operand. Elementwise nodes with the same stage and shape form one region. A region
// only reads values of earlier stages (or its own nodes), so running stages in order needs no other analysis,
// and no region can depend on itself through a reduction.
//
// Running a region: for each block of elements, each node of the region runs its table row's block kernel
// over a register of `block` elements; operands are registers of the region, or materialized values (read in
// place when they have the region's shape, gathered through broadcast strides otherwise). Values used outside
// their region, and the outputs, are written out.
//
// Reductions fused into a region: a sum or mean over leading axes (the per-unit parameter gradient's sum over the
// batch) of a value of the region's shape is accumulated block by block in the region's pass, in double and in
// the reference evaluator's order, instead of being written out and read again. Its operand is a register of the
// region, or a value the region's stage can read.
//
// Threads: a region's elements are split into contiguous chunks of whole blocks, one task each. A fused
// reduction keeps one row of accumulators per chunk and adds the rows in chunk order, so a given thread count
// always gives the same bits; with one thread they are the reference evaluator's bits.
#include "symgrad/compile.hpp"

#include <algorithm>
#include <limits>
#include <list>
#include <map>
#include <mutex>

#include "exec/blas_matmul.hpp"
#include "exec/kernels_isa.hpp"
#include "math/reduce_order.hpp"
#include "exec/thread_pool.hpp"

namespace symgrad {

namespace {

constexpr std::uint32_t none = static_cast<std::uint32_t>(-1);

// An operand is a register of the region (the instruction that computed it) or a materialized value.
struct Source {
    bool in_region = false;
    std::uint32_t index = none;  // register slot, or position in the graph index
};

struct Instruction {
    const OpInfo* info;
    detail::BlockKernel<float> kernel32;
    detail::BlockKernel<double> kernel64;
    std::uint32_t node;  // position in the index
    std::array<Source, max_arity> source;
    std::array<std::int32_t, max_arity> scratch{-1, -1, -1};  // scratch slot for a gathered operand
    std::size_t arity = 0;
    bool fused_away = false;  // computed inside its only reader (a pair kernel); its register is unused
};

// A sum or mean over leading axes computed in a region's pass.
struct Reduction {
    std::uint32_t node;  // the reduction's position in the index
    Source source;       // what it sums: a register, or a value of the region's shape
    std::int64_t groups; // elements of the result
    std::int64_t period; // accumulators (reduce_order.hpp): the length of the row kept per chunk
    double scale;        // 1 for sum, 1/count for mean
};

struct Region {
    Shape shape;
    DType dtype;
    std::vector<Instruction> instructions;
    std::vector<Reduction> reductions;
    std::vector<std::uint32_t> materialize;  // register slots whose values leave the region
    std::vector<std::uint32_t> materialize_node;  // and their positions in the graph index
    // Values of another shape, gathered (broadcast) into a scratch block each: one slot per value, however many
    // instructions read it. An invariant one (a scalar, or a per-unit value whose period divides the block)
    // is the same in every block and is gathered once per chunk.
    std::vector<std::uint32_t> gathered;
    std::vector<char> invariant;
};

// Registers cost a block of memory per instruction, so a region holds at most this many; a longer run of
// elementwise nodes continues in the next region, which reads what it needs written out.
constexpr std::size_t max_region_instructions = 128;

// One step of the plan: a region, or a single node evaluated by the reference kernels, or a matrix product
// by BLAS, which reads an operand that is a transpose of the last two axes through that transpose.
struct Step {
    std::uint32_t stage;
    std::int64_t region = -1;  // index into regions, or -1
    std::uint32_t node = none;
    std::array<std::uint32_t, 2> matmul_source{none, none};  // what a matmul reads, by position in the index
    std::array<bool, 2> transposed{false, false};
};

// Whether node is a permute that swaps the last two axes and keeps the others.
bool swaps_last_two_axes(const Node& node) {
    if (node.op() != Op::permute) return false;
    const auto& perm = node.attrs().ints;
    const std::size_t r = perm.size();
    if (r < 2 || perm[r - 1] != static_cast<std::int64_t>(r - 2) || perm[r - 2] != static_cast<std::int64_t>(r - 1)) return false;
    for (std::size_t i = 0; i + 2 < r; ++i) {
        if (perm[i] != static_cast<std::int64_t>(i)) return false;
    }
    return true;
}

// Whether a reduction's axes are its operand's leading axes: then its result's element j sums the elements
// j, j + groups, j + 2 groups, ... of the operand, in that order.
bool over_leading_axes(const Node& node) {
    const auto& axes = node.attrs().ints;
    for (std::size_t i = 0; i < axes.size(); ++i) {
        if (axes[i] != static_cast<std::int64_t>(i)) return false;
    }
    return true;
}

// Whether a value of shape `value`, broadcast to `shape`, gives the same elements in every block of `block`
// elements: a scalar, or a value that matches a trailing part of the shape (a per-unit parameter), whose
// elements repeat with a period of its size.
bool block_invariant(const Shape& value, const Shape& shape, std::size_t block) {
    if (value.numel() == 1) return true;
    if (value.numel() == 0) return false;
    const std::size_t pad = shape.rank() - value.rank();
    std::size_t first = shape.rank();  // the first axis where the value is not 1
    for (std::size_t i = 0; i < value.rank(); ++i) {
        if (value[i] != 1) {
            first = pad + i;
            break;
        }
    }
    for (std::size_t i = first; i < shape.rank(); ++i) {
        if (value[i - pad] != shape[i]) return false;
    }
    return block % static_cast<std::size_t>(value.numel()) == 0;
}

// The scratch slot of value o in region, added on first use.
std::int32_t gather_slot(Region& region, std::uint32_t o, const Shape& value_shape, std::size_t block) {
    for (std::size_t g = 0; g < region.gathered.size(); ++g) {
        if (region.gathered[g] == o) return static_cast<std::int32_t>(g);
    }
    region.gathered.push_back(o);
    region.invariant.push_back(block_invariant(value_shape, region.shape, block) ? 1 : 0);
    return static_cast<std::int32_t>(region.gathered.size() - 1);
}

// Fuses an add, sub, mul or div into the one instruction that reads it when that reader is one of them too and
// the value is needed nowhere else (not written out, not reduced): the reader becomes a pair kernel of three
// operands and the value never touches memory. Done after the regions' outputs and reductions are known.
void fuse_pairs(Region& region, const detail::KernelSet& kernels) {
    const std::size_t width = region.instructions.size();
    std::vector<std::uint32_t> readers(width, 0);
    for (const auto& ins : region.instructions) {
        for (std::size_t a = 0; a < ins.arity; ++a) {
            if (ins.source[a].in_region) ++readers[ins.source[a].index];
        }
    }
    for (const auto slot : region.materialize) readers[slot] += 2;  // never fused away
    for (const auto& r : region.reductions) {
        if (r.source.in_region) readers[r.source.index] += 2;
    }
    for (auto& reader : region.instructions) {
        if (reader.arity != 2) continue;
        for (int position = 0; position < 2; ++position) {
            const Source& s = reader.source[static_cast<std::size_t>(position)];
            if (!s.in_region || readers[s.index] != 1) continue;
            Instruction& inner = region.instructions[s.index];
            if (inner.arity != 2 || inner.fused_away || inner.kernel32 != kernels.f32[static_cast<std::size_t>(inner.info->op)]) continue;
            if (reader.kernel32 != kernels.f32[static_cast<std::size_t>(reader.info->op)]) continue;
            const int pair = detail::pair_index(inner.info->op, reader.info->op, position);
            if (pair < 0) continue;
            const std::size_t other = position == 0 ? 1 : 0;
            reader.kernel32 = kernels.pair32[static_cast<std::size_t>(pair)];
            reader.kernel64 = kernels.pair64[static_cast<std::size_t>(pair)];
            const Source c = reader.source[other];
            const std::int32_t c_scratch = reader.scratch[other];
            reader.source = {inner.source[0], inner.source[1], c};
            reader.scratch = {inner.scratch[0], inner.scratch[1], c_scratch};
            reader.arity = 3;
            inner.fused_away = true;
            break;
        }
    }
}

}  // namespace

struct Program::Plan {
    GraphIndex index;
    std::vector<Expr> outputs;
    std::vector<Region> regions;
    std::vector<Step> steps;
    std::vector<std::vector<std::uint32_t>> release_after;  // per step: values nothing later reads
    std::size_t block;
    std::size_t threads;
    const detail::KernelSet* kernels;
};

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

// The elements [begin, end) of a region: its instructions block by block, writing out what leaves the region and
// adding fused reductions' operands into acc (one row of accumulators per reduction, each `period` long).
template <class T>
void run_chunk(const Program::Plan& plan, const Region& region, std::vector<Tensor>& values, std::int64_t begin, std::int64_t end,
               std::vector<double>& acc) {
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
    for (std::size_t g = 0; g < slots; ++g) {
        if (!region.invariant[g]) continue;
        const auto first = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(block), end - begin));
        gather<T>(values[region.gathered[g]], region.shape, begin, first, scratch + block * g);
    }
    const auto accumulate = [&] {
        if constexpr (std::is_same_v<T, float>) {
            return plan.kernels->accumulate32;
        } else {
            return plan.kernels->accumulate64;
        }
    }();
    // Where each instruction writes: its register, or, for a value that leaves the region, the value itself
    // (later instructions read it back while it is still in cache; no copy).
    std::vector<T*> destination(width);
    for (std::int64_t start = begin; start < end; start += static_cast<std::int64_t>(block)) {
        const std::size_t count = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(block), end - start));
        for (std::size_t k = 0; k < width; ++k) destination[k] = registers + block * k;
        for (std::size_t g = 0; g < slots; ++g) {
            if (!region.invariant[g]) gather<T>(values[region.gathered[g]], region.shape, start, count, scratch + block * g);
        }
        for (std::size_t m = 0; m < region.materialize.size(); ++m) {
            destination[region.materialize[m]] = values[region.materialize_node[m]].template data<T>() + start;
        }
        for (std::size_t k = 0; k < width; ++k) {
            const Instruction& ins = region.instructions[k];
            if (ins.fused_away) continue;
            const T* operands[max_arity] = {zeros, zeros, zeros};
            for (std::size_t a = 0; a < ins.arity; ++a) {
                const Source& source = ins.source[a];
                if (source.in_region) {
                    operands[a] = destination[source.index];
                } else if (ins.scratch[a] < 0) {
                    operands[a] = values[source.index].data<T>() + start;  // same shape: read in place
                } else {
                    operands[a] = scratch + block * static_cast<std::size_t>(ins.scratch[a]);
                }
            }
            T* out = destination[k];
            if constexpr (std::is_same_v<T, float>) {
                ins.kernel32(out, operands[0], operands[1], operands[2], count);
            } else {
                ins.kernel64(out, operands[0], operands[1], operands[2], count);
            }
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

template <class T> void run_region(const Program::Plan& plan, const Region& region, std::vector<Tensor>& values) {
    const std::int64_t n = region.shape.numel();
    for (std::size_t m = 0; m < region.materialize.size(); ++m) {
        // Written in full, block by block: no need to zero them first.
        values[region.materialize_node[m]] = Tensor::empty(plan.index.node(region.materialize_node[m])->shape(), region.dtype);
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
    detail::parallel_for(chunks, plan.threads, [&](std::size_t c) {
        const std::int64_t begin = std::min(n, static_cast<std::int64_t>(c) * blocks_per_chunk * block);
        const std::int64_t end = std::min(n, begin + blocks_per_chunk * block);
        run_chunk<T>(plan, region, values, begin, end, acc[c]);
    });
    std::size_t row_offset = 0;
    for (const Reduction& r : region.reductions) {
        // The chunks' rows added in chunk order, then folded from period to groups (reduce_order.hpp).
        std::vector<double> total(acc[0].begin() + static_cast<std::ptrdiff_t>(row_offset),
                                  acc[0].begin() + static_cast<std::ptrdiff_t>(row_offset) + r.period);
        for (std::size_t c = 1; c < chunks; ++c) {
            for (std::int64_t k = 0; k < r.period; ++k) total[static_cast<std::size_t>(k)] += acc[c][row_offset + static_cast<std::size_t>(k)];
        }
        Tensor out(plan.index.node(r.node)->shape(), region.dtype);
        detail::fold_accumulators(total.data(), r.period, r.groups, [&](std::int64_t j, double sum) { out.set(j, sum * r.scale); });
        values[r.node] = std::move(out);
        row_offset += static_cast<std::size_t>(r.period);
    }
}

}  // namespace

Program compile(std::span<const Expr> outputs, const CompileOptions& options) {
    for (const auto& out : outputs) {
        if (!out) throw Error("compile: an output is an empty Expr");
    }
    auto plan = std::make_shared<Program::Plan>();
    plan->index = index_graph(outputs);
    plan->outputs.assign(outputs.begin(), outputs.end());
    plan->block = std::max<std::size_t>(options.block, 1);
    if (options.threads > max_threads) {
        throw Error(fmt::format("threads = {}: choose 0 (one per hardware thread) to {}", options.threads, max_threads));
    }
    plan->threads = options.threads == 0 ? detail::hardware_threads() : options.threads;
    plan->kernels = &detail::kernel_set(options.isa);
    const GraphIndex& index = plan->index;

    // Stages (see the comment at the top).
    std::vector<std::uint32_t> stage(index.size(), 0);
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        const OpClass kind = op_info(node.op()).kind;
        if (kind == OpClass::leaf) continue;
        std::uint32_t s = 0;
        for (const auto operand : index.operands(i)) {
            const Node& o = *index.node(operand);
            const bool joins = kind == OpClass::elementwise && op_info(o.op()).kind == OpClass::elementwise && o.shape() == node.shape();
            s = std::max(s, joins ? stage[operand] : stage[operand] + 1);
        }
        stage[i] = s;
    }

    // Regions: elementwise nodes by (stage, shape), in topological order within each, at most
    // max_region_instructions each.
    std::map<std::pair<std::uint32_t, std::vector<std::int64_t>>, std::size_t> open_region;
    std::vector<std::int64_t> region_of(index.size(), -1);
    std::vector<std::uint32_t> slot_of(index.size(), none);
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        const OpInfo& info = op_info(node.op());
        if (info.kind != OpClass::elementwise) {
            plan->steps.push_back({stage[i], -1, static_cast<std::uint32_t>(i)});
            continue;
        }
        const auto key = std::make_pair(stage[i], node.shape().dims());
        auto it = open_region.find(key);
        if (it == open_region.end() || plan->regions[it->second].instructions.size() >= max_region_instructions) {
            const std::size_t r = plan->regions.size();
            plan->regions.push_back({node.shape(), node.dtype(), {}, {}, {}, {}, {}, {}});
            plan->steps.push_back({stage[i], static_cast<std::int64_t>(r), none});
            it = open_region.insert_or_assign(key, r).first;
        }
        Region& region = plan->regions[it->second];
        const auto op = static_cast<std::size_t>(node.op());
        Instruction ins{&info, plan->kernels->f32[op], plan->kernels->f64[op], static_cast<std::uint32_t>(i), {}, {-1, -1, -1}, info.arity};
        if (node.op() == Op::pow && node.input(1).node().is_scalar_constant()) {
            // x^2 and x^3: the products the pow kernel computes for these exponents, without its library call.
            const double exponent = node.input(1).node().scalar_value();
            if (exponent == 2.0) {
                ins.kernel32 = plan->kernels->square32;
                ins.kernel64 = plan->kernels->square64;
            } else if (exponent == 3.0) {
                ins.kernel32 = plan->kernels->cube32;
                ins.kernel64 = plan->kernels->cube64;
            }
        }
        const auto operands = index.operands(i);
        for (std::size_t a = 0; a < operands.size(); ++a) {
            const std::uint32_t o = operands[a];
            if (region_of[o] == static_cast<std::int64_t>(it->second)) {
                ins.source[a] = {true, slot_of[o]};
            } else {
                ins.source[a] = {false, o};
                if (index.node(o)->shape() != node.shape()) ins.scratch[a] = gather_slot(region, o, index.node(o)->shape(), plan->block);
            }
        }
        slot_of[i] = static_cast<std::uint32_t>(region.instructions.size());
        region.instructions.push_back(ins);
        region_of[i] = static_cast<std::int64_t>(it->second);
    }
    // Reductions over leading axes join the region of their operand, or (for an operand that is not elementwise,
    // such as the output gradient) a region of its shape at their own stage: that region runs after the operand
    // is known and before anything reads the reduction.
    std::vector<std::int64_t> reduced_in(index.size(), -1);
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if ((node.op() != Op::sum && node.op() != Op::mean) || !over_leading_axes(node)) continue;
        const std::uint32_t o = index.operands(i)[0];
        const Node& operand = *index.node(o);
        std::int64_t r = region_of[o];
        if (r < 0) {
            const auto it = open_region.find(std::make_pair(stage[i], operand.shape().dims()));
            if (it != open_region.end()) r = static_cast<std::int64_t>(it->second);
        }
        if (r < 0) continue;
        Region& region = plan->regions[static_cast<std::size_t>(r)];
        if (region.dtype != node.dtype() || region.shape != operand.shape()) continue;
        const std::int64_t groups = node.shape().numel();
        if (groups == 0) continue;  // nothing to accumulate into: left to the reference kernel
        double scale = 1.0;
        if (node.op() == Op::mean) {
            // As the reference evaluator: the mean of nothing is NaN.
            const std::int64_t count = operand.shape().numel() / groups;
            scale = count == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / static_cast<double>(count);
        }
        const Source source = region_of[o] == r ? Source{true, slot_of[o]} : Source{false, o};
        region.reductions.push_back({static_cast<std::uint32_t>(i), source, groups, detail::accumulation_period(groups), scale});
        reduced_in[i] = r;
    }
    std::erase_if(plan->steps, [&](const Step& step) { return step.region < 0 && reduced_in[step.node] >= 0; });
    // Matrix products: BLAS reads a transposed operand through its transpose, and a transpose that only matrix
    // products read is never materialized.
    std::vector<std::uint32_t> readers(index.size(), 0);
    std::vector<std::uint32_t> bypassing(index.size(), 0);
    for (std::size_t i = 0; i < index.size(); ++i) {
        for (const auto operand : index.operands(i)) ++readers[operand];
    }
    for (auto& step : plan->steps) {
        if (!options.blas || step.region >= 0 || index.node(step.node)->op() != Op::matmul) continue;
        const auto operands = index.operands(step.node);
        for (std::size_t k = 0; k < 2; ++k) {
            const Node& operand = *index.node(operands[k]);
            if (swaps_last_two_axes(operand)) {
                step.matmul_source[k] = index.operands(operands[k])[0];
                step.transposed[k] = true;
                ++bypassing[operands[k]];
            } else {
                step.matmul_source[k] = operands[k];
            }
        }
    }
    std::vector<char> is_output(index.size(), 0);
    for (const auto& out : outputs) is_output[index.position(out.get())] = 1;
    std::erase_if(plan->steps, [&](const Step& step) {
        return step.region < 0 && bypassing[step.node] > 0 && bypassing[step.node] == readers[step.node] && !is_output[step.node];
    });
    // A region writes out what a later step, another region or the caller reads (a reduction it computes itself
    // reads its registers).
    std::vector<char> needed_outside(index.size(), 0);
    for (std::size_t i = 0; i < index.size(); ++i) {
        const std::int64_t here = reduced_in[i] >= 0 ? reduced_in[i] : region_of[i];
        for (const auto operand : index.operands(i)) {
            if (region_of[operand] >= 0 && region_of[operand] != here) needed_outside[operand] = 1;
        }
    }
    for (const auto& out : outputs) needed_outside[index.position(out.get())] = 1;
    for (std::size_t i = 0; i < index.size(); ++i) {
        if (region_of[i] < 0 || !needed_outside[i]) continue;
        Region& region = plan->regions[static_cast<std::size_t>(region_of[i])];
        region.materialize.push_back(slot_of[i]);
        region.materialize_node.push_back(static_cast<std::uint32_t>(i));
    }
    for (Region& region : plan->regions) fuse_pairs(region, *plan->kernels);
    std::stable_sort(plan->steps.begin(), plan->steps.end(), [](const Step& a, const Step& b) { return a.stage < b.stage; });
    // Each value is released after the last step that reads it (outputs are kept), so memory is returned as
    // the run goes, as in the reference evaluator.
    constexpr std::size_t never = static_cast<std::size_t>(-1);
    std::vector<std::size_t> last_read(index.size(), 0);
    for (std::size_t k = 0; k < plan->steps.size(); ++k) {
        const Step& step = plan->steps[k];
        if (step.matmul_source[0] != none) {
            for (const auto source : step.matmul_source) last_read[source] = k;
            // A transpose it bypasses but that is still computed (something else reads it) is read here too.
            for (const auto operand : index.operands(step.node)) last_read[operand] = std::max(last_read[operand], k);
            continue;
        }
        if (step.region < 0) {
            for (const auto operand : index.operands(step.node)) last_read[operand] = k;
            continue;
        }
        const Region& region = plan->regions[static_cast<std::size_t>(step.region)];
        for (const auto& ins : region.instructions) {
            for (std::size_t a = 0; a < ins.arity; ++a) {
                if (!ins.source[a].in_region) last_read[ins.source[a].index] = k;
            }
        }
        for (const auto& r : region.reductions) {
            if (!r.source.in_region) last_read[r.source.index] = k;
        }
    }
    for (const auto& out : outputs) last_read[index.position(out.get())] = never;
    plan->release_after.resize(plan->steps.size());
    for (std::size_t i = 0; i < index.size(); ++i) {
        if (last_read[i] != never) plan->release_after[last_read[i]].push_back(static_cast<std::uint32_t>(i));
    }
    Program program;
    program.plan_ = std::move(plan);
    return program;
}

std::vector<Tensor> Program::run(const Bindings& bindings) const {
    const Plan& plan = *plan_;
    std::vector<Tensor> values(plan.index.size());
    std::vector<Tensor> operands;
    for (std::size_t k = 0; k < plan.steps.size(); ++k) {
        const Step& step = plan.steps[k];
        if (step.region >= 0) {
            const Region& region = plan.regions[static_cast<std::size_t>(step.region)];
            if (region.dtype == DType::float32) {
                run_region<float>(plan, region, values);
            } else {
                run_region<double>(plan, region, values);
            }
        } else if (step.matmul_source[0] != none) {
            const Node& node = *plan.index.node(step.node);
            values[step.node] = detail::blas_matmul(node.shape(), node.dtype(), values[step.matmul_source[0]], step.transposed[0],
                                                    values[step.matmul_source[1]], step.transposed[1], plan.threads);
        } else {
            operands.clear();
            for (const auto operand : plan.index.operands(step.node)) operands.push_back(values[operand]);
            values[step.node] = evaluate_node(*plan.index.node(step.node), operands, bindings);
        }
        for (const auto i : plan.release_after[k]) values[i] = Tensor();
    }
    std::vector<Tensor> result;
    for (const auto& out : plan.outputs) result.push_back(values[plan.index.position(out.get())]);
    return result;
}

namespace {

struct CacheKey {
    std::vector<const Node*> outputs;
    std::string isa;
    std::size_t block;
    std::size_t threads;
    bool blas;
    bool operator==(const CacheKey&) const = default;
};

// A small most-recently-used list: a linear scan over 64 keys costs less than the run it saves.
class ProgramCache {
public:
    Program get(std::span<const Expr> outputs, const CompileOptions& options) {
        CacheKey key{{}, options.isa, options.block, options.threads, options.blas};
        for (const auto& out : outputs) key.outputs.push_back(out.get());
        {
            std::lock_guard lock(mutex_);
            for (auto it = entries_.begin(); it != entries_.end(); ++it) {
                if (it->first == key) {
                    entries_.splice(entries_.begin(), entries_, it);
                    return entries_.front().second;
                }
            }
        }
        // Compiled outside the lock; a program holds its outputs, so the keys' nodes stay alive while cached.
        Program program = compile(outputs, options);
        std::lock_guard lock(mutex_);
        entries_.emplace_front(std::move(key), program);
        if (entries_.size() > capacity) entries_.pop_back();
        return program;
    }

private:
    static constexpr std::size_t capacity = 64;
    std::mutex mutex_;
    std::list<std::pair<CacheKey, Program>> entries_;
};

}  // namespace

Program compile_cached(std::span<const Expr> outputs, const CompileOptions& options) {
    static ProgramCache cache;
    return cache.get(outputs, options);
}

std::vector<Tensor> run_compiled(std::span<const Expr> outputs, const Bindings& bindings, const CompileOptions& options) {
    return compile_cached(outputs, options).run(bindings);
}

Tensor run_compiled(const Expr& output, const Bindings& bindings, const CompileOptions& options) {
    const Expr outputs[] = {output};
    return run_compiled(outputs, bindings, options)[0];
}

std::size_t Program::region_count() const {
    return plan_->regions.size();
}

std::size_t Program::fused_pair_count() const {
    std::size_t count = 0;
    for (const auto& region : plan_->regions) {
        for (const auto& ins : region.instructions) count += ins.fused_away ? 1 : 0;
    }
    return count;
}

std::size_t Program::step_count() const {
    return plan_->steps.size();
}

std::string_view Program::instruction_set() const {
    return plan_->kernels->isa;
}

std::vector<std::string> available_instruction_sets() {
    const auto isas = detail::available_isas();
    return {isas.begin(), isas.end()};
}

std::string resolve_instruction_set(const std::string& isa) {
    return std::string(detail::kernel_set(isa).isa);
}

std::string Program::describe() const {
    const Plan& plan = *plan_;
    std::string text;
    for (const Step& step : plan.steps) {
        if (step.region < 0) {
            const Node& node = *plan.index.node(step.node);
            if (!node.is_leaf()) text += fmt::format("stage {}: {} {}\n", step.stage, op_info(node.op()).name, node.shape());
            continue;
        }
        const Region& region = plan.regions[static_cast<std::size_t>(step.region)];
        std::vector<std::string_view> names;
        for (const auto& ins : region.instructions) names.push_back(ins.info->name);  // fused pairs still list both
        std::vector<std::string> reductions;
        for (const auto& r : region.reductions) {
            const Node& node = *plan.index.node(r.node);
            reductions.push_back(fmt::format("{} {}", op_info(node.op()).name, node.shape()));
        }
        text += fmt::format("stage {}: fused {} over {} ({}), writes {}", step.stage, region.instructions.size(), region.shape,
                            fmt::join(names, " "), region.materialize.size());
        text += reductions.empty() ? "\n" : fmt::format(", reduces ({})\n", fmt::join(reductions, ", "));
    }
    return text;
}

}  // namespace symgrad
