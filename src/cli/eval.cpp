// symgrad eval FILE|-: the machine-readable mode. A JSON request in, a JSON answer out:
//   {"expr": "...", "dtype": "float32"|"float64", "values": {NAME: {"shape": [...], "data": [...]}},
//    "grad_output": {"shape": [...], "data": [...]}, "wrt": [NAME, ...]}
//   -> {"output": {"shape": [...], "data": [...]}, "grads": {NAME: {"shape": [...], "data": [...]}}}
// Non-finite numbers are the strings "nan", "inf", "-inf" both ways. See docs/cli.md.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>

#include "common.hpp"
#include "eval_request.hpp"

namespace symgrad::cli {

namespace {

struct EvalOptions {
    std::string file;
    double memory_limit_gib = 1.0;
    bool detect_anomaly = false;
};

// Reads at most memory_limit_gib of text: `symgrad eval /dev/zero` ends with a message, not with all memory.
std::string read_request(const std::string& file, double memory_limit_gib) {
    const auto max_bytes = static_cast<std::size_t>(std::min(memory_limit_gib * 1073741824.0, 1e15));
    std::ifstream opened;
    if (file != "-") {
        opened.open(file, std::ios::binary);
        if (!opened) throw InputError(fmt::format("cannot read '{}'", shown(file)));
    }
    std::istream& in = file == "-" ? std::cin : opened;
    std::string text;
    std::vector<char> chunk(std::size_t{1} << 20);
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_bytes) {
            throw InputError(
                fmt::format("the request is larger than the memory limit of {} GiB (--memory-limit to change it)", memory_limit_gib));
        }
    }
    if (in.bad()) throw InputError(fmt::format("reading '{}' failed", shown(file)));
    return text;
}

}  // namespace

Action add_eval(CLI::App& app) {
    auto options = std::make_shared<EvalOptions>();
    CLI::App* sub = app.add_subcommand("eval", "Evaluate an expression and its gradients from a JSON request (for scripts).");
    sub->add_option("file", options->file, "The JSON request, or - for stdin")->required();
    sub->add_option("--memory-limit", options->memory_limit_gib,
                    "Refuse requests whose text, numbers or tensors need more GiB than this (default 1)")
        ->check(positive_number());
    sub->add_flag("--detect-anomaly", options->detect_anomaly,
                  "On a NaN or infinity that is not in the inputs: a JSON error object naming the subexpression (or the "
                  "derivative rule) that made it, and exit status 3");
    sub->footer(
        "Example:\n"
        "  echo '{\"expr\": \"x * sigmoid(beta * x)\", \"dtype\": \"float64\",\n"
        "         \"values\": {\"x\": {\"shape\": [2], \"data\": [0, 1]}, \"beta\": {\"shape\": [], \"data\": [1]}}}' | symgrad eval -\n"
        "  {\"grads\":{\"beta\":{\"data\":[0.19661193324148185],\"shape\":[]},\"x\":{...}},\"output\":{...}}\n"
        "Keys: expr (required), dtype (float32 default, or float64), values, grad_output (default: ones),\n"
        "wrt (default: every name in values), tangents (forward mode: named tensors that move those variables;\n"
        "the answer then has tangent_output). Non-finite numbers are \"nan\", \"inf\", \"-inf\".");
    return [options] {
        const EvalLimits limits{options->memory_limit_gib, options->detect_anomaly};
        std::string answer;
        try {
            answer = answer_eval_request(read_request(options->file, options->memory_limit_gib), limits);
        } catch (const AnomalyError& error) {
            write_output("", anomaly_json(error.anomaly()) + "\n");  // (and the report on stderr, exit status 3)
            throw;
        }
        write_output("", answer + "\n");
        return 0;
    };
}

}  // namespace symgrad::cli
