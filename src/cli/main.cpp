// The symgrad command-line tool. Exit status: 0 success, 2 bad input (usage, expression, shape, file),
// 1 an internal error (and `check` when a gradient check fails).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "common.hpp"

namespace {

using symgrad::cli::Action;

// `--help` (or -h) before any "--" asks for help, whatever else the command line holds: the help of the subcommand
// named first, or the tool's. Printed, with status 0, when a value that the parse reads was bad (CLI11 checks values
// before it looks for help); -1 when no help was asked for.
int help_if_asked(CLI::App& app, const std::vector<std::pair<CLI::App*, Action>>& actions, int argc, char** argv) {
    bool asked = false;
    for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i) {
        asked = asked || std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h";
    }
    if (!asked) return -1;
    for (const auto& [sub, action] : actions) {
        if (argc > 1 && sub->get_name() == argv[1]) {
            std::cout << sub->help(app.get_name());
            return 0;
        }
    }
    std::cout << app.help();
    return 0;
}

// CLI11's messages start with a capital ("The following argument was not expected"); ours do not.
std::string lowered(std::string message) {
    if (message.size() > 1 && std::isupper(static_cast<unsigned char>(message[0])) &&
        (std::islower(static_cast<unsigned char>(message[1])) || message[1] == ' ')) {
        message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
    }
    return message;
}

// The subcommand named on the command line, or null.
CLI::App* named_subcommand(const std::vector<std::pair<CLI::App*, Action>>& actions, int argc, char** argv) {
    for (const auto& [candidate, action] : actions) {
        if (argc > 1 && candidate->get_name() == argv[1]) return candidate;
    }
    return nullptr;
}

// The first example line of a subcommand's footer ("  symgrad grad 'x * sigmoid(beta * x)' --wrt beta").
std::string first_example(const CLI::App& sub) {
    for (const auto& line : symgrad::cli::split(sub.get_footer(), '\n')) {
        const auto first = line.find_first_not_of(' ');
        if (first != std::string::npos && line.compare(first, 8, "symgrad ") == 0) return line.substr(first);
    }
    return {};
}

// The option of `sub` nearest to a misspelt one ("--shap" -> "--shape"), or "".
std::string nearest_option(const CLI::App& sub, const std::string& given) {
    std::vector<std::string> names;
    for (const CLI::Option* option : sub.get_options()) {
        for (const auto& name : option->get_lnames()) names.push_back("--" + name);
        for (const auto& name : option->get_snames()) names.push_back("-" + name);
    }
    return symgrad::detail::nearest_name(given, names);
}

