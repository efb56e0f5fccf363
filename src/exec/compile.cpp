// compile(): the planner. plan.hpp says what a plan is; its passes are the functions below, run by compile() in
// order, and executor.cpp runs the result.
#include "symgrad/compile.hpp"

#include <algorithm>
#include <limits>
#include <list>
#include <map>
#include <mutex>

#include "exec/plan.hpp"
#include "exec/thread_pool.hpp"
#include "math/reduce_order.hpp"

namespace symgrad {

namespace detail {

namespace {

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
        if (region.gathered[g].node == o) return static_cast<std::int32_t>(g);
    }
    region.gathered.push_back({o, block_invariant(value_shape, region.shape, block)});
    return static_cast<std::int32_t>(region.gathered.size() - 1);
}

// Pass 6: fuses an add, sub, mul or div into the one instruction that reads it when that reader is one of them too and
// the value is needed nowhere else (not written out, not reduced): the reader becomes a pair kernel of three
// operands and the value never touches memory. Done after the regions' outputs and reductions are known.
void fuse_pairs(Region& region, const KernelSet& kernels) {
    const std::size_t width = region.instructions.size();
    std::vector<std::uint32_t> readers(width, 0);
    for (const auto& ins : region.instructions) {
        for (std::size_t a = 0; a < ins.arity; ++a) {
            if (ins.source[a].in_region) ++readers[ins.source[a].index];
        }
    }
    for (const Materialized& m : region.materialized) readers[m.slot] += 2;  // never fused away
    for (const auto& r : region.reductions) {
        if (r.source.in_region) readers[r.source.index] += 2;
    }
    for (auto& reader : region.instructions) {
        if (reader.arity != 2) continue;
        for (int position = 0; position < 2; ++position) {
            const Source& s = reader.source[static_cast<std::size_t>(position)];
            if (!s.in_region || readers[s.index] != 1) continue;
            Instruction& inner = region.instructions[s.index];
            if (inner.arity != 2 || inner.fused_away || inner.kind != KernelKind::row || reader.kind != KernelKind::row) continue;
            const int pair = pair_index(inner.info->op, reader.info->op, position);
            if (pair < 0) continue;
            const std::size_t other = position == 0 ? 1 : 0;
            reader.kind = KernelKind::pair;
            reader.kernel32 = kernels.pair32[static_cast<std::size_t>(pair)];
            reader.kernel64 = kernels.pair64[static_cast<std::size_t>(pair)];
            reader.pair_source = {inner.source[0], inner.source[1], reader.source[other]};
            reader.pair_scratch = {inner.scratch[0], inner.scratch[1], reader.scratch[other]};
            inner.fused_away = true;
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The passes
// ---------------------------------------------------------------------------------------------

// Pass 1: each node's stage (plan.hpp).
std::vector<std::uint32_t> assign_stages(const GraphIndex& index) {
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
    return stage;
}

// Where pass 2 put each node.
struct Placement {
    std::vector<std::uint32_t> stage;
    // The region of each elementwise node (-1 for others), and its register slot there.
    std::vector<std::int64_t> region_of;
    std::vector<std::uint32_t> slot_of;
    // The region still taking instructions for each stage and shape.
    std::map<std::pair<std::uint32_t, std::vector<std::int64_t>>, std::size_t> open_region;
    // The region a fused reduction (pass 3) is computed in, else -1.
    std::vector<std::int64_t> reduced_in;
};

// An elementwise node as an instruction: the row's block kernel, or its cheaper variant.
Instruction make_instruction(const Node& node, std::uint32_t position, const KernelSet& kernels) {
    const OpInfo& info = op_info(node.op());
    const auto op = static_cast<std::size_t>(node.op());
    Instruction ins{.info = &info,
                    .kind = KernelKind::row,
                    .kernel32 = kernels.f32[op],
                    .kernel64 = kernels.f64[op],
                    .node = position,
                    .arity = info.arity};
    if (const int n = product_power(info.variant_of(node)); n > 0) {
        ins.kind = KernelKind::variant;
        ins.kernel32 = kernels.power32[static_cast<std::size_t>(n)];
        ins.kernel64 = kernels.power64[static_cast<std::size_t>(n)];
    }
    return ins;
}

// Pass 2: elementwise nodes into regions by (stage, shape), in topological order within each, at most
// max_region_instructions each; every other node becomes a step of its own.
Placement form_regions(Program::Plan& plan, std::vector<std::uint32_t> stage) {
    const GraphIndex& index = plan.index;
    Placement placed{std::move(stage),
                     std::vector<std::int64_t>(index.size(), -1),
                     std::vector<std::uint32_t>(index.size(), none),
                     {},
                     std::vector<std::int64_t>(index.size(), -1)};
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        const std::uint32_t node_stage = placed.stage[i];
        if (op_info(node.op()).kind != OpClass::elementwise) {
            plan.steps.push_back(
                Step{.stage = node_stage, .region = -1, .node = static_cast<std::uint32_t>(i), .matmul = {}, .release_after = {}});
            continue;
        }
        const auto key = std::make_pair(node_stage, node.shape().dims());
        auto it = placed.open_region.find(key);
        if (it == placed.open_region.end() || plan.regions[it->second].instructions.size() >= max_region_instructions) {
            const std::size_t r = plan.regions.size();
            plan.regions.push_back({node.shape(), node.dtype(), {}, {}, {}, {}, {}});
            plan.steps.push_back(
                Step{.stage = node_stage, .region = static_cast<std::int64_t>(r), .node = none, .matmul = {}, .release_after = {}});
            it = placed.open_region.insert_or_assign(key, r).first;
        }
        Region& region = plan.regions[it->second];
        Instruction ins = make_instruction(node, static_cast<std::uint32_t>(i), *plan.kernels);
        const auto operands = index.operands(i);
        for (std::size_t a = 0; a < operands.size(); ++a) {
            const std::uint32_t o = operands[a];
            if (placed.region_of[o] == static_cast<std::int64_t>(it->second)) {
                ins.source[a] = {true, placed.slot_of[o]};
            } else {
                ins.source[a] = {false, o};
                if (index.node(o)->shape() != node.shape()) ins.scratch[a] = gather_slot(region, o, index.node(o)->shape(), plan.block);
            }
        }
        placed.slot_of[i] = static_cast<std::uint32_t>(region.instructions.size());
        region.instructions.push_back(ins);
        placed.region_of[i] = static_cast<std::int64_t>(it->second);
    }
    return placed;
}

// Pass 3: sums and means over leading axes join the region of their operand, or (for an operand that is not
// elementwise, such as the output gradient) a region of its shape at their own stage: that region runs after the
// operand is known and before anything reads the reduction.
void fuse_reductions(Program::Plan& plan, Placement& placed) {
    const GraphIndex& index = plan.index;
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if ((node.op() != Op::sum && node.op() != Op::mean) || !over_leading_axes(node)) continue;
        const std::uint32_t o = index.operands(i)[0];
        const Node& operand = *index.node(o);
        std::int64_t r = placed.region_of[o];
        if (r < 0) {
            const auto it = placed.open_region.find(std::make_pair(placed.stage[i], operand.shape().dims()));
            if (it != placed.open_region.end()) r = static_cast<std::int64_t>(it->second);
        }
        if (r < 0) continue;
        Region& region = plan.regions[static_cast<std::size_t>(r)];
        if (region.dtype != node.dtype() || region.shape != operand.shape()) continue;
        const std::int64_t groups = node.shape().numel();
        if (groups == 0) continue;  // nothing to accumulate into: left to the reference kernel
        double scale = 1.0;
        if (node.op() == Op::mean) {
            // As the reference evaluator: the mean of nothing is NaN.
            const std::int64_t count = operand.shape().numel() / groups;
            scale = count == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / static_cast<double>(count);
        }
        const Source source = placed.region_of[o] == r ? Source{true, placed.slot_of[o]} : Source{false, o};
        region.reductions.push_back({static_cast<std::uint32_t>(i), source, groups, accumulation_period(groups), scale});
        placed.reduced_in[i] = r;
    }
    std::erase_if(plan.steps, [&](const Step& step) { return step.region < 0 && placed.reduced_in[step.node] >= 0; });
}

// Pass 4: BLAS reads a matrix product's transposed operand through its transpose, and a transpose that only matrix
// products read is never materialized.
void plan_blas_transposes(Program::Plan& plan) {
    const GraphIndex& index = plan.index;
    std::vector<std::uint32_t> readers(index.size(), 0);
    std::vector<std::uint32_t> bypassing(index.size(), 0);
    for (std::size_t i = 0; i < index.size(); ++i) {
        for (const auto operand : index.operands(i)) ++readers[operand];
    }
    for (auto& step : plan.steps) {
        if (step.region >= 0 || index.node(step.node)->op() != Op::matmul) continue;
        const auto operands = index.operands(step.node);
        for (std::size_t k = 0; k < 2; ++k) {
            const Node& operand = *index.node(operands[k]);
            if (swaps_last_two_axes(operand)) {
                step.matmul[k] = {index.operands(operands[k])[0], true};
                ++bypassing[operands[k]];
            } else {
                step.matmul[k] = {operands[k], false};
            }
        }
    }
    std::vector<char> is_output(index.size(), 0);
    for (const auto& out : plan.outputs) is_output[index.position(out.get())] = 1;
    std::erase_if(plan.steps, [&](const Step& step) {
        return step.region < 0 && bypassing[step.node] > 0 && bypassing[step.node] == readers[step.node] && !is_output[step.node];
    });
}

// Pass 5: a region writes out what a later step, another region or the caller reads (a reduction it computes
// itself reads its registers).
void mark_materialized(Program::Plan& plan, const Placement& placed) {
    const GraphIndex& index = plan.index;
    std::vector<char> needed_outside(index.size(), 0);
    for (std::size_t i = 0; i < index.size(); ++i) {
        const std::int64_t here = placed.reduced_in[i] >= 0 ? placed.reduced_in[i] : placed.region_of[i];
        for (const auto operand : index.operands(i)) {
            if (placed.region_of[operand] >= 0 && placed.region_of[operand] != here) needed_outside[operand] = 1;
        }
    }
    for (const auto& out : plan.outputs) needed_outside[index.position(out.get())] = 1;
    for (std::size_t i = 0; i < index.size(); ++i) {
        if (placed.region_of[i] < 0 || !needed_outside[i]) continue;
        Region& region = plan.regions[static_cast<std::size_t>(placed.region_of[i])];
        region.materialized.push_back({placed.slot_of[i], static_cast<std::uint32_t>(i)});
    }
}

// Pass 8: what each region's generated function reads (plan.hpp, RegionInput): every value from outside the region
// but the scalar constants it writes as literals (literal_operand), once each.
void list_inputs(Program::Plan& plan) {
    for (Region& region : plan.regions) {
        std::vector<char> listed(plan.index.size(), 0);
        const auto add = [&](const Source& source, std::int32_t scratch) {
            if (source.in_region || listed[source.index]) return;
            listed[source.index] = 1;
            region.inputs.push_back({source.index, scratch});
        };
        for (const auto& ins : region.instructions) {
            for (std::size_t a = 0; a < ins.arity; ++a) {
                const Source& s = ins.source[a];
                if (s.in_region || !literal_operand(ins, *plan.index.node(s.index))) add(s, ins.scratch[a]);
            }
        }
        for (const auto& r : region.reductions) {
            if (r.source.in_region || !plan.index.node(r.source.index)->is_scalar_constant()) add(r.source, -1);
        }
    }
}

// Pass 7: steps in stage order, and each value released after the last step that reads it (outputs are kept), so
// memory is returned as the run goes, as in the reference evaluator.
void schedule_releases(Program::Plan& plan) {
    const GraphIndex& index = plan.index;
    std::stable_sort(plan.steps.begin(), plan.steps.end(), [](const Step& a, const Step& b) { return a.stage < b.stage; });
    constexpr std::size_t never = static_cast<std::size_t>(-1);
    std::vector<std::size_t> last_read(index.size(), 0);
    for (std::size_t k = 0; k < plan.steps.size(); ++k) {
        const Step& step = plan.steps[k];
        if (step.is_blas_matmul()) {
            for (const MatmulOperand& operand : step.matmul) last_read[operand.source] = k;
            // A transpose it bypasses but that is still computed (something else reads it) is read here too.
            for (const auto operand : index.operands(step.node)) last_read[operand] = std::max(last_read[operand], k);
            continue;
        }
        if (step.region < 0) {
            for (const auto operand : index.operands(step.node)) last_read[operand] = k;
            continue;
        }
        const Region& region = plan.regions[static_cast<std::size_t>(step.region)];
        for (const auto& ins : region.instructions) {
            for (std::size_t a = 0; a < ins.arity; ++a) {
                if (!ins.source[a].in_region) last_read[ins.source[a].index] = k;
            }
        }
        for (const auto& r : region.reductions) {
            if (!r.source.in_region) last_read[r.source.index] = k;
        }
    }
    for (const auto& out : plan.outputs) last_read[index.position(out.get())] = never;
    for (std::size_t i = 0; i < index.size(); ++i) {
        if (last_read[i] != never) plan.steps[last_read[i]].release_after.push_back(static_cast<std::uint32_t>(i));
    }
}

}  // namespace

}  // namespace detail

