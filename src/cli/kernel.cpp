// symgrad kernel EXPR [--shape ...] [--dtype ...] [--full]: the C++ the native backend compiles for an expression's
// forward and backward programs, each fused region one function, each line commented with what it computes.
// symgrad cache [--clear]: where the native backend keeps its compiled kernels, and how much; --clear empties it.
#include <iostream>

#include "common.hpp"

namespace symgrad::cli {

namespace {

struct KernelOptions {
    std::string expression;
    Shapes shapes;
    DType dtype = DType::float32;
    bool full = false;
};

// The regions of a generated source, without the prelude (the kernels' text) unless full.
std::string regions_of(const std::string& source, bool full) {
    if (full) return source;
    const std::string_view marker = "namespace K = symgrad::kernels;";
    const auto at = source.find(marker);
    if (at == std::string::npos) return source;
    return fmt::format(
        "// K:: is symgrad's kernels (src/math/ops_kernels.hpp: one scalar function per primitive); --full prints them too.\n{}",
        source.substr(at));
}

// A program's plan as comment lines, then its regions' source (or a word that it has none).
std::string program_text(const Program& program, bool full) {
    std::string text;
    const std::size_t regions = program.region_count();
    text += fmt::format("// {} fused region{}; the plan:\n", regions, regions == 1 ? "" : "s");
    const std::string described = program.describe();
    std::string_view plan = described;
    while (!plan.empty()) {
        const auto end = plan.find('\n');
        text += fmt::format("//   {}\n", plan.substr(0, end));
        plan.remove_prefix(end == std::string_view::npos ? plan.size() : end + 1);
    }
    if (regions == 0) return text + "// (nothing elementwise: no loop is generated; the steps above run as they are)\n";
    return text + regions_of(program.native_source(), full);
}

int run_kernel(const KernelOptions& o) {
    const ForwardBackward programs = forward_backward(o.expression, o.shapes, o.dtype);
    CompileOptions options;
    options.backend = Backend::native;
    const Program forward = compile(programs.forward, options);
    const Program backward = compile(programs.backward, options);
    std::vector<std::string> names;
    for (const auto& v : programs.variables) names.push_back("d" + v.node().attrs().name);
    std::cout << fmt::format("// symgrad kernel '{}'\n// forward: y = {}\n", o.expression, to_inline_string(programs.forward[0], 160));
    std::cout << program_text(forward, o.full);
    std::cout << fmt::format("\n// backward: {} given dy (the output's gradient)\n", fmt::join(names, ", "));
    std::cout << program_text(backward, o.full);
    return 0;
}

std::string size_text(std::uintmax_t bytes) {
    if (bytes < 1024 * 1024) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1024.0);
    return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

int run_cache(bool clear) {
    const NativeCacheUsage usage = native_cache_usage();
    if (usage.directory.empty()) {
        std::cout << "no kernel cache: SYMGRAD_CACHE_DIR, XDG_CACHE_HOME and HOME are all unset\n";
        return 0;
    }
    if (clear) {
        const std::size_t removed = clear_native_cache();
        std::cout << fmt::format("kernel cache {}: removed {} file{} ({})\n", usage.directory, removed, removed == 1 ? "" : "s",
                                 size_text(usage.bytes));
        return 0;
    }
    std::cout << fmt::format("kernel cache {}: {} compiled kernel file{}, {}\n", usage.directory, usage.entries, usage.entries == 1 ? "" : "s",
                             size_text(usage.bytes));
    return 0;
}

}  // namespace

Action add_kernel(CLI::App& app) {
    auto options = std::make_shared<KernelOptions>();
    CLI::App* sub = app.add_subcommand("kernel", "Print the C++ that the native backend compiles for an expression, forward and backward.");
    add_expression_argument(*sub, options->expression);
    add_shape_option(*sub, options->shapes);
    add_dtype_option(*sub, options->dtype);
    sub->add_flag("--full", options->full, "Print each program's whole source (a translation unit that compiles), symgrad's kernels included");
    sub->footer(
        "Example:\n  symgrad kernel 'x * sigmoid(beta * x)' --shape x=4096,1024 --shape beta=1024\n"
        "Each fused region is one function: one loop over the elements that computes every operation of the region\n"
        "in registers; each line's comment is the expression it computes. docs/native.md explains them.");
    return [options] { return run_kernel(*options); };
}

Action add_cache(CLI::App& app) {
    auto clear = std::make_shared<bool>(false);
    CLI::App* sub = app.add_subcommand("cache", "Show where the native backend keeps compiled kernels and their size; --clear empties it.");
    sub->add_flag("--clear", *clear, "Remove the compiled kernels (only symgrad's files)");
    sub->footer(
        "The cache is $SYMGRAD_CACHE_DIR, else $XDG_CACHE_HOME/symgrad, else ~/.cache/symgrad. A kernel is compiled once\n"
        "per expression, shapes, compiler and CPU, and loaded from here afterwards.");
    return [clear] { return run_cache(*clear); };
}

}  // namespace symgrad::cli
