// The native backend's code generator and compiler driver (native.hpp). The cache is native_cache.cpp.
#include "exec/native.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "symgrad/print.hpp"

namespace symgrad::detail {

namespace {

constexpr const char* prelude_text =
#include "generated/native_prelude.inc"
    ;

}  // namespace

std::string native_comment(const Node* node) {
    std::string text = to_inline_string(Expr(node->shared_from_this()), 64);
    std::string clean;
    for (const char c : text) {
        if (c == '\n' || c == '\\') {
            clean += ' ';
        } else if (static_cast<unsigned char>(c) >= 0x20) {
            clean += c;  // (the output gradient's variable is named "\x01dy" by the CLI: shown as dy)
        }
    }
    return clean;
}

std::string_view native_prelude() { return prelude_text; }

std::string native_literal(double value, DType dtype) {
    const bool f32 = dtype == DType::float32;
    if (std::isnan(value)) return f32 ? "__builtin_nanf(\"\")" : "__builtin_nan(\"\")";
    if (std::isinf(value)) return std::string(value < 0 ? "-" : "") + (f32 ? "__builtin_inff()" : "__builtin_inf()");
    std::string text = f32 ? fmt::format("{}", static_cast<float>(value)) : fmt::format("{}", value);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return f32 ? text + "f" : text;
}


std::string native_call(const Node& node, const std::string (&operands)[max_arity], std::string_view type) {
    const OpInfo& info = op_info(node.op());
    if (const int n = product_power(info.variant_of(node)); n > 0) {
        return fmt::format("K::power<{}, {}>({}, {}, {})", n, type, operands[0], operands[1], operands[2]);
    }
    return fmt::format("K::{}<{}>({}, {}, {})", info.kernel_name, type, operands[0], operands[1], operands[2]);
}

namespace {

void emit_region(std::string& out, const Program::Plan& plan, const Region& region, std::size_t k) {
    const GraphIndex& index = plan.index;
    const bool f32 = region.dtype == DType::float32;
    const std::string T = f32 ? "float" : "double";
    const std::string zero = f32 ? "0.0f" : "0.0";

    std::vector<std::string> reduced;
    for (const Reduction& r : region.reductions) {
        const Node& node = *index.node(r.node);
        reduced.push_back(fmt::format("{} {}", op_info(node.op()).name, node.shape()));
    }
    out += fmt::format("\n// Region {}: {} instructions over {} {}, {} value(s) written out{}{}.\n", k, region.instructions.size(),
                       region.shape, region.dtype == DType::float32 ? "float32" : "float64", region.materialized.size(),
                       reduced.empty() ? "" : ", reduces ", fmt::join(reduced, ", "));
    // The loop is a function of its own whose pointers are restrict parameters (g++ takes restrict from parameters,
    // not from local variables, and would otherwise version the loop on run-time alias checks, or not vectorize
    // it); the exported function unpacks the executor's pointers into them (native.hpp gives their order).
    std::vector<std::string> params;  // "type name,  // comment"
    std::vector<std::string> args;
    std::vector<std::string> input_name(index.size());
    for (std::size_t j = 0; j < region.inputs.size(); ++j) {
        const RegionInput& in = region.inputs[j];
        const Node* node = index.node(in.node);
        const std::string what = native_comment(node);
        if (node->shape().numel() == 1) {
            params.push_back(fmt::format("const {} in{}|  // {}", T, j, what));
            args.push_back(fmt::format("static_cast<const {}*>(p[{}])[0]", T, args.size()));
            input_name[in.node] = fmt::format("in{}", j);
        } else {
            params.push_back(fmt::format("const {}* __restrict in{}|  // {}{}", T, j, what,
                                         in.scratch >= 0 ? fmt::format(" {}, broadcast", node->shape()) : ""));
            args.push_back(fmt::format("static_cast<const {}*>(p[{}])", T, args.size()));
            input_name[in.node] = fmt::format("in{}[i]", j);
        }
    }
    for (std::size_t m = 0; m < region.materialized.size(); ++m) {
        params.push_back(fmt::format("{}* __restrict out{}|  // v{}, written out", T, m, region.materialized[m].slot));
        args.push_back(fmt::format("static_cast<{}*>(p[{}])", T, args.size()));
    }
    for (std::size_t r = 0; r < region.reductions.size(); ++r) {
        params.push_back(fmt::format("double* __restrict acc{}|  // {}", r, reduced[r]));
        args.push_back(fmt::format("static_cast<double*>(p[{}])", args.size()));
    }
    out += fmt::format("static __attribute__((noinline)) void region_{}(", k);
    params.insert(params.begin(), "std::size_t phase|");
    params.insert(params.begin(), "std::size_t n|");
    for (std::size_t q = 0; q < params.size(); ++q) {
        // "type name|  // comment": the comma, or the parenthesis and brace, go before the comment.
        const auto bar = params[q].find('|');
        out += fmt::format("\n        {}{}{}", params[q].substr(0, bar), q + 1 < params.size() ? "," : ") {", params[q].substr(bar + 1));
    }
    out += "\n";

    // An operand as the loop reads it: a register, a literal (literal_operand), or an input.
    const auto operand = [&](const Source& source, bool as_literal) -> std::string {
        if (source.in_region) return fmt::format("v{}", source.index);
        if (as_literal) return native_literal(index.node(source.index)->scalar_value(), region.dtype);
        return input_name[source.index];
    };

    // With a common period, the loop runs over stretches that end where the accumulator index wraps (per-unit sums:
    // once per row of units); else one stretch (the executor ends each run before a wrap).
    const std::int64_t period = common_period(region);
    const bool sums = !region.reductions.empty();
    const std::string indent = sums ? "            " : "        ";
    if (sums) {
        out += "    std::size_t j = phase;  // the accumulator the first element adds into\n";
        out += "    for (std::size_t i0 = 0; i0 < n;) {\n";
        if (period > 0) {
            out += fmt::format("        const std::size_t stretch = n - i0 < {0} - j ? n - i0 : {0} - j;\n", period);
        } else {
            out += "        const std::size_t stretch = n - i0;\n";
        }
        out += "        for (std::size_t t = 0; t < stretch; ++t) {\n";
        out += "            const std::size_t i = i0 + t;\n";
    } else {
        out += "    (void)phase;\n    for (std::size_t i = 0; i < n; ++i) {\n";
    }
    for (std::size_t slot = 0; slot < region.instructions.size(); ++slot) {
        const Instruction& ins = region.instructions[slot];
        const Node* node = index.node(ins.node);
        std::string operands_text[max_arity] = {zero, zero, zero};
        for (std::size_t a = 0; a < ins.arity; ++a) {
            const Source& s = ins.source[a];
            operands_text[a] = operand(s, !s.in_region && literal_operand(ins, *index.node(s.index)));
        }
        out += fmt::format("{}const {} v{} = {};  // {}\n", indent, T, slot, native_call(*node, operands_text, T), native_comment(node));
    }
    for (std::size_t m = 0; m < region.materialized.size(); ++m) {
        out += fmt::format("{}out{}[i] = v{};\n", indent, m, region.materialized[m].slot);
    }
    for (std::size_t r = 0; r < region.reductions.size(); ++r) {
        const Source& s = region.reductions[r].source;
        out += fmt::format("{}acc{}[j + t] += static_cast<double>({});\n", indent, r,
                           operand(s, !s.in_region && index.node(s.index)->is_scalar_constant()));
    }
    out += sums ? "        }\n        i0 += stretch;\n        j = 0;\n    }\n}\n" : "    }\n}\n";
    out += fmt::format(
        "extern \"C\" __attribute__((visibility(\"default\"))) void symgrad_region_{}(void* const* p, std::size_t n, std::size_t phase) {{\n", k);
    out += fmt::format("    region_{}(n, phase", k);
    for (const auto& arg : args) out += ", " + arg;
    out += ");\n}\n";
}

// Splits a command line at spaces ("ccache g++"); no quoting.
std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> result;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && text[i] == ' ') ++i;
        const std::size_t start = i;
        while (i < text.size() && text[i] != ' ') ++i;
        if (i > start) result.emplace_back(text.substr(start, i - start));
    }
    return result;
}