Program compile(std::span<const Expr> outputs, const CompileOptions& options) {
    for (const auto& out : outputs) {
        if (!out) throw Error("compile: an output is an empty Expr");
    }
    if (options.threads > max_threads) {
        throw Error(fmt::format("threads = {}: choose 0 (one per hardware thread) to {}", options.threads, max_threads));
    }
    auto plan = std::make_shared<Program::Plan>();
    // Nothing differentiates a compiled graph: gradient overrides are their values, and surrogates are not computed.
    plan->outputs = drop_gradient_overrides(outputs);
    plan->index = index_graph(plan->outputs);
    plan->block = std::max<std::size_t>(options.block, 1);
    plan->threads = options.threads == 0 ? detail::hardware_threads() : options.threads;
    plan->kernels = &detail::kernel_set(options.isa);

    detail::Placement placed = detail::form_regions(*plan, detail::assign_stages(plan->index));
    detail::fuse_reductions(*plan, placed);
    if (options.blas) detail::plan_blas_transposes(*plan);
    detail::mark_materialized(*plan, placed);
    for (detail::Region& region : plan->regions) detail::fuse_pairs(region, *plan->kernels);  // pass 6
    detail::schedule_releases(*plan);
    detail::list_inputs(*plan);  // pass 8
    plan->backend = options.backend;
    if (const char* jit = std::getenv("SYMGRAD_JIT"); jit != nullptr && std::string_view(jit) == "0") plan->backend = Backend::interpreter;
    plan->native_after = options.native_after;

    Program program;
    program.plan_ = std::move(plan);
    return program;
}