// CLI11's own errors: help and version exit 0; a usage error exits 2 with a message in the tool's form
// ("symgrad: error: ..."), which names a misspelt option's nearest one and a missing argument's example.
int usage_error(CLI::App& app, const CLI::ParseError& e, const std::vector<std::pair<CLI::App*, Action>>& actions, int argc, char** argv) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    if (const int help = help_if_asked(app, actions, argc, argv); help >= 0) return help;
    CLI::App* sub = named_subcommand(actions, argc, argv);
    const std::string help_hint = sub != nullptr ? fmt::format("'symgrad {} --help' lists its options", sub->get_name())
                                                 : std::string("'symgrad --help' lists the subcommands");
    // An option the subcommand does not have: name it and the nearest one. An argument that starts with '-' and is
    // no option may be an expression ("symgrad grad '-x'").
    const bool unexpected = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr || dynamic_cast<const CLI::RequiredError*>(&e) != nullptr;
    for (int i = 2; sub != nullptr && unexpected && i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") break;
        if (arg.size() < 2 || arg[0] != '-') continue;
        // CLI11 reads "-2*x" as a value, and "-ofile" as -o with its value: neither is an unknown option.
        if (std::isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.') continue;
        if (arg[1] != '-' && sub->get_option_no_throw(arg.substr(0, 2)) != nullptr) continue;
        const std::string name = arg.substr(0, arg.find('='));
        if (const CLI::Option* option = sub->get_option_no_throw(name); option != nullptr) {
            if (name.size() == arg.size() && option->get_type_size() != 0) ++i;  // its value ("--range -5:5")
            continue;
        }
        if (arg[1] != '-' || arg.size() == 2 || !std::isalpha(static_cast<unsigned char>(arg[2]))) {
            std::cerr << fmt::format(
                "symgrad: error: symgrad {} has no option '{}' (an expression that starts with '-' goes in parentheses: "
                "symgrad {} '({})')\n",
                sub->get_name(), symgrad::cli::shown(name), sub->get_name(), symgrad::cli::shown(arg));
            return 2;
        }
        const std::string near = nearest_option(*sub, name);
        std::cerr << fmt::format("symgrad: error: symgrad {} has no option '{}'{}; {}\n", sub->get_name(), symgrad::cli::shown(name),
                                 near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near), help_hint);
        return 2;
    }
    // Words after the expression: most often an expression with spaces that was not quoted.
    if (sub != nullptr && dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
        const std::string example = first_example(*sub);
        std::cerr << fmt::format("symgrad: error: {} (an expression with spaces goes in quotes{}); {}\n",
                                 symgrad::cli::shown(lowered(e.what())), example.empty() ? "" : fmt::format(", as in: {}", example),
                                 help_hint);
        return 2;
    }
    // A missing argument: say which, and show the subcommand's example.
    if (sub != nullptr && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && std::string_view(e.what()).starts_with("expr ")) {
        const std::string example = first_example(*sub);
        std::cerr << fmt::format("symgrad: error: symgrad {} needs an expression (in quotes){}\n", sub->get_name(),
                                 example.empty() ? "" : fmt::format(", e.g.\n  {}", example));
        return 2;
    }
    // An option given without its value: CLI11 says "--wrt: 1 required TEXT missing".
    const std::string message = e.what();
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && message.ends_with(" missing") &&
        message.find(": ") != std::string::npos) {
        std::cerr << fmt::format("symgrad: error: {} needs a value; {}\n", symgrad::cli::shown(message.substr(0, message.find(": "))),
                                 help_hint);
        return 2;
    }
    if (sub == nullptr) {
        std::vector<std::string> names;
        for (const auto& [candidate, action] : actions) names.push_back(candidate->get_name());
        std::sort(names.begin(), names.end());
        const std::string given = argc > 1 ? symgrad::cli::shown(argv[1]) : std::string();
        std::cerr << fmt::format("symgrad: error: {}; the subcommands are {}, and 'symgrad --help' says more\n",
                                 argc > 1 ? fmt::format("symgrad has no option '{}' (options go after a subcommand)", given)
                                          : std::string("say what to do: symgrad SUBCOMMAND ..."),
                                 fmt::join(names, ", "));
        return 2;
    }
    std::cerr << fmt::format("symgrad: error: {}; {}\n", symgrad::cli::shown(lowered(message)), help_hint);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace symgrad::cli;
    CLI::App app{"symgrad: symbolic derivatives of activation functions, checked, drawn and traced.", "symgrad"};
    app.require_subcommand(1, 1);
    // The version, and the kernel set this CPU gets (what a bug report needs to say).
    app.set_version_flag("--version", [] {
        std::string kernels;
        try {
            kernels = symgrad::resolve_instruction_set();
        } catch (const symgrad::Error& e) {
            kernels = fmt::format("none ({})", e.what());
        }
        return fmt::format("symgrad {}\nkernels: {} (this CPU runs: {}; SYMGRAD_ISA chooses another)", symgrad::version, kernels,
                           fmt::join(symgrad::available_instruction_sets(), ", "));
    });
    app.footer(
        "Examples:\n"
        "  symgrad grad 'x * sigmoid(beta * x)'\n"
        "  symgrad check 'p1 * sigmoid(p2 * x + b1) + b2' --shape x=8,4 --shape p1=4 --shape p2=4 --shape b1=4 --shape b2=4\n"
        "  symgrad graph 'x * sigmoid(beta * x)' --grad --format svg -o swish.svg\n"
        "  symgrad lesson 'x * sigmoid(beta * x)' --at x=2 --at beta=0.5 -o swish.html\n"
        "  echo '{\"expr\": \"x * sigmoid(x)\", \"values\": {\"x\": {\"shape\": [2], \"data\": [0, 1]}}}' | symgrad eval -\n"
        "  symgrad bench 'x * sigmoid(beta * x)' --shape x=4096,1024 --shape beta=1024\n"
        "  symgrad kernel 'x * sigmoid(beta * x)' --shape x=4096,1024 --shape beta=1024\n"
        "  symgrad train --act swish_beta --data spirals\n"
        "  symgrad list\n"
        "  symgrad export 'x * sigmoid(beta * x)' --to torch --name Swish --param beta=per-unit:1.0 -o swish.py\n"
        "Run 'symgrad SUBCOMMAND --help' for each subcommand's options.");
    std::vector<std::pair<CLI::App*, Action>> actions;
    for (auto add : {add_grad, add_check, add_graph, add_eval, add_trace, add_lesson, add_plot, add_bench, add_kernel, add_cache, add_train,
                     add_predict, add_list, add_export}) {
        Action action = add(app);
        actions.emplace_back(app.get_subcommands({}).back(), std::move(action));
    }
    // CLI11 would answer a mistyped subcommand with "A subcommand is required": name it instead.
    if (argc > 1 && argv[1][0] != '-') {
        const std::string given = argv[1];
        std::vector<std::string> names;
        for (auto& [sub, action] : actions) names.push_back(sub->get_name());
        std::sort(names.begin(), names.end());
        if (std::find(names.begin(), names.end(), given) == names.end()) {
            std::string hint;
            for (const auto& name : names) {
                const bool swapped = given.size() == name.size() && std::is_permutation(given.begin(), given.end(), name.begin());
                if (swapped || (given.size() >= 3 && name.starts_with(given))) hint = fmt::format(" (did you mean '{}'?)", name);
            }
            std::cerr << fmt::format("symgrad: error: unknown subcommand '{}'{}; the subcommands are {}\n", given, hint,
                                     fmt::join(names, ", "));
            return 2;
        }
    }
    bool parsed = false;  // errors before this are the command line's
    try {
        // The shared options (common.hpp) read their values while the command line is parsed: their errors are
        // InputErrors, caught below with those of the subcommands.
        app.parse(argc, argv);
        parsed = true;
        for (auto& [sub, action] : actions) {
            if (!sub->parsed()) continue;
            const int status = action();
            // Output that did not reach its destination (a full disk, a closed pipe) is a failure, not success.
            std::cout.flush();
            if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
                std::cerr << fmt::format("symgrad: error: writing to standard output failed: {}\n", std::strerror(errno));
                return 2;
            }
            return status;
        }
        return 2;
    } catch (const CLI::ParseError& e) {
        return usage_error(app, e, actions, argc, argv);
    } catch (const InputError& e) {
        if (!parsed) {
            if (const int help = help_if_asked(app, actions, argc, argv); help >= 0) return help;
        }
        std::cerr << "symgrad: error: " << e.what() << "\n";
        return 2;
    } catch (const symgrad::AnomalyError& e) {
        // --detect-anomaly found a NaN or an infinity: exit status 3, the report on stderr.
        std::cerr << "symgrad: " << e.what() << "\n";
        return 3;
    } catch (const symgrad::Error& e) {
        // Errors of the library on user input (shapes, bindings, ...) are input errors too.
        std::cerr << "symgrad: error: " << e.what() << "\n";
        return 2;
    } catch (const std::bad_alloc&) {
        std::cerr << "symgrad: error: out of memory\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "symgrad: internal error: " << e.what() << "\n";
        return 1;
    }
}
