// symgrad eval's request reader and answer writer, apart from the command line so that the fuzzer
// (tests/fuzz/eval_fuzzer.cpp) runs exactly what `symgrad eval` runs.
#pragma once

#include <string>
#include <string_view>

namespace symgrad::cli {

struct EvalLimits {
    double memory_limit_gib = 1.0;  // tensors, intermediate values and the request's own numbers
};

// Reads a JSON request (see eval.cpp and docs/cli.md), evaluates it and returns the JSON answer (one line, no
// newline). Bad requests throw InputError (or symgrad::Error) with a one-line message naming the field; error
// messages quote bounded excerpts of the request, never the request itself.
std::string answer_eval_request(std::string_view text, const EvalLimits& limits);

}  // namespace symgrad::cli