namespace {

struct CacheKey {
    std::vector<const Node*> outputs;
    std::string isa;
    std::size_t block;
    std::size_t threads;
    bool blas;
    Backend backend;
    std::int64_t native_after;
    bool operator==(const CacheKey&) const = default;
};

// A small most-recently-used list: a linear scan over 64 keys costs less than the run it saves.
class ProgramCache {
public:
    Program get(std::span<const Expr> outputs, const CompileOptions& options) {
        CacheKey key{{}, options.isa, options.block, options.threads, options.blas, options.backend, options.native_after};
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

std::size_t Program::region_count() const { return plan_->regions.size(); }

std::size_t Program::fused_pair_count() const {
    std::size_t count = 0;
    for (const auto& region : plan_->regions) {
        for (const auto& ins : region.instructions) count += ins.fused_away ? 1 : 0;
    }
    return count;
}

std::size_t Program::step_count() const { return plan_->steps.size(); }

std::string_view Program::instruction_set() const { return plan_->kernels->isa; }

std::vector<std::string> available_instruction_sets() {
    const auto isas = detail::available_isas();
    return {isas.begin(), isas.end()};
}

std::string resolve_instruction_set(const std::string& isa) { return std::string(detail::kernel_set(isa).isa); }

std::string Program::describe() const {
    const Plan& plan = *plan_;
    std::string text;
    for (const detail::Step& step : plan.steps) {
        if (step.region < 0) {
            const Node& node = *plan.index.node(step.node);
            if (!node.is_leaf()) text += fmt::format("stage {}: {} {}\n", step.stage, op_info(node.op()).name, node.shape());
            continue;
        }
        const detail::Region& region = plan.regions[static_cast<std::size_t>(step.region)];
        std::vector<std::string_view> names;
        for (const auto& ins : region.instructions) names.push_back(ins.info->name);  // fused pairs still list both
        std::vector<std::string> reductions;
        for (const auto& r : region.reductions) {
            const Node& node = *plan.index.node(r.node);
            reductions.push_back(fmt::format("{} {}", op_info(node.op()).name, node.shape()));
        }
        text += fmt::format("stage {}: fused {} over {} ({}), writes {}", step.stage, region.instructions.size(), region.shape,
                            fmt::join(names, " "), region.materialized.size());
        text += reductions.empty() ? "\n" : fmt::format(", reduces ({})\n", fmt::join(reductions, ", "));
    }
    return text;
}

}  // namespace symgrad