// The executable a command word names: itself when it holds a '/', else the first match on PATH.
std::string find_executable(const std::string& name) {
    if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
    const char* path = std::getenv("PATH");
    if (path == nullptr) return "";
    std::string_view rest = path;
    while (true) {
        const auto colon = rest.find(':');
        const std::string dir(rest.substr(0, colon));
        const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) return "";
        rest.remove_prefix(colon + 1);
    }
}

}  // namespace

std::string native_source(const Program::Plan& plan) {
    std::string out =
        "// Generated by symgrad: the fused regions of one program, one function each. The kernels are symgrad's own\n"
        "// (src/math/ops_kernels.hpp); every line computes what the comment beside it says, with the reference\n"
        "// evaluator's operations in its order, so the results have its bits.\n"
        "#include <cstddef>\n";
    out += prelude_text;
    out += "\nnamespace K = symgrad::kernels;\n";
    for (std::size_t k = 0; k < plan.regions.size(); ++k) emit_region(out, plan, plan.regions[k], k);
    return out;
}

NativeToolchain native_toolchain(std::string_view isa) {
    NativeToolchain toolchain;
    std::string chosen = SYMGRAD_NATIVE_CXX;
    std::string origin = "the compiler that built symgrad";
    for (const char* variable : {"CXX", "SYMGRAD_CXX"}) {  // SYMGRAD_CXX wins
        const char* value = std::getenv(variable);
        if (value != nullptr && *value != '\0') {
            chosen = value;
            origin = fmt::format("{}={}", variable, value);
        }
    }
    toolchain.command = words(chosen);
    if (toolchain.command.empty()) {
        toolchain.why_not = fmt::format("no C++ compiler ({} is empty)", origin);
        return toolchain;
    }
    // The identity of each executable the command runs: its resolved path, size and modification time.
    // The executables are the words before the first flag ("ccache g++ -m64": ccache and g++); the whole command is
    // part of the identity, since flags in it change the code (CXX="g++ -O0").
    toolchain.identity = fmt::format("command: {}\n", fmt::join(toolchain.command, " "));
    for (const auto& word : toolchain.command) {
        if (word.starts_with("-")) break;
        toolchain.compiler = word;
        const std::string found = find_executable(word);
        if (found.empty()) {
            toolchain.why_not = fmt::format("no C++ compiler: '{}' ({}) is not an executable{}; set SYMGRAD_CXX", word, origin,
                                            word.find('/') == std::string::npos ? " on PATH" : "");
            return toolchain;
        }
        std::error_code error;
        const auto real = std::filesystem::canonical(found, error);
        struct stat info {};
        const std::string path = error ? found : real.string();
        if (stat(path.c_str(), &info) != 0) continue;
        toolchain.identity += fmt::format("{} {} {}\n", path, static_cast<long long>(info.st_size), static_cast<long long>(info.st_mtime));
    }
    toolchain.flags = native_flags();
    for (auto& flag : native_isa_flags(isa)) toolchain.flags.push_back(std::move(flag));
    return toolchain;
}

std::string native_compiler() { return SYMGRAD_NATIVE_CXX; }

std::vector<std::string> native_flags() {
    std::vector<std::string> flags = words(SYMGRAD_NATIVE_FLAGS);
    for (const char* flag : {"-std=c++20", "-fPIC", "-shared", "-fno-exceptions", "-fvisibility=hidden", "-w"}) flags.emplace_back(flag);
    return flags;
}

std::vector<std::string> native_isa_flags(std::string_view isa) {
    if (isa == "avx2") return words(SYMGRAD_NATIVE_FLAGS_avx2);
    if (isa == "avx512") return words(SYMGRAD_NATIVE_FLAGS_avx512);
    return {};
}

NativeModule::~NativeModule() {
    if (handle_ != nullptr) dlclose(handle_);
    if (fd_ >= 0) close(fd_);
}

void* NativeModule::symbol(const std::string& name) const { return dlsym(handle_, name.c_str()); }

}  // namespace symgrad::detail
