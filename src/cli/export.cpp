// symgrad export EXPR --to torch|cpp [--native] [--name N] [--param NAME=POLICY:INIT ...] [--input x] [-o FILE]
#include "symgrad/export.hpp"
#include "common.hpp"

namespace symgrad::cli {

namespace {

struct ExportCliOptions {
    std::string expression;
    std::string to;
    std::string name = "Activation";
    std::string input = "x";
    std::vector<ParamOption> params;
    std::string output;
    bool native = false;
};

// A shell-quoted word, for the command line recorded in the file's header.
std::string quoted(const std::string& word) {
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_-.,:=/+").find(c) != std::string_view::npos;
    });
    if (plain) return word;
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

int run_export(const ExportCliOptions& o) {
    check_output_path(o.output, "-o");
    if (o.native && o.to != "torch") {
        throw InputError("--native is for --to torch (a module with fused kernels); the C++ header is compiled by your own build");
    }
    ExportOptions options;
    options.native = o.native;
    options.name = o.name;
    options.input = o.input;
    for (const auto& param : o.params) options.params.push_back(param.spec);
    std::string command = "symgrad export " + quoted(o.expression) + " --to " + o.to + (o.native ? " --native" : "");
    if (o.name != "Activation") command += " --name " + quoted(o.name);
    if (o.input != "x") command += " --input " + quoted(o.input);
    for (const auto& p : o.params) command += " --param " + quoted(p.text);
    options.command = command;
    std::string text;
    try {
        text = o.to == "torch" ? export_torch(o.expression, options) : export_cpp(o.expression, options);
    } catch (const ParseError& e) {
        throw InputError(fmt::format("in the expression, {}", e.what()));  // a typo gets the caret report
    }
    write_output(o.output, text);
    return 0;
}

}  // namespace

Action add_export(CLI::App& app) {
    auto o = std::make_shared<ExportCliOptions>();
    CLI::App* sub = app.add_subcommand("export", "Write an activation and its derived backward as a PyTorch module or a C++ header.");
    add_expression_argument(*sub, o->expression, "The activation, elementwise in its input");
    sub->add_option("--to", o->to, "torch (a Python file) or cpp (a C++17 header)")->required()->check(CLI::IsMember({"torch", "cpp"}));
    sub->add_flag("--native", o->native,
                  "torch: forward, backward, double backward and jvp run fused kernels that the module compiles on first use "
                  "(the pure-torch Function is the fallback)");
    sub->add_option("--name", o->name, "The module's class name (torch) or the namespace (cpp); default Activation");
    add_param_spec_option(*sub, o->params);
    sub->add_option("--input", o->input, "The input variable (default x)");
    sub->add_option("-o,--output", o->output, "The file to write (default: stdout)");
    sub->footer(
        "Examples:\n"
        "  symgrad export 'x * sigmoid(beta * x)' --to torch --native --name Swish --param beta=per-unit:1.0 -o swish.py\n"
        "  symgrad export 'swish(x, beta)' --to cpp --name swish --param beta=per-unit:1.0 -o swish.hpp");
    return [o] { return run_export(*o); };
}

}  // namespace symgrad::cli
