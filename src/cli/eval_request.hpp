// symgrad eval's request reader and answer writer, apart from the command line so that the fuzzer
// (tests/fuzz/eval_fuzzer.cpp) runs exactly what `symgrad eval` runs.
#pragma once

#include <string>
#include <string_view>

#include <symgrad/evaluate.hpp>

namespace symgrad::cli {

struct EvalLimits {
    double memory_limit_gib = 1.0;  // tensors, intermediate values and the request's own numbers
    bool detect_anomaly = false;  // a NaN or infinity in the output or a gradient throws AnomalyError with its origin
};

// Reads a JSON request (see eval.cpp and docs/cli.md), evaluates it and returns the JSON answer (one line, no
// newline). Bad requests throw InputError (or symgrad::Error) with a one-line message naming the field; error
// messages quote bounded excerpts of the request, never the request itself.
std::string answer_eval_request(std::string_view text, const EvalLimits& limits);
// The JSON error object `symgrad eval --detect-anomaly` writes for an anomaly (one line, no newline).
std::string anomaly_json(const Anomaly& anomaly);

}  // namespace symgrad::cli
