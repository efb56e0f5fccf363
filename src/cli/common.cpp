#include "common.hpp"

#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <cmath>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace symgrad::cli {

const Expr* find_variable(const std::vector<Expr>& vars, std::string_view name) {
    for (const auto& v : vars) {
        if (v.node().attrs().name == name) return &v;
    }
    return nullptr;
}

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> pieces;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(separator, start);
        pieces.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return pieces;
        start = end + 1;
    }
}

double parse_number(std::string_view text, std::string_view what) {
    const std::string trimmed(text);
    double value = 0.0;
    const char* first = trimmed.data();
    const char* last = first + trimmed.size();
    if (first != last && *first == '+') ++first;
    const auto [end, error] = std::from_chars(first, last, value);
    if (error == std::errc::result_out_of_range && end == last) {
        // Underflow is the nearest number, 0 (as the expression language reads 1e-999); overflow is refused.
        const double nearest = std::strtod(trimmed.c_str(), nullptr);
        if (std::isfinite(nearest)) return nearest;
        throw InputError(fmt::format("{}: '{}' is too large for float64", what, shown(text)));
    }
    if (trimmed.empty() || error != std::errc() || end != last) {
        throw InputError(fmt::format("{}: '{}' is not a number", what, shown(text)));
    }
    return value;
}

std::pair<std::string, std::string> split_assignment(const std::string& spec, std::string_view flag) {
    const auto equals = spec.find('=');
    if (equals == std::string::npos || equals == 0) throw InputError(fmt::format("{} '{}': write NAME=VALUE", flag, shown(spec)));
    return {spec.substr(0, equals), spec.substr(equals + 1)};
}

Shapes parse_shape_specs(const std::vector<std::string>& specs) {
    Shapes shapes;
    for (const auto& spec : specs) {
        const auto equals = spec.find('=');
        if (equals == std::string::npos || equals == 0) {
            throw InputError(fmt::format("--shape '{}': write NAME=D0,D1,... (e.g. x=256,64, beta=64, or a= for a scalar)", shown(spec)));
        }
        const std::string name = spec.substr(0, equals);
        std::vector<std::int64_t> dims;
        const std::string list = spec.substr(equals + 1);
        if (!list.empty()) {
            for (const auto& piece : split(list, ',')) {
                std::int64_t d = -1;
                const auto [end, error] = std::from_chars(piece.data(), piece.data() + piece.size(), d);
                if (piece.empty() || error != std::errc() || end != piece.data() + piece.size() || d < 0) {
                    throw InputError(fmt::format("--shape '{}': '{}' is not a dimension (a whole number >= 0)", shown(spec), shown(piece)));
                }
                dims.push_back(d);
            }
        }
        if (shapes.contains(name)) throw InputError(fmt::format("--shape gives '{}' twice", shown(name)));
        try {
            shapes.emplace(name, Shape(dims));
        } catch (const ShapeError& e) {
            throw InputError(fmt::format("--shape '{}': {}", shown(spec), e.what()));
        }
    }
    return shapes;
}

Expr parse_user_expression(const std::string& text, const Shapes& shapes, DType dtype, std::vector<std::string>* named_variables) {
    ParseOptions options;
    options.shapes = shapes;
    options.dtype = dtype;
    try {
        std::vector<std::string> names;
        Expr e = parse(text, options, names);
        if (named_variables != nullptr) *named_variables = std::move(names);
        return e;
    } catch (const ParseError& e) {
        throw InputError(fmt::format("in the expression, {}", e.what()));
    }
}

ForwardBackward forward_backward(const std::string& expression, const Shapes& shapes, DType dtype) {
    ForwardBackward programs;
    programs.y = parse_with_shapes(expression, shapes, dtype);
    programs.variables = variables_of(programs.y);
    if (programs.variables.empty()) throw InputError("the expression has no variables: there is nothing to run it on");
    const Expr dy = var(output_gradient_name, programs.y.shape(), dtype);
    std::vector<Expr> all{programs.y};
    const auto raw = grad(programs.y, programs.variables, dy);
    all.insert(all.end(), raw.begin(), raw.end());
    const auto simplified = simplify(all);
    programs.forward.assign(simplified.begin(), simplified.begin() + 1);
    programs.backward.assign(simplified.begin() + 1, simplified.end());
    return programs;
}

Expr parse_with_shapes(const std::string& text, const Shapes& shapes, DType dtype) {
    // The names the text uses, not the graph's variables: diff(x * y, y) is x, yet y is the user's variable.
    std::vector<std::string> names;
    const Expr y = parse_user_expression(text, shapes, dtype, &names);
    for (const auto& [name, shape] : shapes) {
        if (std::find(names.begin(), names.end(), name) == names.end()) {
            throw InputError(fmt::format("--shape gives a shape to '{}', which is not a variable of the expression (its variables: {})",
                                         shown(name), names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
        }
    }
    return y;
}

std::vector<Expr> variables_of(const Expr& e) {
    const Expr roots[] = {e};
    return variables(roots);
}

std::pair<double, double> parse_range(const std::string& spec, std::string_view flag) {
    const auto bounds = split(spec, ':');
    if (bounds.size() != 2) throw InputError(fmt::format("{} '{}': write LO:HI, e.g. -2:2", flag, shown(spec)));
    const double lo = parse_number(bounds[0], flag);
    const double hi = parse_number(bounds[1], flag);
    if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi)) {
        throw InputError(fmt::format("{} '{}': LO must be below HI", flag, shown(spec)));
    }
    return {lo, hi};
}

