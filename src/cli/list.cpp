// symgrad list [NAME] [--format text|markdown|json]: the built-in activations, with formulas and parameters
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "symgrad/activations.hpp"

namespace symgrad::cli {

namespace {

struct ListOptions {
    std::string name;
    std::string format = "text";
};

std::string_view role_name(ParameterRole role) {
    switch (role) {
    case ParameterRole::per_unit: return "learned per unit";
    case ParameterRole::shared: return "learned, shared";
    case ParameterRole::fixed: return "fixed";
    }
    return "";
}

std::string parameter_line(const ActivationParameter& p) {
    return fmt::format("{} = {:g} ({}): {}", p.name, p.default_value, role_name(p.role), p.meaning);
}

std::string text_entry(const ActivationInfo& a) {
    std::string out = fmt::format("{}\n  formula     {}\n  LaTeX       {}\n", a.signature, a.formula, a.latex);
    for (std::size_t i = 0; i < a.params.size(); ++i) {
        out += fmt::format("  {}  {}\n", i == 0 ? "parameters" : "          ", parameter_line(a.params[i]));
    }
    out += fmt::format("  PyTorch     {}\n", a.torch.empty() ? "none" : a.torch);
    if (!a.note.empty()) out += fmt::format("  note        {}\n", a.note);
    return out;
}

std::string markdown_entry(const ActivationInfo& a) {
    std::string out = fmt::format("### {}\n\n`{}`\n\n$$ {} $$\n\n- formula: `{}`\n", a.name, a.signature, a.latex, a.formula);
    for (const auto& p : a.params)
        out += fmt::format("- parameter `{}`: default {:g}, {}; {}\n", p.name, p.default_value, role_name(p.role), p.meaning);
    out += fmt::format("- PyTorch: {}\n", a.torch.empty() ? "none" : fmt::format("`{}`", a.torch));
    if (!a.note.empty()) out += fmt::format("- {}\n", a.note);
    return out + "\n";
}

nlohmann::json json_entry(const ActivationInfo& a) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : a.params) {
        params.push_back({{"name", p.name}, {"default", p.default_value}, {"role", role_name(p.role)}, {"meaning", p.meaning}});
    }
    return {{"name", a.name},   {"signature", a.signature}, {"formula", a.formula}, {"latex", a.latex},
            {"params", params}, {"torch", a.torch},         {"note", a.note}};
}

int run_list(const ListOptions& o) {
    std::vector<const ActivationInfo*> shown;
    if (o.name.empty()) {
        for (const auto& a : activation_catalog()) shown.push_back(&a);
    } else {
        const ActivationInfo* a = find_activation(o.name);
        if (a == nullptr) {
            std::vector<std::string> names;
            for (const auto& entry : activation_catalog()) names.push_back(entry.name);
            throw InputError(fmt::format("no built-in activation '{}'; the built-in ones are {}", o.name, fmt::join(names, ", ")));
        }
        shown.push_back(a);
    }
    if (o.format == "json") {
        nlohmann::json all = nlohmann::json::array();
        for (const auto* a : shown) all.push_back(json_entry(*a));
        std::cout << all.dump(2) << "\n";
        return 0;
    }
    if (o.format == "text" && o.name.empty()) {
        std::cout << fmt::format(
            "{} built-in activations; each is a function of the expression language and of the C++ API "
            "(symgrad/activations.hpp).\n'symgrad list NAME' shows one.\n\n",
            shown.size());
    }
    for (std::size_t i = 0; i < shown.size(); ++i) {
        if (o.format == "markdown") {
            std::cout << markdown_entry(*shown[i]);
        } else {
            std::cout << (i > 0 ? "\n" : "") << text_entry(*shown[i]);
        }
    }
    return 0;
}

}  // namespace

Action add_list(CLI::App& app) {
    auto options = std::make_shared<ListOptions>();
    CLI::App* sub =
        app.add_subcommand("list", "List the built-in activations: formulas (text and LaTeX), parameters, PyTorch equivalents.");
    sub->add_option("name", options->name, "Show this activation only");
    sub->add_option("--format", options->format, "text (default), markdown or json")->check(CLI::IsMember({"text", "markdown", "json"}));
    sub->footer("Examples:\n  symgrad list\n  symgrad list swish\n  symgrad plot 'swish(x, beta)' --param beta=0.5,1,4 -o swish.svg");
    return [options] { return run_list(*options); };
}

}  // namespace symgrad::cli
