// The native code generator's elementwise passes (native.hpp): loops over a tensor and operands broadcast along
// a block of its axes, for kernels called from outside the engine (the PyTorch export's fused Function).
//
// A pass is written as four pieces, from the inside out:
//   element():   one element's outputs from its inputs, one kernel call per node (as the engine's regions);
//   run_row():   a run of elements along a row of indexed values (inner == 1: element t reads index m0 + t);
//   run_block(): a run of elements that share one index (inner > 1);
//   range():     elements [e0, e1) cut into such runs, summing into one thread's accumulators.
// The driver (the same for every pass) splits the elements over threads and adds their partial sums in order.
#include <algorithm>

#include <fmt/format.h>

#include "exec/native.hpp"

namespace symgrad::detail {

namespace {

// The code every pass shares: a value the compiler cannot fold (the C library's pow is called with its exponent
// at run time, as the engine does: g++ folds pow(x, -1.0) to 1 / x, which rounds differently), and the driver.
constexpr std::string_view driver_text = R"driver(
#include <algorithm>
#include <cstdlib>
#include <pthread.h>

namespace K = symgrad::kernels;

namespace symgrad_driver {

template <class T> static inline T opaque(T value) {
    volatile T held = value;
    return held;
}

// Below this many elements a thread costs more than it saves.
constexpr std::size_t min_per_thread = std::size_t(1) << 15;
constexpr std::size_t max_threads = 256;

template <class P> struct Job {
    void* const* p;
    std::size_t mid, inner, e0, e1;
    double* acc;
};

template <class P> static void* work(void* argument) {
    const Job<P>* job = static_cast<const Job<P>*>(argument);
    P::range(job->p, job->mid, job->inner, job->e0, job->e1, job->acc);
    return nullptr;
}

// Runs pass P over dims = {elements, mid, inner} on up to `threads` threads.
template <class P, class T> static int run(void* const* p, const long long* dims, long long threads) {
    if (dims[0] < 0 || dims[1] < 1 || dims[2] < 1) return 2;
    const std::size_t numel = static_cast<std::size_t>(dims[0]);
    const std::size_t mid = static_cast<std::size_t>(dims[1]);
    const std::size_t inner = static_cast<std::size_t>(dims[2]);
    std::size_t count = threads < 1 ? 1 : std::min<std::size_t>(static_cast<std::size_t>(threads), max_threads);
    count = std::max<std::size_t>(1, std::min(count, numel / min_per_thread));
    // Each thread has its own accumulators, added up here: at most half as many as the elements in all.
    if (P::indexed_sums > 0) count = std::max<std::size_t>(1, std::min(count, numel / (2 * mid * P::indexed_sums)));
    const std::size_t per = P::indexed_sums * mid + P::scalar_sums;  // one thread's accumulators
    double* acc = nullptr;
    if (per > 0) {
        acc = static_cast<double*>(std::calloc(count * per, sizeof(double)));
        if (acc == nullptr) return 1;
    }
    // Contiguous ranges, cut at multiples of 64 elements (no two threads write one cache line).
    const std::size_t chunk = (numel / count + 63) / 64 * 64;
    Job<P> jobs[max_threads];
    pthread_t ids[max_threads];
    bool started[max_threads] = {};
    for (std::size_t t = 0; t < count; ++t) {
        jobs[t] = Job<P>{p, mid, inner, std::min(numel, t * chunk), t + 1 == count ? numel : std::min(numel, (t + 1) * chunk),
                         acc == nullptr ? nullptr : acc + t * per};
    }
    for (std::size_t t = 1; t < count; ++t) started[t] = pthread_create(&ids[t], nullptr, work<P>, &jobs[t]) == 0;
    work<P>(&jobs[0]);
    for (std::size_t t = 1; t < count; ++t) {
        if (started[t]) {
            pthread_join(ids[t], nullptr);
        } else {
            work<P>(&jobs[t]);  // no thread to be had: this one does it
        }
    }
    for (std::size_t j = 0; j < P::indexed_sums; ++j) {
        T* out = static_cast<T*>(p[P::sum_pointer[j]]);
        for (std::size_t m = 0; m < mid; ++m) {
            double sum = 0;
            for (std::size_t t = 0; t < count; ++t) sum += acc[t * per + j * mid + m];
            out[m] = static_cast<T>(sum);
        }
    }
    for (std::size_t j = 0; j < P::scalar_sums; ++j) {
        T* out = static_cast<T*>(p[P::sum_pointer[P::indexed_sums + j]]);
        double sum = 0;
        for (std::size_t t = 0; t < count; ++t) sum += acc[t * per + P::indexed_sums * mid + j];
        out[0] = static_cast<T>(sum);
    }
    std::free(acc);
    return 0;
}

}  // namespace symgrad_driver
)driver";

// A constant as an exact literal of the element type T: the double, converted (as the engine rounds a constant of a
// float32 graph).
std::string generic_literal(double value) { return fmt::format("T({})", native_literal(value, DType::float64)); }

void emit_pass(std::string& out, const ElementwisePass& pass) {
    std::vector<Expr> roots;
    for (const auto& o : pass.outputs) roots.push_back(o.value);
    const GraphIndex index = index_graph(roots);

    // element(): the body, one line per node.
    std::vector<std::string> text(index.size());
    std::vector<std::string> constants;  // run-time constants: pow's exponents
    std::string body;
    for (std::size_t i = 0; i < index.size(); ++i) {
        const Node& node = *index.node(i);
        if (node.op() == Op::variable) {
            const auto found = std::find_if(pass.inputs.begin(), pass.inputs.end(),
                                            [&](const ElementwiseInput& in) { return in.variable == node.attrs().name; });
            if (found == pass.inputs.end()) {
                throw Error(fmt::format("elementwise pass {}: the variable '{}' is not one of its inputs", pass.name, node.attrs().name));
            }
            text[i] = fmt::format("a{}", found - pass.inputs.begin());
            continue;
        }
        if (node.op() == Op::constant) {
            text[i] = generic_literal(node.scalar_value());
            continue;
        }
        const bool general_pow = node.op() == Op::pow && product_power(op_info(node.op()).variant_of(node)) == 0;
        std::string operands[max_arity] = {"T(0)", "T(0)", "T(0)"};
        const auto positions = index.operands(i);
        for (std::size_t k = 0; k < positions.size(); ++k) {
            const Node& operand = *index.node(positions[k]);
            if (general_pow && operand.op() == Op::constant) {
                operands[k] = fmt::format("k{}", constants.size());
                constants.push_back(generic_literal(operand.scalar_value()));
            } else {
                operands[k] = text[positions[k]];
            }
        }
        text[i] = fmt::format("v{}", i);
        body += fmt::format("        const T v{} = {};  // {}\n", i, native_call(node, operands, "T"), native_comment(&node));
    }

    // The summed outputs' pointer positions, indexed ones then scalar ones, and each one's accumulator among a
    // thread's (indexed: times mid; scalar: after the indexed ones).
    std::vector<std::size_t> indexed_pointers;
    std::vector<std::size_t> scalar_pointers;
    std::vector<std::size_t> slot(pass.outputs.size());
    for (std::size_t j = 0; j < pass.outputs.size(); ++j) {
        auto& pointers = pass.outputs[j].kind == ElementwiseKind::indexed ? indexed_pointers : scalar_pointers;
        if (pass.outputs[j].kind == ElementwiseKind::element) continue;
        slot[j] = pointers.size();
        pointers.push_back(pass.inputs.size() + j);
    }
    const std::size_t indexed_sums = indexed_pointers.size();
    const std::size_t scalar_sums = scalar_pointers.size();
    std::vector<std::size_t> sum_pointer = indexed_pointers;
    sum_pointer.insert(sum_pointer.end(), scalar_pointers.begin(), scalar_pointers.end());

    std::vector<std::string> k_params;
    std::vector<std::string> k_args;
    for (std::size_t c = 0; c < constants.size(); ++c) {
        k_params.push_back(fmt::format("const T k{}", c));
        k_args.push_back(fmt::format("k{}", c));
    }
    const auto joined = [](const std::vector<std::string>& parts) { return parts.empty() ? std::string() : fmt::format(", {}", fmt::join(parts, ", ")); };

    out += fmt::format("\n// Pass {}: {} input(s), {} output(s).\n", pass.name, pass.inputs.size(), pass.outputs.size());
    out += fmt::format("template <class T> struct pass_{} {{\n", pass.name);
    out += fmt::format("    static constexpr std::size_t indexed_sums = {};\n    static constexpr std::size_t scalar_sums = {};\n", indexed_sums,
                       scalar_sums);
    std::vector<std::string> pointers;
    for (auto s : sum_pointer) pointers.push_back(std::to_string(s));
    if (pointers.empty()) pointers.push_back("0");  // (unused)
    out += fmt::format("    static constexpr std::size_t sum_pointer[] = {{{}}};\n\n", fmt::join(pointers, ", "));

    // element()
    std::vector<std::string> element_params;
    for (std::size_t j = 0; j < pass.inputs.size(); ++j) element_params.push_back(fmt::format("const T a{}", j));
    for (const auto& k : k_params) element_params.push_back(k);
    for (std::size_t j = 0; j < pass.outputs.size(); ++j) element_params.push_back(fmt::format("T& r{}", j));
    out += fmt::format("    static inline __attribute__((always_inline)) void element({}) {{\n", fmt::join(element_params, ", "));
    out += body;
    for (std::size_t j = 0; j < pass.outputs.size(); ++j) {
        out += fmt::format("        r{} = {};\n", j, text[index.position(pass.outputs[j].value.get())]);
    }
    out += "    }\n";

    // run_row() and run_block(): the same loop, with indexed operands along the run or fixed for it.
    for (const bool row : {true, false}) {
        std::vector<std::string> params{"const std::size_t n"};
        std::vector<std::string> reads;
        for (std::size_t j = 0; j < pass.inputs.size(); ++j) {
            const ElementwiseKind kind = pass.inputs[j].kind;
            if (kind == ElementwiseKind::element || (kind == ElementwiseKind::indexed && row)) {
                params.push_back(fmt::format("const T* __restrict a{}", j));
                reads.push_back(fmt::format("a{}[t]", j));
            } else {
                params.push_back(fmt::format("const T a{}", j));
                reads.push_back(fmt::format("a{}", j));
            }
        }
        std::vector<std::string> reductions;
        for (std::size_t j = 0; j < pass.outputs.size(); ++j) {
            const ElementwiseKind kind = pass.outputs[j].kind;
            if (kind == ElementwiseKind::element) {
                params.push_back(fmt::format("T* __restrict o{}", j));
            } else if (kind == ElementwiseKind::indexed && row) {
                params.push_back(fmt::format("double* __restrict o{}", j));
            } else {
                params.push_back(fmt::format("double& o{}", j));
                reductions.push_back(fmt::format("s{}", j));
            }
        }
        for (const auto& k : k_params) params.push_back(k);
        out += fmt::format("    static __attribute__((noinline)) void run_{}({}) {{\n", row ? "row" : "block", fmt::join(params, ", "));
        for (const auto& s : reductions) out += fmt::format("        double {} = 0;\n", s);
        out += reductions.empty() ? "#pragma omp simd\n" : fmt::format("#pragma omp simd reduction(+ : {})\n", fmt::join(reductions, ", "));
        out += "        for (std::size_t t = 0; t < n; ++t) {\n";
        std::vector<std::string> results;
        for (std::size_t j = 0; j < pass.outputs.size(); ++j) results.push_back(fmt::format("r{}", j));
        out += fmt::format("            T {};\n", fmt::join(results, ", "));
        out += fmt::format("            element({}{}, {});\n", fmt::join(reads, ", "), joined(k_args), fmt::join(results, ", "));
        for (std::size_t j = 0; j < pass.outputs.size(); ++j) {
            const ElementwiseKind kind = pass.outputs[j].kind;
            if (kind == ElementwiseKind::element) {
                out += fmt::format("            o{}[t] = r{};\n", j, j);
            } else if (kind == ElementwiseKind::indexed && row) {
                out += fmt::format("            o{}[t] += static_cast<double>(r{});\n", j, j);
            } else {
                out += fmt::format("            s{} += static_cast<double>(r{});\n", j, j);
            }
        }
        out += "        }\n";
        for (const auto& s : reductions) out += fmt::format("        o{} += {};\n", s.substr(1), s);
        out += "    }\n";
    }

    // range()
    out += "    static void range(void* const* p, const std::size_t mid, const std::size_t inner, std::size_t e, const std::size_t end,\n"
           "                      [[maybe_unused]] double* acc) {\n";
    for (std::size_t j = 0; j < pass.inputs.size(); ++j) {
        out += fmt::format("        const T* const a{} = static_cast<const T*>(p[{}]);  // {}\n", j, j, pass.inputs[j].variable);
    }
    for (std::size_t j = 0; j < pass.outputs.size(); ++j) {
        if (pass.outputs[j].kind == ElementwiseKind::element) {
            out += fmt::format("        T* const o{} = static_cast<T*>(p[{}]);\n", j, pass.inputs.size() + j);
        }
    }
    for (std::size_t c = 0; c < constants.size(); ++c) {
        out += fmt::format("        const T k{} = symgrad_driver::opaque({});\n", c, constants[c]);
    }
    const auto call = [&](bool row) {
        std::vector<std::string> args{"n"};
        for (std::size_t j = 0; j < pass.inputs.size(); ++j) {
            switch (pass.inputs[j].kind) {
            case ElementwiseKind::element: args.push_back(fmt::format("a{} + e", j)); break;
            case ElementwiseKind::indexed: args.push_back(row ? fmt::format("a{} + m", j) : fmt::format("a{}[m]", j)); break;
            case ElementwiseKind::scalar: args.push_back(fmt::format("a{}[0]", j)); break;
            }
        }
        for (std::size_t j = 0; j < pass.outputs.size(); ++j) {
            switch (pass.outputs[j].kind) {
            case ElementwiseKind::element: args.push_back(fmt::format("o{} + e", j)); break;
            case ElementwiseKind::indexed:
                args.push_back(row ? fmt::format("acc + {} * mid + m", slot[j]) : fmt::format("acc[{} * mid + m]", slot[j]));
                break;
            case ElementwiseKind::scalar: args.push_back(fmt::format("acc[{} * mid + {}]", indexed_sums, slot[j])); break;
            }
        }
        for (const auto& k : k_args) args.push_back(k);
        return fmt::format("run_{}({})", row ? "row" : "block", fmt::join(args, ", "));
    };
    out += "        while (e < end) {\n";
    out += "            if (inner == 1) {  // indexed operands along the run\n";
    out += "                const std::size_t m = e % mid;\n";
    out += "                const std::size_t n = std::min(end - e, mid - m);\n";
    out += fmt::format("                {};\n", call(true));
    out += "                e += n;\n";
    out += "            } else {  // one index for the run\n";
    out += "                const std::size_t m = (e / inner) % mid;\n";
    out += "                const std::size_t n = std::min(end - e, inner - e % inner);\n";
    out += fmt::format("                {};\n", call(false));
    out += "                e += n;\n";
    out += "            }\n        }\n    }\n};\n";
    out += fmt::format(
        "extern \"C\" __attribute__((visibility(\"default\"))) int symgrad_{0}(void* const* p, const long long* dims, long long threads) {{\n"
        "    return symgrad_driver::run<pass_{0}<SYMGRAD_REAL>, SYMGRAD_REAL>(p, dims, threads);\n}}\n",
        pass.name);
}

}  // namespace

std::string elementwise_source(std::span<const ElementwisePass> passes) {
    std::string out(driver_text);
    for (const auto& pass : passes) emit_pass(out, pass);
    return out;
}

}  // namespace symgrad::detail