namespace {
// A finite number as parse_number reads one ("+1", "1e3"; not "inf").
bool is_plain_number(const std::string& text) {
    try {
        return std::isfinite(parse_number(text, ""));
    } catch (const InputError&) {
        return false;
    }
}

// POLICY:INIT as train's and export's --param read it (nn::parse_param_spec), such as per-unit:1.
bool is_param_spec(const std::string& name, const std::string& text) {
    try {
        nn::parse_param_spec(name, text);
        return true;
    } catch (const nn::ParameterError&) {
        return false;
    }
}
}  // namespace

std::pair<std::string, std::vector<double>> parse_named_values(const std::string& spec, std::string_view flag) {
    const auto equals = spec.find('=');
    if (equals == std::string::npos || equals == 0) {
        throw InputError(fmt::format("{} '{}': write NAME=VALUE, or NAME=V1,V2,... for several", flag, shown(spec)));
    }
    std::pair<std::string, std::vector<double>> result{spec.substr(0, equals), {}};
    const std::string values = spec.substr(equals + 1);
    if (const auto colon = values.find(':'); colon != std::string::npos && is_param_spec(result.first, values)) {
        // The other --param's POLICY:INIT, typed where only values go.
        const std::string init = values.substr(colon + 1);
        throw InputError(fmt::format("{} '{}': here a variable gets values only, NAME=V1,V2,...{}; a shape policy ('{}') is for "
                                     "train and export, which make the parameter for a layer",
                                     flag, shown(spec), is_plain_number(init) ? fmt::format(" (e.g. {}={})", shown(result.first), shown(init)) : "",
                                     shown(values.substr(0, colon))));
    }
    for (const auto& piece : split(values, ',')) {
        result.second.push_back(parse_number(piece, fmt::format("{} {}", flag, result.first)));
    }
    return result;
}

void write_output(const std::string& path, std::string_view content) {
    if (path.empty() || path == "-") {
        std::cout << content;
        std::cout.flush();
        if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
            throw InputError(fmt::format("writing to standard output failed: {}", std::strerror(errno)));
        }
        return;
    }
    io::write_file(path, content);
}

void reject_repeated_names(const std::vector<std::string>& names, std::string_view flag, std::string_view hint) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]) !=
            names.begin() + static_cast<std::ptrdiff_t>(i)) {
            throw InputError(fmt::format("{} gives '{}' twice{}", flag, shown(names[i]), hint.empty() ? "" : fmt::format("; {}", hint)));
        }
    }
}

CLI::Validator positive_number() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double v = 0;
            const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (error != std::errc() || end != text.data() + text.size() || !(v > 0) || !std::isfinite(v)) {
                return fmt::format("'{}' is not a number > 0", shown(text));
            }
            return {};
        },
        "NUMBER > 0");
}

CLI::Validator whole_number(std::int64_t lo, std::int64_t hi) {
    return CLI::Validator(
        [lo, hi](std::string& text) -> std::string {
            std::int64_t v = 0;
            const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (error != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
                return fmt::format("'{}' is not a whole number from {} to {}", shown(text), lo, hi);
            }
            return {};
        },
        fmt::format("INT in [{}, {}]", lo, hi));
}

void check_memory(std::span<const Expr> outputs, double limit_gib, std::string_view what) {
    const double peak = evaluation_peak_bytes(outputs);
    if (peak > limit_gib * 1073741824.0) {
        throw InputError(fmt::format("{} would hold {:.3g} GiB at once, past the memory limit of {} GiB (--memory-limit to change it)",
                                     what, peak / 1073741824.0, limit_gib));
    }
}

std::size_t thread_count(std::int64_t requested) {
    if (requested < 0 || static_cast<std::uint64_t>(requested) > max_threads) {
        throw InputError(fmt::format("--threads {}: choose 0 (one per hardware thread) to {}", requested, max_threads));
    }
    return static_cast<std::size_t>(requested);
}

CLI::Option* add_expression_argument(CLI::App& sub, std::string& text, const std::string& description) {
    return sub.add_option("expr", text, description)->required();
}

CLI::Option* add_at_option(CLI::App& sub, std::vector<std::string>& at) {
    return sub.add_option("--at", at, "A variable's value: NAME=VALUE, or NAME=V1,V2,... with --shape");
}

