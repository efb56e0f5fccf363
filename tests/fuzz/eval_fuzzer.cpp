// libFuzzer target for `symgrad eval`'s request reader: each input is read as a JSON request (keys, shapes,
// data, wrt, grad_output), evaluated with its gradients, and answered, exactly as the command does it, under a
// small memory limit. Anything other than a clean refusal (InputError or symgrad::Error) or an answer that is
// itself valid JSON is a finding: a crash, a sanitizer report, another exception, a hang.
// Build and run: see docs/cli.md ("Fuzzing eval").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../../src/cli/common.hpp"
#include "../../src/cli/eval_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    symgrad::cli::EvalLimits limits;
    limits.memory_limit_gib = 1.0 / 1024;  // 1 MiB of tensors: the fuzzer looks for mistakes, not for big inputs
    try {
        const std::string answer = symgrad::cli::answer_eval_request(text, limits);
        // The answer is what a script will parse: it must be JSON with an output.
        const auto parsed = nlohmann::json::parse(answer);
        if (!parsed.contains("output") || !parsed.contains("grads")) __builtin_trap();
    } catch (const symgrad::Error&) {
        // A clean refusal (InputError derives from symgrad::Error).
    }
    return 0;
}
