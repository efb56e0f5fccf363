// export_cpp: a self-contained C++17 header with fused forward and backward loops for an elementwise activation.
#include <cmath>

#include "export/export_plan.hpp"
#include "symgrad/version.hpp"

namespace symgrad {

namespace detail {
// The text of src/math/piecewise.inc, written by CMakeLists.txt.
constexpr std::string_view piecewise_text =
#include "generated/piecewise_text.inc"
    ;
}  // namespace detail

namespace {

using detail::Spelling;

constexpr std::string_view reserved_cpp[] = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class", "const", "constexpr", "continue",
    "decltype", "default", "delete", "do", "double", "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend",
    "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "nullptr", "operator", "or", "private",
    "protected", "public", "register", "return", "short", "signed", "sizeof", "static", "struct", "switch", "template", "this", "throw",
    "true", "try", "typedef", "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "while", "xor", "std", "detail", "T",
    "grad_output", "batch", "units", "inner", "forward", "backward", "value", "gradients", "sample", "unit", "pos", "at", "row_start", "y",
    "output",  // grad_output is the adjoint
    // The rest of C++20's keywords and alternative tokens.
    "and_eq", "bitand", "bitor", "compl", "not_eq", "or_eq", "xor_eq", "char8_t", "char16_t", "char32_t", "wchar_t", "concept", "requires",
    "co_await", "co_return", "co_yield", "consteval", "constinit", "static_assert", "thread_local", "dynamic_cast", "static_cast",
    "reinterpret_cast", "const_cast", "typeid", "final", "override", "import", "module",
    // Macros of the headers it includes (<cmath>, <cstddef>, <cstdint>, <limits>) and of glibc's <cmath>.
    "NULL", "NAN", "INFINITY", "HUGE_VAL", "HUGE_VALF", "HUGE_VALL", "FP_NAN", "FP_INFINITE", "FP_ZERO", "FP_SUBNORMAL", "FP_NORMAL",
    "FP_FAST_FMA", "FP_FAST_FMAF", "FP_FAST_FMAL", "FP_ILOGB0", "FP_ILOGBNAN", "MATH_ERRNO", "MATH_ERREXCEPT", "math_errhandling", "M_E",
    "M_LOG2E", "M_LOG10E", "M_LN2", "M_LN10", "M_PI", "M_PI_2", "M_PI_4", "M_1_PI", "M_2_PI", "M_2_SQRTPI", "M_SQRT2", "M_SQRT1_2", "errno",
    "assert", "offsetof", "INT8_MAX", "INT16_MAX", "INT32_MAX", "INT64_MAX", "SIZE_MAX", "PTRDIFF_MAX", "fpclassify", "isfinite", "isinf",
    "isnan", "isnormal", "signbit"};

// A parameter with one value per index of the `units` dimension: per-unit (call with units = the last axis, inner
// = 1) and per-channel (units = dim 1, inner = the product of the axes after it) are the same loops.
bool is_indexed(nn::Policy policy) { return policy == nn::Policy::per_unit || policy == nn::Policy::per_channel; }

std::string cpp_number(double value) {
    if (std::isnan(value)) return "std::numeric_limits<T>::quiet_NaN()";
    if (std::isinf(value)) return value > 0 ? "std::numeric_limits<T>::infinity()" : "-std::numeric_limits<T>::infinity()";
    return fmt::format("T({})", detail::number_text(value));
}

std::string cpp_leaf(const Node& node) {
    if (node.op() == Op::variable) return node.attrs().name;
    return cpp_number(node.scalar_value());
}

Spelling cpp_spell(const Node& node, std::span<const Spelling> a) {
    const OpInfo& info = op_info(node.op());
    if (node.op() == Op::where) {
        const Node& cond = node.input(0).node();
        // a comparison is used as the condition directly; anything else is true where it is nonzero
        const bool spelled_inline = a[0].text.starts_with("T(");  // not a temporary's name
        const std::string test =
            is_comparison(cond.op()) && spelled_inline ? a[0].text.substr(2, a[0].text.size() - 3) : fmt::format("{} != T(0)", a[0].text);
        return {fmt::format("{} ? {} : {}", test, detail::operand(a[1], Spelling::unary), detail::operand(a[2], Spelling::unary)),
                Spelling::conditional};
    }
    // x^2 to x^8 as products, as symgrad's kernels compute them (and they vectorize)
    if (const int n = product_power(info.variant_of(node)); n > 0) return detail::power_product(a[0], n);
    // The row's spelling: an operator, or a call of a function of T.
    if (is_comparison(node.op())) {
        return {fmt::format("T({} {} {})", detail::operand(a[0], Spelling::sum), info.exports.infix, detail::operand(a[1], Spelling::sum))};
    }
    if (!info.exports.infix.empty()) {
        if (node.arity() == 1) return {fmt::format("{}{}", info.exports.infix, detail::operand(a[0], Spelling::unary)), Spelling::unary};
        return detail::infix(a[0], info.exports.infix, a[1]);
    }
    if (!info.exports.cpp.empty()) {
        std::vector<std::string> args;
        for (const auto& s : a) args.push_back(s.text);
        return {fmt::format("{}({})", info.exports.cpp, fmt::join(args, ", "))};
    }
    throw ExportError(fmt::format("export to C++: '{}' has no C++ spelling in the primitive table", info.name));
}

void check_cpp_name(const std::string& name, const char* what) {
    detail::check_identifier(name, what, "C++", "C++ header", reserved_cpp);
    if (name.starts_with("t_") || name.starts_with("grad_") || name.starts_with("d_") || name.starts_with("sum_")) {
        throw ExportError(fmt::format("{} '{}': names starting with t_, grad_, d_ or sum_ are the generated header's own", what, name));
    }
}

// The primitives of more than one operation, as symgrad's kernels define them (src/math/piecewise.inc, copied
// into the library at build time), on the C library's exp and log1p.
std::string helpers() {
    std::string text = "namespace detail {\n\nusing std::exp;\nusing std::log1p;\n\n";
    text += detail::piecewise_text;
    text += "\n";
    return text;
}

}  // namespace