CLI::Option* add_shape_option(CLI::App& sub, Shapes& shapes) {
    return sub.add_option_function<std::vector<std::string>>(
        "--shape", [&shapes](const std::vector<std::string>& specs) { shapes = parse_shape_specs(specs); },
        "A variable's shape, NAME=D0,D1,... (default: scalars)");
}

CLI::Option* add_param_spec_option(CLI::App& sub, std::vector<ParamOption>& params) {
    return sub.add_option_function<std::vector<std::string>>(
        "--param",
        [&params, &sub](const std::vector<std::string>& texts) {
            std::vector<std::string> names;
            for (const auto& text : texts) names.push_back(split_assignment(text, "--param").first);
            reject_repeated_names(names, "--param");
            params.clear();
            for (const auto& text : texts) {
                const auto [name, spec_text] = split_assignment(text, "--param");
                // plot's NAME=V1,V2,... (one curve per value), typed where one initial value goes.
                const auto pieces = split(spec_text, ',');
                if (pieces.size() > 1 && std::all_of(pieces.begin(), pieces.end(), is_plain_number)) {
                    throw InputError(fmt::format("--param '{}': {} takes one initial value per parameter, and {} are given (plot "
                                                 "draws one curve per value); e.g. {}=per-unit:{} or {}={} (shared)",
                                                 shown(text), sub.get_name(), pieces.size(), shown(name), shown(pieces[0]),
                                                 shown(name), shown(pieces[0])));
                }
                params.push_back({text, nn::parse_param_spec(name, spec_text)});
            }
        },
        "A parameter: NAME=POLICY:INIT or NAME=INIT (shared), e.g. beta=per-unit:1.0, a=0.25 (every variable but the "
        "input)");
}

std::optional<DType> dtype_named(std::string_view name) {
    for (const DType dtype : {DType::float32, DType::float64}) {
        if (name == dtype_name(dtype)) return dtype;
    }
    return std::nullopt;
}

CLI::Option* add_dtype_option(CLI::App& sub, DType& dtype) {
    return sub.add_option_function<std::string>(
        "--dtype",
        [&dtype](const std::string& name) {
            const auto named = dtype_named(name);
            if (!named) throw InputError(fmt::format("--dtype '{}': choose float32 or float64", shown(name)));
            dtype = *named;
        },
        "float32 (default) or float64");
}

CLI::Option* add_threads_option(CLI::App& sub, std::size_t& threads) {
    return sub.add_option_function<std::int64_t>(
        "--threads", [&threads](std::int64_t requested) { threads = thread_count(requested); },
        "Threads (default 1; 0 = one per hardware thread)");
}

void check_output_path(const std::string& path, std::string_view flag) {
    if (path.empty() || path == "-") return;
    namespace fs = std::filesystem;
    std::error_code error;
    const fs::path target(path);
    if (fs::is_directory(target, error)) {
        throw InputError(fmt::format("{} '{}' is a directory; name a file in it", flag, shown(path)));
    }
    if (fs::exists(target, error) && !fs::is_regular_file(target, error)) {  // a device or a pipe: written in place
        if (::access(path.c_str(), W_OK) != 0) {
            throw InputError(fmt::format("{} '{}': cannot write it: {}", flag, shown(path), std::strerror(errno)));
        }
        return;
    }
    const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
    if (!fs::is_directory(parent, error)) {
        throw InputError(fmt::format("{} '{}': the directory '{}' does not exist", flag, shown(path), shown(parent.string())));
    }
    // The file is written beside itself first and renamed: the directory must take a new file.
    if (::access(parent.c_str(), W_OK | X_OK) != 0) {
        throw InputError(fmt::format("{} '{}': cannot write in '{}': {}", flag, shown(path), shown(parent.string()), std::strerror(errno)));
    }
}

Bindings bindings_from(const std::vector<std::string>& specs, const std::vector<Expr>& vars) {
    Bindings at;
    std::vector<std::string> given;
    for (const auto& spec : specs) given.push_back(split_assignment(spec, "--at").first);
    reject_repeated_names(given, "--at", "a tensor's values go in one, e.g. --at x=1,2,3 with --shape x=3");
    for (const auto& spec : specs) {
        const auto [name, values] = parse_named_values(spec, "--at");
        const Expr* found = find_variable(vars, name);
        if (found == nullptr) throw InputError(fmt::format("--at '{}': the expression has no variable '{}'", spec, name));
        const Shape& shape = found->shape();
        if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
            throw InputError(fmt::format("--at '{}': '{}' has shape {} ({} values) but {} value{} given (set its shape with --shape)", spec,
                                         name, shape, shape.numel(), values.size(), values.size() == 1 ? " is" : "s are"));
        }
        at[name] = Tensor::from_values(shape, values);
    }
    for (const auto& v : vars) {
        if (!at.contains(v.node().attrs().name)) {
            throw InputError(
                fmt::format("variable '{}' has no value: give one with --at {}=...", v.node().attrs().name, v.node().attrs().name));
        }
    }
    return at;
}

}  // namespace symgrad::cli