std::string export_cpp(std::string_view expression, const ExportOptions& options) {
    check_cpp_name(options.name, "the name");
    check_cpp_name(options.input, "the input");
    for (const auto& p : options.params) {
        check_cpp_name(p.name, "the parameter");
        // the input's array is x in the loops' signatures, whatever the input's name
        if (p.name == "x") throw ExportError("the parameter 'x' would shadow the input array x of the generated loops; rename it");
        if (p.policy == nn::Policy::fixed) {
            throw ExportError(
                fmt::format("--param {}: the C++ export takes shared and per-unit parameters; a fixed shape ({}) has no "
                            "place in its [batch, units, inner] layout",
                            p.name, p.shape));
        }
    }
    const detail::ExportPlan plan = detail::make_export_plan(expression, options);
    const std::string& x = options.input;

    // Element functions' signatures.
    std::vector<std::string> scalar_params;  // "T beta"
    for (const auto& p : plan.params) scalar_params.push_back("[[maybe_unused]] T " + p.name);
    std::string out;
    out += fmt::format("// {}: an activation exported by symgrad {}, as a self-contained C++17 header.\n//\n//   y = {}\n//\n",
                       options.name, version, plan.formula);
    out += "// Its gradients, as symgrad derived and simplified them (grad_output = dL/dy at one element):\n//\n";
    out += detail::comment_lines(plan.gradient_formulas, "//   ");
    out += "//\n";
    for (const auto& p : plan.params) {
        out += fmt::format("// Parameter {}: {}, initially {}.\n", p.name,
                           p.policy == nn::Policy::per_unit          ? "per unit (an array of `units` values: the last axis)"
                               : p.policy == nn::Policy::per_channel ? "per channel (an array of `units` values: dim 1, as torch.nn.PReLU)"
                                                                     : "shared (one value)",
                           p.init.describe());
    }
    if (!options.command.empty()) out += fmt::format("// Produced by: {}\n", options.command);
    out +=
        "//\n"
        "// Layout: x, y, grad_y and grad_x are contiguous arrays of batch * units * inner elements, [batch, units, inner].\n"
        "// Per-unit parameters follow the last axis: [B, U] is (B, U, 1) and [B, T, U] is (B * T, U, 1). Per-channel\n"
        "// parameters follow dim 1: [B, C, H, W] is (B, C, H * W). Shared ones fit any of these.\n"
        "// Build with -O3 (and -march=native for wide vectors): the [B, U] loops vectorize where the activation is made\n"
        "// of arithmetic and selections (prelu, srelu, pau). Loops that call exp, tanh or log vectorize only with\n"
        "// -ffast-math (glibc's vector math library), which also relaxes NaN, infinity and rounding-order guarantees.\n";
    out += "#pragma once\n\n#include <cmath>\n#include <cstddef>\n#include <limits>\n\n";
    out += fmt::format("namespace {} {{\n\n", options.name);
    out += helpers();

    // value(): one element of the forward.
    std::vector<std::string> value_args{"[[maybe_unused]] T " + x};
    value_args.insert(value_args.end(), scalar_params.begin(), scalar_params.end());
    {
        const Expr roots[] = {plan.y};
        const auto code = detail::straight_line(roots, "t_", cpp_leaf, cpp_spell);
        out += fmt::format("// y at one element\ntemplate <class T> inline T value({}) {{\n", fmt::join(value_args, ", "));
        for (const auto& [name, definition] : code.temporaries) out += fmt::format("    const T {} = {};\n", name, definition);
        out += fmt::format("    return {};\n}}\n\n", code.results[0]);
    }
    // gradients(): one element of the backward.
    {
        std::vector<std::string> args = value_args;
        args.push_back("[[maybe_unused]] T grad_output");  // unused where every derivative is 0 (sign, comparisons)
        std::vector<std::string> outputs{"T& grad_" + x};
        for (const auto& p : plan.params) outputs.push_back("T& grad_" + p.name);
        args.insert(args.end(), outputs.begin(), outputs.end());
        const auto code = detail::straight_line(plan.grads, "t_", cpp_leaf, cpp_spell);
        out += fmt::format("// grad_output times the derivatives of y at one element\ntemplate <class T> inline void gradients({}) {{\n",
                           fmt::join(args, ", "));
        for (const auto& [name, definition] : code.temporaries) out += fmt::format("    const T {} = {};\n", name, definition);
        out += fmt::format("    grad_{} = {};\n", x, code.results[0]);
        for (std::size_t k = 0; k < plan.params.size(); ++k)
            out += fmt::format("    grad_{} = {};\n", plan.params[k].name, code.results[k + 1]);
        out += "}\n\n}  // namespace detail\n\n";
    }

    // The loops. A per-unit parameter is read once per row; its gradient is summed in a register over the row.
    std::vector<std::string> param_decls;  // const T* beta  |  T beta
    std::vector<std::string> grad_decls;  // T* grad_beta
    std::vector<std::string> row_values;  // beta[unit]  |  beta
    for (const auto& p : plan.params) {
        const bool per_unit = is_indexed(p.policy);
        param_decls.push_back(per_unit ? "const T* " + p.name : "T " + p.name);
        grad_decls.push_back("T* grad_" + p.name);
        row_values.push_back(per_unit ? p.name + "[unit]" : p.name);
    }
    std::vector<std::string> value_call{"x[at]"};
    value_call.insert(value_call.end(), row_values.begin(), row_values.end());
    out += "// y = f(x) elementwise. Per-unit and per-channel parameters have `units` values, one per index of the units axis.\n";
    out +=
        fmt::format("template <class T>\nvoid forward(const T* x, T* y, std::size_t batch, std::size_t units, std::size_t inner{}{}) {{\n",
                    param_decls.empty() ? "" : ", ", fmt::join(param_decls, ", "));
    out +=
        "    for (std::size_t sample = 0; sample < batch; ++sample) {\n"
        "        if (inner == 1) {  // [B, U]: one contiguous row of units\n"
        "            for (std::size_t unit = 0; unit < units; ++unit) {\n"
        "                const std::size_t at = sample * units + unit;\n";
    out += fmt::format("                y[at] = detail::value({});\n", fmt::join(value_call, ", "));
    out +=
        "            }\n"
        "            continue;\n"
        "        }\n"
        "        for (std::size_t unit = 0; unit < units; ++unit) {\n"
        "            const std::size_t row_start = (sample * units + unit) * inner;\n"
        "            for (std::size_t pos = 0; pos < inner; ++pos) {\n"
        "                const std::size_t at = row_start + pos;\n";
    out += fmt::format("                y[at] = detail::value({});\n", fmt::join(value_call, ", "));
    out += "            }\n        }\n    }\n}\n\n";

    out +=
        "// grad_x = grad_y * df/dx, written; each parameter's gradient, sum over the elements that use it of\n"
        "// grad_y * df/dp, is ADDED to grad_<name> (one value for a shared parameter, `units` for a per-unit one):\n"
        "// zero them first, or let several calls accumulate.\n";
    std::vector<std::string> backward_args{"const T* x",        "const T* grad_y",   "T* grad_x",
                                           "std::size_t batch", "std::size_t units", "std::size_t inner"};
    backward_args.insert(backward_args.end(), param_decls.begin(), param_decls.end());
    backward_args.insert(backward_args.end(), grad_decls.begin(), grad_decls.end());
    out += fmt::format("template <class T>\nvoid backward({}) {{\n", fmt::join(backward_args, ", "));
    auto element = [&](const std::string& indent, bool dense) {
        std::string s;
        std::vector<std::string> call = value_call;
        call.push_back("grad_y[at]");
        call.push_back("grad_x[at]");
        for (const auto& p : plan.params) {
            s += fmt::format("{}T d_{};\n", indent, p.name);
            call.push_back("d_" + p.name);
        }
        s += fmt::format("{}detail::gradients({});\n", indent, fmt::join(call, ", "));
        for (const auto& p : plan.params) {
            const bool per_unit = is_indexed(p.policy);
            if (dense && per_unit) {
                s += fmt::format("{}grad_{}[unit] += d_{};\n", indent, p.name, p.name);
            } else {
                s += fmt::format("{}sum_{} += d_{};\n", indent, p.name, p.name);
            }
        }
        return s;
    };
    // shared parameters: one sum for the whole call
    for (const auto& p : plan.params) {
        if (p.policy == nn::Policy::shared) out += fmt::format("    T sum_{} = T(0);\n", p.name);
    }
    out +=
        "    for (std::size_t sample = 0; sample < batch; ++sample) {\n"
        "        if (inner == 1) {  // [B, U]: per-unit gradients accumulate across the row, one unit per lane\n"
        "            for (std::size_t unit = 0; unit < units; ++unit) {\n"
        "                const std::size_t at = sample * units + unit;\n";
    out += element("                ", true);
    out +=
        "            }\n"
        "            continue;\n"
        "        }\n"
        "        for (std::size_t unit = 0; unit < units; ++unit) {\n"
        "            const std::size_t row_start = (sample * units + unit) * inner;\n";
    for (const auto& p : plan.params) {
        if (is_indexed(p.policy)) out += fmt::format("            T sum_{} = T(0);\n", p.name);
    }
    out +=
        "            for (std::size_t pos = 0; pos < inner; ++pos) {\n"
        "                const std::size_t at = row_start + pos;\n";
    out += element("                ", false);
    out += "            }\n";
    for (const auto& p : plan.params) {
        if (is_indexed(p.policy)) out += fmt::format("            grad_{}[unit] += sum_{};\n", p.name, p.name);
    }
    out += "        }\n    }\n";
    for (const auto& p : plan.params) {
        if (p.policy == nn::Policy::shared) out += fmt::format("    *grad_{} += sum_{};\n", p.name, p.name);
    }
    out += "}\n\n";

    // The same entry points with the parameters packed, for generic callers (and symgrad's own tests).
    std::vector<std::string> names_quoted;
    std::vector<std::string> per_unit_flags;
    std::vector<std::string> unpacked;  // params[0][0] for shared, params[0] for per-unit
    std::vector<std::string> grads_unpacked;
    for (std::size_t k = 0; k < plan.params.size(); ++k) {
        const bool per_unit = is_indexed(plan.params[k].policy);
        names_quoted.push_back(fmt::format("\"{}\"", plan.params[k].name));
        per_unit_flags.push_back(per_unit ? "true" : "false");
        unpacked.push_back(per_unit ? fmt::format("params[{}]", k) : fmt::format("params[{}][0]", k));
        grads_unpacked.push_back(fmt::format("grads[{}]", k));
    }
    const std::size_t count = plan.params.size();
    out +=
        "// The parameters in order, and which are per unit; forward_packed and backward_packed take them as an array of\n"
        "// pointers (to one value for a shared parameter, to `units` for a per-unit one).\n";
    out += fmt::format("inline constexpr std::size_t parameter_count = {};\n", count);
    if (count > 0) {
        out += fmt::format("inline constexpr const char* parameter_names[] = {{{}}};\n", fmt::join(names_quoted, ", "));
        out += fmt::format("inline constexpr bool parameter_per_unit[] = {{{}}};\n", fmt::join(per_unit_flags, ", "));
    }
    std::vector<std::string> forward_call{"x", "y", "batch", "units", "inner"};
    forward_call.insert(forward_call.end(), unpacked.begin(), unpacked.end());
    out += fmt::format(
        "template <class T>\nvoid forward_packed(const T* x, T* y, std::size_t batch, std::size_t units, std::size_t inner, "
        "[[maybe_unused]] const T* const* params) {{\n    forward({});\n}}\n",
        fmt::join(forward_call, ", "));
    std::vector<std::string> backward_call{"x", "grad_y", "grad_x", "batch", "units", "inner"};
    backward_call.insert(backward_call.end(), unpacked.begin(), unpacked.end());
    backward_call.insert(backward_call.end(), grads_unpacked.begin(), grads_unpacked.end());
    out += fmt::format(
        "template <class T>\nvoid backward_packed(const T* x, const T* grad_y, T* grad_x, std::size_t batch, std::size_t units, "
        "std::size_t inner, [[maybe_unused]] const T* const* params, [[maybe_unused]] T* const* grads) {{\n"
        "    backward({});\n}}\n\n",
        fmt::join(backward_call, ", "));
    out += fmt::format("}}  // namespace {}\n", options.name);
    return out;
}

}  // namespace symgrad
