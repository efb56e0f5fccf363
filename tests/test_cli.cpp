// The symgrad executable, run as a user would run it: exit status, output and messages.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"

using symgrad::testing::CliEnv;
using symgrad::testing::run_cli;
using symgrad::testing::run_cli_with;

namespace {

const std::string swish = "x * sigmoid(beta * x)";
const std::string seed_activation = "p1 * sigmoid(p2 * x + b1) + b2";
const std::string pade = "(a0 + a1*x + a2*x^2) / (1 + abs(b1*x + b2*x^2))";

// A refusal: status 2, nothing on stdout, the message on stderr.
void expect_refusal(const std::vector<std::string>& args, const std::string& message) {
    const auto r = run_cli(args);
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("trace and grad show where a gradient is overridden", "[cli]") {
    const auto r = run_cli({"trace", "x * custom_grad(heaviside(x, 0.5), sigmoid(4 * x)) + stop_gradient(x)", "--at", "x=0.25"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("v4 = custom_grad(v1, v3) = 1") != std::string::npos);
    CHECK(r.out.find("custom_grad: the value of v1; its gradient is replaced by that of v3\n      d/dv1: no gradient\n") !=
          std::string::npos);
    CHECK(r.out.find("stop_gradient: the value of x; no gradient flows back through it") != std::string::npos);
    CHECK(r.out.find("dy/dx = 1.19661") != std::string::npos);  // 1 + 0.25 * 4 * sigmoid'(1); the step adds nothing
    const auto g = run_cli({"grad", "custom_grad(round(x), x)"});
    CHECK(g.out == "dx = 1\n");
}

TEST_CASE("--detect-anomaly: eval, check and train stop at the first NaN or infinity with exit status 3", "[cli][anomaly]") {
    const auto e = run_cli({"eval", "--detect-anomaly", "-"},
                           R"J({"expr": "x * sqrt(x - 1)", "dtype": "float64", "values": {"x": {"shape": [3], "data": [2, 1, 3]}}})J");
    CHECK(e.status == 3);
    CHECK(e.out.starts_with("{\"error\":\"anomaly\",\"expression\":\"x / (2 * sqrt(x - 1))\",\"index\":[1],"));
    CHECK(e.out.find("\"rule\":\"d/du sqrt(u) = 1 / (2 * sqrt(u)) where u = x - 1\",\"rule_of\":\"sqrt(x - 1)\"") != std::string::npos);
    CHECK(e.out.find("\"pass\":\"backward\"") != std::string::npos);
    CHECK(e.err.starts_with("symgrad: anomaly: backward pass: x / (2 * sqrt(x - 1)) made inf at element [1] of its shape [3], in the gradient of sqrt(x - 1)"));
    // without the flag the answer holds the inf; a NaN that is in the inputs is no anomaly
    const auto plain = run_cli({"eval", "-"}, R"J({"expr": "x * sqrt(x - 1)", "dtype": "float64", "values": {"x": {"shape": [3], "data": [2, 1, 3]}}})J");
    CHECK(plain.status == 0);
    const auto given = run_cli({"eval", "--detect-anomaly", "-"}, R"J({"expr": "x * 2", "values": {"x": {"shape": [2], "data": [1, "nan"]}}})J");
    CHECK(given.status == 0);
    const auto c = run_cli({"check", "sqrt(x) * x", "--range", "-1:-0.5", "--detect-anomaly"});
    CHECK(c.status == 3);
    CHECK(c.err.starts_with("symgrad: anomaly: forward pass: sqrt(x) made nan.\nThere, x = -0."));
    const auto t = run_cli({"train", "--act", "x * sqrt(x)", "--epochs", "2", "--detect-anomaly", "--data", "two-moons", "--examples", "200"});
    CHECK(t.status == 3);
    CHECK(t.err.find("anomaly: epoch 1, the batch of examples 0 to 63 (of the shuffled order), forward pass: sqrt(input @ layer1.weight + layer1.bias) made nan at element [0, 0] of its shape [64, 64].") != std::string::npos);
    // check refuses what finite differences cannot check
    const auto o = run_cli({"check", "custom_grad(round(x), x)"});
    CHECK(o.status == 2);
    CHECK(o.err.find("'custom_grad(round(x), x)' replaces the gradient on purpose") != std::string::npos);
}

TEST_CASE("grad prints the derivatives with let bindings", "[cli]") {
    const auto r = run_cli({"grad", swish});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    // Simplified by default (operands in canonical order); --raw shows what the reverse sweep built.
    CHECK(r.out == "let t1 = sigmoid(beta * x)\nlet t2 = x * (t1 * (1 - t1))\ndx = t1 + beta * t2\ndbeta = x * t2\n");
    const auto raw = run_cli({"grad", swish, "--raw"});
    CHECK(raw.out == "let t1 = sigmoid(beta * x)\nlet t2 = x * (t1 * (1 - t1))\ndx = t1 + t2 * beta\ndbeta = t2 * x\n");
    const auto only_beta = run_cli({"grad", swish, "--wrt", "beta"});
    CHECK(only_beta.out == "let t1 = sigmoid(beta * x)\ndbeta = x * (x * (t1 * (1 - t1)))\n");
    const auto gelu = run_cli({"grad", "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))"});
    CHECK(gelu.out.find("0.3989422804014327 * t2") != std::string::npos);  // 0.5 * 0.7978845608028654, collected
    const auto latex = run_cli({"grad", swish, "--wrt", "beta", "--latex"});
    CHECK(latex.out.find("\\frac{\\partial y}{\\partial \\beta} &=") != std::string::npos);
    const auto tensors =
        run_cli({"grad", seed_activation, "--shape", "x=8,4", "--shape", "p1=4", "--shape", "p2=4", "--shape", "b1=4", "--shape", "b2=4"});
    CHECK(tensors.status == 0);
    CHECK(tensors.out.find("dp1 = sum(t1, axes=[0])") != std::string::npos);
    CHECK(tensors.out.find("db2 = broadcast_to(8, [4])") != std::string::npos);
    CHECK(run_cli({"grad", pade}).status == 0);
}

TEST_CASE("bad input exits 2 with a message on stderr", "[cli]") {
    auto expect = [](const std::vector<std::string>& args, const std::string& message, const std::string& input = "") {
        const auto r = run_cli(args, input);
        INFO(r.err);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find(message) != std::string::npos);
    };
    expect({"grad", "x * sigmoidd(beta * x)"},
           "symgrad: error: in the expression, line 1, column 5: unknown function 'sigmoidd' (did you mean 'sigmoid'?)\n"
           "  x * sigmoidd(beta * x)\n      ^~~~~~~~");
    expect({"grad", "x * "}, "'x * ' ends where an operand was expected");
    expect({"grad", "sigmoid(x, beta)"}, "sigmoid takes 1 argument, got 2");
    expect({"grad", swish, "--wrt", "gamma"}, "--wrt: 'gamma' is not a variable of the expression (its variables: x, beta)");
    expect({"grad", "2 * 3"}, "the expression has no variables to differentiate with respect to");
    expect({"grad", "x * beta", "--shape", "x=5,4", "--shape", "beta=3"}, "mul: cannot broadcast [5, 4] with [3] in 'x * beta'\n");
    // A parameter shaped like the batch: the message answers the learner's question.
    expect({"grad", "p1 * sigmoid(x)", "--shape", "x=32,4", "--shape", "p1=32"},
           "mul: cannot broadcast [32] with [32, 4] in 'p1 * sigmoid(x)'. If p1 is a parameter: one per unit of [32, 4] has shape [4] "
           "(the last axis), one shared by all has shape [], and one value per example would tie p1 to the batch size "
           "(docs/parameter_shapes.md)");
    expect({"grad", "p1 * x", "--shape", "x=32,4", "--shape", "p1=32"}, "one per unit of x [32, 4] has shape [4]");
    // Only the pair that failed to broadcast gets the hint: here p [4] and x [4, 4] broadcast, c [5] does not.
    const auto other_pair = run_cli({"grad", "where(c, p, x)", "--shape", "c=5", "--shape", "p=4", "--shape", "x=4,4"});
    CHECK(other_pair.status == 2);
    CHECK(other_pair.err.find("cannot broadcast") != std::string::npos);
    CHECK(other_pair.err.find("If p is a parameter") == std::string::npos);
    expect({"grad", swish, "--shape", "x"}, "--shape 'x': write NAME=D0,D1,...");
    expect({"grad", swish, "--shape", "x=5,-4"}, "--shape 'x=5,-4': '-4' is not a dimension");
    expect({"grad", swish, "--shape", "x=2", "--shape", "x=3"}, "--shape gives 'x' twice");
    expect({"grad"}, "symgrad: error: symgrad grad needs an expression (in quotes), e.g.\n  symgrad grad 'x * sigmoid(beta * x)' --wrt beta\n");
    // CLI11's own errors in the tool's form, with the nearest option, subcommand or activation name.
    expect({"grad", swish, "--shap", "x=3"},
           "symgrad: error: symgrad grad has no option '--shap' (did you mean '--shape'?); 'symgrad grad --help' lists its options\n");
    expect({"grad", swish, "--wrt"}, "symgrad: error: --wrt needs a value; 'symgrad grad --help' lists its options\n");
    expect({"grad", "x", "*", "y"}, "symgrad: error: the following arguments were not expected: y * (an expression with spaces goes in quotes");
    expect({"plot", swish, "--range", "-5:5", "--bogus"}, "symgrad: error: symgrad plot has no option '--bogus';");
    expect({"--frob"}, "symgrad: error: symgrad has no option '--frob' (options go after a subcommand); the subcommands are bench,");
    expect({}, "symgrad: error: say what to do: symgrad SUBCOMMAND ...; the subcommands are bench,");
    expect({"train", "--act", "swsh"}, "symgrad: error: unknown activation 'swsh' (did you mean 'swish'?): the built-in ones are");
    expect({"frobnicate"},
           "symgrad: error: unknown subcommand 'frobnicate'; the subcommands are bench, cache, check, eval, export, grad, graph, kernel, lesson, list");
    expect({"gard", "x"}, "unknown subcommand 'gard' (did you mean 'grad'?)");
    expect({"grad", swish, "--no-such-flag"}, "--no-such-flag");
    expect({"check", swish, "--range", "2:1"}, "--range '2:1': LO must be below HI");
    expect({"check", swish, "--shape", "x=1000,1000"}, "the variables have 1000001 elements in all; check perturbs each one");
    expect({"check", swish, "--range", "a:1"}, "--range: 'a' is not a number");
    expect({"graph", swish, "--format", "pdf"}, "--format 'pdf': choose dot, svg or png");
    expect({"graph", swish, "--format", "png"}, "--format png needs -o FILE");
    expect({"graph", swish, "-o", "/nonexistent/dir/file.dot"},
           "-o '/nonexistent/dir/file.dot': the directory '/nonexistent/dir' does not exist");
    expect({"eval", "/nonexistent.json"}, "cannot read '/nonexistent.json'");
    expect({"trace", swish, "--at", "x=1"}, "variable 'beta' has no value: give one with --at beta=...");
    expect({"trace", swish, "--at", "x"}, "--at 'x': write NAME=VALUE");
    expect({"trace", swish, "--at", "x=1", "--at", "gamma=2"}, "--at 'gamma=2': the expression has no variable 'gamma'");
    expect({"trace", swish, "--at", "x=1,2", "--at", "beta=1"}, "--at 'x=1,2': 'x' has shape [] (1 values) but 2 values are given");
    expect({"trace", swish, "--at", "x=one", "--at", "beta=1"}, "--at x: 'one' is not a number");
    expect({"plot", swish}, "parameter 'beta' has no value: give one or more with --param beta=...");
    expect({"plot", "beta * 2", "--param", "beta=1"}, "the expression has no variable 'x' to plot against");
    expect({"plot", "sum(x) * beta", "--param", "beta=1"}, "the expression is not elementwise in 'x'");
    expect({"plot", swish, "--param", "beta=1", "--param", "gamma=2"}, "--param gamma: the expression has no variable 'gamma'");
    expect({"plot", swish, "--param", "beta=1,2,3,4,5,6,7,8,9"}, "9 curves are too many to tell apart");
    expect({"plot", swish, "--param", "beta=1", "--range", "5:-5"}, "--range '5:-5': LO must be below HI");
    expect({"plot", swish, "--param", "beta=1", "--points", "1"}, "--points 1: choose 2 to 100000");
    expect({"plot", swish, "--param", "x=1"}, "--param 'x=1': 'x' is the plotted variable");
    expect({"grad", swish, "--shape", "x=4", "--shape", "bta=4"},
           "--shape gives a shape to 'bta', which is not a variable of the expression (its variables: x, beta)");
    expect({"bench", "2 * 3"}, "the expression has no variables: there is nothing to run it on");
    expect({"bench", swish, "--dtype", "float16"}, "--dtype 'float16': choose float32 or float64");
    expect({"bench", swish, "--shape", "x=100000,100000"}, "past the memory limit of 4 GiB");
    expect({"bench", swish, "--repeat", "0"}, "--repeat");
    expect({"train", "--data", "iris"}, "unknown dataset 'iris': the built-in ones are two-moons, spirals, circles, xor, height-weight");
    expect({"train", "--act", "swishh"}, "unknown activation 'swishh' (did you mean 'swish'?): the built-in ones are acon_c, apl, celu, elu, gaussian, gelu");
    expect({"train", "--act", "x * sigmoid(beta * x)"},
           "activation 'custom': 'beta' is a variable of 'x * sigmoid(beta * x)' but has no parameter spec (e.g. beta=per-unit:1.0)");
    expect({"train", "--act", "x * sigmoid(beta * x)", "--param", "beta=[256,64]:1", "--hidden", "64"},
           "parameter 'beta' has shape [256, 64], which includes the batch axis: a parameter must not depend on how many examples a "
           "batch holds; use [64] (one per unit) or [] (shared by all units)");
    expect({"train", "--act", "prelu", "--param", "alpha=shared:1"},
           "--param 'alpha=shared:1': the activation 'prelu' has no parameter 'alpha'");
    expect({"train", "--param", "beta"}, "--param 'beta': write NAME=VALUE");
    expect({"train", "--hidden", "64,x"}, "--hidden: 'x' is not a number");
    expect({"train", "--hidden", "0"}, "--hidden '0': '0' is not a layer width");
    expect({"train", "--optimizer", "lbfgs"}, "unknown optimizer 'lbfgs': choose sgd, adam or adamw");
    expect({"train", "--schedule", "step"}, "unknown learning-rate schedule 'step'");
    expect({"train", "--weights", "he"}, "--weights 'he': choose kaiming or xavier");
    expect({"train", "--epochs", "0"}, "--epochs 0: choose 1 to 1,000,000");
    expect({"train", "--test-fraction", "1.5"}, "--test-fraction 1.5: choose a number between 0 and 1");
    expect({"train", "--data", "/tmp/x.csv"}, "--data '/tmp/x.csv': name its class column with --target");
    expect({"train", "--data", "spirals", "--target", "y"}, "--target is for CSV files; 'spirals' is a built-in dataset");
}

TEST_CASE("train: the README's command learns spirals to 97% and shows how beta moved; runs repeat exactly", "[cli]") {
    const auto r = run_cli({"train", "--act", "swish_beta", "--data", "spirals"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const auto at = r.out.find("test accuracy: ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(r.out.substr(at + 15)) >= 97.0);
    CHECK(r.out.find("activation parameters (initial -> learned: mean, std, min, max):") != std::string::npos);
    CHECK(r.out.find("  act1.beta    [64]   1 -> mean ") != std::string::npos);
    CHECK(r.out.find("epoch 300/300") != std::string::npos);
    // Plain lines when stdout is not a terminal (as here): about twenty, not three hundred.
    std::size_t lines = 0;
    for (std::size_t p = r.out.find("epoch "); p != std::string::npos; p = r.out.find("\nepoch ", p + 1)) ++lines;
    CHECK(lines <= 21);
    // The same seed: the same output, timing lines aside.
    const auto again = run_cli({"train", "--data", "two-moons", "--epochs", "5", "--hidden", "8"});
    const auto twice = run_cli({"train", "--data", "two-moons", "--epochs", "5", "--hidden", "8"});
    auto numbers = [](const std::string& out) {
        std::string kept;
        for (std::size_t p = 0; p < out.size();) {
            const auto end = out.find('\n', p);
            const std::string line = out.substr(p, end - p);
            if (line.find("examples/s") == std::string::npos && line.find("training time") == std::string::npos) kept += line + "\n";
            if (end == std::string::npos) break;
            p = end + 1;
        }
        return kept;
    };
    CHECK(numbers(again.out) == numbers(twice.out));
    CHECK(run_cli({"train", "--act", "x * sigmoid(b * x)", "--param", "b=shared:uniform(0.5, 1.5)", "--data", "xor", "--epochs", "3"})
              .status == 0);
}

TEST_CASE("train draws its curves and the decision regions as SVG", "[cli]") {
    const std::string dir = std::filesystem::temp_directory_path() / "symgrad_cli_plots";
    std::filesystem::create_directories(dir);
    const auto r = run_cli({"train", "--data", "two-moons", "--hidden", "8", "--epochs", "12", "--plot", dir + "/curves.svg", "--boundary",
                            dir + "/regions.svg"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const std::string curves = symgrad::testing::slurp(dir + "/curves.svg");
    CHECK(curves.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(curves.find(">training loss<") != std::string::npos);
    CHECK(curves.find(">test accuracy (%)<") != std::string::npos);
    CHECK(curves.ends_with("</svg>\n"));
    const std::string regions = symgrad::testing::slurp(dir + "/regions.svg");
    CHECK(regions.find(">ringed:</text>") != std::string::npos);
    CHECK(regions.find(">misclassified</text>") != std::string::npos);
    CHECK(regions.find("<circle") != std::string::npos);
    CHECK(regions.find(">x1<") != std::string::npos);
    const auto bad = run_cli({"train", "--data", "two-moons", "--epochs", "2", "--boundary", "/nonexistent/dir/r.svg"});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("--boundary '/nonexistent/dir/r.svg': the directory '/nonexistent/dir' does not exist") != std::string::npos);
    CHECK(bad.out.empty());  // refused before training
}

TEST_CASE("bench times forward and backward and prints the JSON it promises", "[cli]") {
    const auto r = run_cli({"bench", swish, "--shape", "x=64,32", "--shape", "beta=32", "--repeat", "3", "--json", "--threads", "2"});
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    for (const char* key : {"fwd_ms", "bwd_ms", "fwd_bwd_ms", "gbps", "copy_gbps", "bound_ms", "bound_fraction", "compile_ms"}) {
        INFO(key);
        CHECK(j.at(key).get<double>() > 0);
    }
    CHECK(j.at("threads") == 2);
    CHECK(j.at("repeat") == 3);
    CHECK(j.at("shape") == nlohmann::json{{"x", {64, 32}}, {"beta", {32}}});
    CHECK(j.at("dtype") == "float32");
    // The fewest bytes: forward reads x and beta and writes y; backward reads them and dy, writes dx and dbeta.
    CHECK(j.at("min_bytes").get<double>() == 4.0 * (64 * 32 + 32 + 64 * 32 + 64 * 32 + 32 + 64 * 32 + 64 * 32 + 32));
    CHECK(j.at("fwd_bwd_ms").get<double>() >= j.at("fwd_ms").get<double>());
    const auto human = run_cli({"bench", swish, "--shape", "x=8,4", "--repeat", "2", "--dtype", "float64"});
    CHECK(human.status == 0);
    CHECK(human.out.find("x [8, 4], beta []; float64; 1 thread;") != std::string::npos);
    CHECK(human.out.find("of the bound") != std::string::npos);
}

TEST_CASE("bench says which backend ran and how long its kernels took to compile", "[cli][native]") {
    const auto r = run_cli({"bench", swish, "--shape", "x=64,32", "--shape", "beta=32", "--repeat", "2", "--json"});
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("backend") == "native");
    CHECK(j.at("compile_cold_ms").get<double>() > 0);
    CHECK(j.at("compile_warm_ms").get<double>() > 0);
    CHECK(j.at("compile_warm_ms").get<double>() < j.at("compile_cold_ms").get<double>());
    CHECK(j.at("kernels_from_cache").is_boolean());
    const auto human = run_cli({"bench", swish, "--shape", "x=64,32", "--repeat", "2"});
    CHECK(human.out.find("native backend") != std::string::npos);
    CHECK(human.out.find("native kernels (") != std::string::npos);

    const auto chosen = run_cli({"bench", swish, "--shape", "x=64,32", "--repeat", "2", "--json", "--backend", "interpreter"});
    REQUIRE(chosen.status == 0);
    CHECK(chosen.err.empty());
    const auto k = nlohmann::json::parse(chosen.out);
    CHECK(k.at("backend") == "interpreter");
    CHECK(k.at("compile_cold_ms").is_null());

    // No compiler: the interpreter runs and stderr says why, once.
    CliEnv env;
    env.variables = {{"SYMGRAD_CXX", "/nonexistent/g++"}};
    const auto fallback = run_cli_with({"bench", swish, "--shape", "x=64,32", "--repeat", "2", "--json"}, env);
    REQUIRE(fallback.status == 0);
    CHECK(nlohmann::json::parse(fallback.out).at("backend") == "interpreter");
    CHECK(fallback.err ==
          "symgrad: the native backend is not used (no C++ compiler: '/nonexistent/g++' (SYMGRAD_CXX=/nonexistent/g++) is not an "
          "executable; set SYMGRAD_CXX); the interpreter runs\n");
    // SYMGRAD_JIT=0 is a choice: nothing said.
    env.variables = {{"SYMGRAD_JIT", "0"}};
    const auto off = run_cli_with({"bench", swish, "--shape", "x=64,32", "--repeat", "2", "--json"}, env);
    CHECK(off.err.empty());
    CHECK(nlohmann::json::parse(off.out).at("backend") == "interpreter");
    expect_refusal({"bench", swish, "--backend", "jit"}, "--backend 'jit': choose native or interpreter");
}

TEST_CASE("kernel prints the generated C++, which compiles", "[cli][native]") {
    const auto r = run_cli({"kernel", swish, "--shape", "x=64,32", "--shape", "beta=32"});
    REQUIRE(r.status == 0);
    for (const char* part : {"// forward: y = x * sigmoid(beta * x)", "symgrad_region_0", "K::sigmoid<float>(v0, 0.0f, 0.0f);  // sigmoid(beta * x)",
                             "// backward: dx, dbeta given dy", "acc0[j + t] += static_cast<double>(", "// sum [32]"}) {
        INFO(part);
        CHECK(r.out.find(part) != std::string::npos);
    }
    CHECK(r.out.find("namespace symgrad::vmath") == std::string::npos);
    // Nothing elementwise: no loop, and the plan says why.
    const auto none = run_cli({"kernel", "sum(x)", "--shape", "x=3"});
    CHECK(none.out.find("// 0 fused regions; the plan:\n//   stage 1: sum []\n// (nothing elementwise") != std::string::npos);
    // Several steps and regions (a sum to a scalar between two regions), float64: each program compiles as printed.
    const auto full = run_cli({"kernel", "sum(x * x) + exp(x)", "--shape", "x=64,32", "--full", "--dtype", "float64"});
    REQUIRE(full.status == 0);
    CHECK(full.out.find("namespace symgrad::vmath") != std::string::npos);
    CHECK(full.out.find("K::exp<double>") != std::string::npos);
    CHECK(full.out.find("// 2 fused regions; the plan:") != std::string::npos);
    if (std::system("g++ --version > /dev/null 2>&1") == 0) {
        char dir_template[] = "/tmp/symgrad_kernel_XXXXXX";
        const std::string dir = mkdtemp(dir_template);
        // Each program's source is a translation unit of its own.
        const auto backward = full.out.find("\n// backward:");
        REQUIRE(backward != std::string::npos);
        std::ofstream(dir + "/forward.cpp") << full.out.substr(0, backward);
        std::ofstream(dir + "/backward.cpp") << full.out.substr(backward);
        for (const char* part : {"/forward.cpp", "/backward.cpp"}) {
            CHECK(std::system(("g++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror " + dir + part).c_str()) == 0);
        }
        std::filesystem::remove_all(dir);
    }
    expect_refusal({"kernel", "x +"}, "");
}

TEST_CASE("cache shows the kernel cache and clears it", "[cli][native]") {
    char dir_template[] = "/tmp/symgrad_cache_XXXXXX";
    const std::string dir = mkdtemp(dir_template);
    CliEnv env;
    env.variables = {{"SYMGRAD_CACHE_DIR", dir}};
    const auto empty = run_cli_with({"cache"}, env);
    CHECK(empty.status == 0);
    CHECK(empty.out == "kernel cache " + dir + ": 0 compiled kernel files, 0.0 kB\n");
    REQUIRE(run_cli_with({"bench", swish, "--shape", "x=64,32", "--repeat", "2"}, env).status == 0);
    const auto full = run_cli_with({"cache"}, env);
    CHECK(full.out.find("kernel cache " + dir + ": 2 compiled kernel files, ") == 0);
    std::ofstream(dir + "/mine.txt") << "not symgrad's";
    const auto cleared = run_cli_with({"cache", "--clear"}, env);
    CHECK(cleared.out.find("kernel cache " + dir + ": removed 2 files") == 0);
    CHECK(std::filesystem::exists(dir + "/mine.txt"));
    CHECK(run_cli_with({"cache"}, env).out.find(": 0 compiled kernel files") != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("trace walks through the forward and backward pass", "[cli]") {
    const auto r = run_cli({"trace", swish, "--at", "x=1.5", "--at", "beta=2"});
    CHECK(r.status == 0);
    CHECK(r.out.find("forward pass: each node in evaluation order\n  x                = 1.5\n") != std::string::npos);
    CHECK(r.out.find("  v2 = sigmoid(v1) = 0.952574\n") != std::string::npos);
    CHECK(r.out.find("  v2 = sigmoid(v1)    adjoint 1.5\n      dv2/dv1 = v2 * (1 - v2) = 0.0451767\n"
                     "      v1 += adjoint * dv2/dv1 = 0.067765\n") != std::string::npos);
    CHECK(r.out.find("  dy/dx = 1.0881\n  dy/dbeta = 0.101647\n") != std::string::npos);
    const auto tensors = run_cli(
        {"trace", "x * beta + b", "--shape", "x=2,2", "--shape", "beta=2", "--at", "x=1,2,3,4", "--at", "beta=10,20", "--at", "b=1"});
    CHECK(tensors.status == 0);
    CHECK(tensors.out.find("beta += adjoint * dv1/dbeta = [2] [4, 6] (summed over the axes along which beta [2] was "
                           "broadcast to [2, 2])") != std::string::npos);
    CHECK(tensors.out.find("dy/db = 4") != std::string::npos);
    CHECK(run_cli({"trace", seed_activation, "--at", "x=0.5", "--at", "p1=1", "--at", "p2=2", "--at", "b1=0", "--at", "b2=0"}).status == 0);
    CHECK(run_cli({"trace", pade, "--at", "x=0.5", "--at", "a0=0.1", "--at", "a1=1", "--at", "a2=0.3", "--at", "b1=0.2", "--at", "b2=0.5"})
              .status == 0);
}

TEST_CASE("plot writes an SVG with both panels, ticks and a legend", "[cli]") {
    const auto r = run_cli({"plot", swish, "--param", "beta=0.5,1,2"});
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(r.out.find(">beta = 0.5</text>") != std::string::npos);
    CHECK(r.out.find(">beta = 2</text>") != std::string::npos);
    CHECK(r.out.find(">df/dx</text>") != std::string::npos);
    std::size_t paths = 0;
    for (std::size_t pos = r.out.find("<path"); pos != std::string::npos; pos = r.out.find("<path", pos + 1)) ++paths;
    CHECK(paths == 6);  // three curves, two panels
    CHECK(r.out.ends_with("</svg>\n"));
    // A pole breaks the line instead of drawing it through infinity.
    const auto pole = run_cli({"plot", "1 / x", "--range", "-1:1", "--points", "3"});
    CHECK(pole.status == 0);
    CHECK(pole.out.find("M") != std::string::npos);
}

namespace {
// The number of pieces ('M' commands) of each curve's path, top panel first.
std::vector<int> path_pieces(const std::string& svg) {
    std::vector<int> pieces;
    for (std::size_t pos = svg.find("<path d=\""); pos != std::string::npos; pos = svg.find("<path d=\"", pos + 1)) {
        const std::size_t end = svg.find('"', pos + 9);
        const std::string d = svg.substr(pos + 9, end - pos - 9);
        pieces.push_back(static_cast<int>(std::count(d.begin(), d.end(), 'M')));
    }
    return pieces;
}
}  // namespace

TEST_CASE("plot does not join a curve across a jump or a pole, and joins steep continuous ones", "[cli]") {
    // relu is continuous, its derivative jumps at 0 (a sample point here, with relu'(0) = 0).
    CHECK(path_pieces(run_cli({"plot", "relu(x)"}).out) == std::vector<int>{1, 2});
    // The jump between samples: -5:4.99 with 400 points has no sample at 0.
    CHECK(path_pieces(run_cli({"plot", "relu(x)", "--range", "-5:4.99", "--points", "400"}).out) == std::vector<int>{1, 2});
    // A step's derivative is 0 everywhere, drawn in one piece.
    CHECK(path_pieces(run_cli({"plot", "heaviside(x - 0.31, 0.5)"}).out) == std::vector<int>{2, 1});
    // The pole of 1 / x and of its derivative, between samples: two pieces each, and no stroke through infinity.
    CHECK(path_pieces(run_cli({"plot", "1 / x", "--range", "-1:2", "--points", "101"}).out) == std::vector<int>{2, 2});
    // log is NaN below 0 and -inf at the sample 0; its derivative's rule, 1/x, is finite on both sides of 0.
    CHECK(path_pieces(run_cli({"plot", "log(x)", "--range", "-1:2", "--points", "100"}).out) == std::vector<int>{1, 2});
    // A pole whose two sides go the same way (-1/x^2 in the derivative), between samples and off their middle.
    CHECK(path_pieces(run_cli({"plot", "1 / x", "--range", "-1:2.3", "--points", "90"}).out) == std::vector<int>{2, 2});
    CHECK(path_pieces(run_cli({"plot", "1 / (x - 0.013)", "--range", "-1:1", "--points", "51"}).out) == std::vector<int>{2, 2});
    // floor steps at each whole number (its value is the switch, not its sign); its derivative is 0 everywhere.
    CHECK(path_pieces(run_cli({"plot", "floor(x)", "--range", "-2.5:2.5"}).out) == std::vector<int>{6, 1});
    // x^2 and relu cross their switches (pow's base, the comparison of relu') continuously: one piece for f.
    CHECK(path_pieces(run_cli({"plot", "x^2", "--range", "-1:1.01"}).out) == std::vector<int>{1, 1});
    // A node watched two ways (log1p's argument, a divisor) keeps both, in either order of the terms.
    CHECK(path_pieces(run_cli({"plot", "log1p(x) + 1/x", "--range", "-0.5:2", "--points", "100"}).out)[0] == 2);
    CHECK(path_pieces(run_cli({"plot", "1/x + log1p(x)", "--range", "-0.5:2", "--points", "100"}).out)[0] == 2);
    // Zeros that do not change sign: 1 / (x * x), and sqrt(x * x)'s derivative x / (2 sqrt(x * x)), which jumps.
    CHECK(path_pieces(run_cli({"plot", "1/(x*x)", "--range", "-2:2", "--points", "100"}).out) == std::vector<int>{2, 2});
    CHECK(path_pieces(run_cli({"plot", "sqrt(x*x)", "--range", "-2:2", "--points", "100"}).out) == std::vector<int>{1, 2});
    // A removable singularity stays joined, even with a midpoint exactly on it (400 points: the first midpoint
    // of the segment around 0 is 0).
    // (Its derivative, cos(x) / x - sin(x) / x / x, cancels to noise near 0, which may well show as a jump.)
    CHECK(path_pieces(run_cli({"plot", "sin(x)/x", "--points", "400"}).out)[0] == 1);
    CHECK(path_pieces(run_cli({"plot", "sin(x)/x", "--range", "-1:1", "--points", "100"}).out)[0] == 1);
    // A jump bigger than half the largest double.
    const auto huge = run_cli({"plot", "sign(x) * 1e308 + x", "--range", "-1:1", "--points", "100"});
    CHECK(path_pieces(huge.out)[0] == 2);
    CHECK(huge.out.find("nan") == std::string::npos);  // its width, 2e308, is not a double: drawn by halves
    // A range narrower than the ticks' step in doubles (1e16 + 2): the ticks are counted, not accumulated forever.
    CHECK(run_cli({"plot", "x", "--range", "10000000000000000:10000000000000002"}).status == 0);
    // Steep but continuous: one piece each.
    CHECK(path_pieces(run_cli({"plot", "sigmoid(200 * x)", "--range", "-1:1.003"}).out) == std::vector<int>{1, 1});
    CHECK(path_pieces(run_cli({"plot", "x * sigmoid(beta * x)", "--param", "beta=1,4"}).out) == std::vector<int>{1, 1, 1, 1});
    // abs' is -1, 0 at the sample x = 0, then 1: the lone point 0 is a piece of its own (drawn as nothing).
    CHECK(path_pieces(run_cli({"plot", "abs(x)"}).out) == std::vector<int>{1, 3});
}

TEST_CASE("list shows every built-in activation; plot, grad and check take them by name", "[cli]") {
    const auto all = run_cli({"list"});
    CHECK(all.status == 0);
    for (const auto& entry : symgrad::activation_catalog()) {
        INFO(entry.name);
        CHECK(all.out.find("\n" + entry.signature + "\n  formula     " + entry.formula + "\n  LaTeX       " + entry.latex) !=
              std::string::npos);
    }
    const auto one = run_cli({"list", "swish"});
    CHECK(one.out ==
          "swish(x, beta)\n  formula     x * sigmoid(beta * x)\n  LaTeX       x \\sigma(\\beta x)\n"
          "  parameters  beta = 1 (learned per unit): the sharpness; 1 is silu, large is relu\n"
          "  PyTorch     none\n  note        Ramachandran et al. 2017\n");
    const auto json = nlohmann::json::parse(run_cli({"list", "--format", "json"}).out);
    CHECK(json.size() == symgrad::activation_catalog().size());
    CHECK(json[0]["name"] == "acon_c");
    CHECK(json[0]["params"][0]["role"] == "learned per unit");
    const auto markdown = run_cli({"list", "elu", "--format", "markdown"});
    CHECK(markdown.out.starts_with("### elu\n\n`elu(x, alpha)`\n\n$$ \\begin{cases}"));
    const auto bad = run_cli({"list", "swiss"});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("no built-in activation 'swiss'; the built-in ones are acon_c, apl") != std::string::npos);
    CHECK(run_cli({"list", "--format", "yaml"}).status == 2);
    // The issue's example, and the zoo in the other subcommands.
    const auto plot = run_cli({"plot", "swish(x, beta)", "--param", "beta=0.5,1,4"});
    CHECK(plot.status == 0);
    CHECK(plot.out.find(">beta = 4</text>") != std::string::npos);
    CHECK(run_cli({"grad", "snake(x, a)"}).out ==
          "let t1 = a * x\nlet t2 = sin(t1)\nlet t3 = t2 / a * cos(t1)\ndx = 1 + 2 * (a * t3)\n"
          "da = 2 * (x * t3) - t2 * t2 / a / a\n");
    for (const char* expr : {"gelu(x)", "pau(x, 3, 2, a0, a1, a2, a3, b1, b2)", "sinc(x)", "srelu(x, tl, al, tr, ar)", "apl(x, a1, b1)"}) {
        INFO(expr);
        const auto check = run_cli({"check", expr});
        CHECK(check.status == 0);
    }
    CHECK(run_cli({"check", "log_softmax(x, 0)", "--shape", "x=3,4"}).status == 0);
}

TEST_CASE("help shows an example for the tool and each subcommand", "[cli]") {
    const auto top = run_cli({"--help"});
    CHECK(top.status == 0);
    CHECK(top.out.find("Examples:") != std::string::npos);
    for (const char* sub : {"grad", "check", "graph", "eval", "trace", "plot", "list", "export"}) {
        const auto r = run_cli({sub, "--help"});
        INFO(sub);
        CHECK(r.status == 0);
        CHECK(r.out.find("Example") != std::string::npos);  // "Example:" or "Examples:"
        CHECK(r.out.find(std::string("symgrad ") + sub) != std::string::npos);
    }
    CHECK(run_cli({"--version"}).out.find(symgrad::version) != std::string::npos);
    // grad's help shows its example's real output.
    const auto help = run_cli({"grad", "--help"}).out;
    const auto shown = run_cli({"grad", "x * sigmoid(beta * x)", "--wrt", "beta"}).out;
    REQUIRE(!shown.empty());
    std::string indented;  // each line of the output, indented as the footer's are
    for (std::size_t start = 0; start < shown.size();) {
        const std::size_t end = shown.find('\n', start);
        indented += "  " + shown.substr(start, end - start) + "\n";
        start = end == std::string::npos ? shown.size() : end + 1;
    }
    CHECK(help.find("  symgrad grad 'x * sigmoid(beta * x)' --wrt beta\n" + indented) != std::string::npos);
}

TEST_CASE("--help wins over a bad value on the same command line", "[cli]") {
    // CLI11 reads values before it looks for help; a user who asks for help gets it, whatever else was typed.
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"bench", "--dtype", "float16", "--help"}, {"bench", "--repeat", "0", "--help"}, {"grad", "--shape", "x", "-h"},
             {"train", "--threads", "-1", "--help"}}) {
        const auto r = run_cli(args);
        INFO(fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err);
        CHECK(r.status == 0);
        CHECK(r.err.empty());
        CHECK(r.out == run_cli({args[0], "--help"}).out);
    }
    // After "--" it is the expression's text, not a request for help.
    CHECK(run_cli({"grad", "--", "--help"}).out.find("dhelp = 1") != std::string::npos);
    CHECK(run_cli({"bench", "x", "--dtype", "float16"}).status == 2);
}

TEST_CASE("the shared options (expression, --shape, --param, --dtype, --threads) read and fail alike in every subcommand", "[cli]") {
    auto refused = [](const std::vector<std::string>& args, const std::string& message) {
        const auto r = run_cli(args);
        INFO(args[0] << ": " << r.err);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find("symgrad: error: " + message) != std::string::npos);
    };
    auto help_has = [](const std::string& sub, const std::string& text) {
        const auto r = run_cli({sub, "--help"});
        INFO(sub << " --help:\n" << r.out);
        CHECK(r.out.find(text) != std::string::npos);
    };
    for (const std::string sub : {"grad", "check", "graph", "trace", "bench"}) {
        const std::vector<std::string> at{"--at", "x=1", "--at", "beta=1"};  // trace's own, required
        auto with = [&](std::vector<std::string> args) {
            args.insert(args.begin(), {sub, swish});
            if (sub == "trace") args.insert(args.end(), at.begin(), at.end());
            return args;
        };
        refused(with({"--shape", "x"}), "--shape 'x': write NAME=D0,D1,... (e.g. x=256,64, beta=64, or a= for a scalar)");
        refused(with({"--shape", "x=5,-4"}), "--shape 'x=5,-4': '-4' is not a dimension (a whole number >= 0)");
        refused(with({"--shape", "x=2", "--shape", "x=3"}), "--shape gives 'x' twice");
        refused(with({"--shape", "bta=4"}),
                "--shape gives a shape to 'bta', which is not a variable of the expression (its variables: x, beta)");
        help_has(sub, "The expression, e.g. 'x * sigmoid(beta * x)'");
        help_has(sub, "A variable's shape, NAME=D0,D1,... (default: scalars)");
    }
    for (const std::string sub : {"bench", "train"}) {
        refused(sub == "bench" ? std::vector<std::string>{sub, swish, "--dtype", "float16"}
                               : std::vector<std::string>{sub, "--dtype", "float16"},
                "--dtype 'float16': choose float32 or float64");
        help_has(sub, "float32 (default) or float64");
    }
    for (const std::string sub : {"bench", "train", "predict"}) help_has(sub, "Threads (default 1; 0 = one per hardware thread)");
    for (const std::string sub : {"train", "export"}) {
        std::vector<std::string> args{sub};
        if (sub == "train") args.insert(args.end(), {"--act", swish});
        if (sub == "export") args.insert(args.end(), {swish, "--to", "torch"});
        auto with = [&](const std::string& param) {
            std::vector<std::string> all = args;
            all.insert(all.end(), {"--param", param});
            return all;
        };
        refused(with("beta"), "--param 'beta': write NAME=VALUE");
        refused(with("beta=sideways:1"), "parameter 'beta' ('sideways:1'): write POLICY:INIT");
        // plot's several values, typed here: one initial value per parameter.
        refused(with("beta=0.5,1,2"), "--param 'beta=0.5,1,2': " + sub +
                                          " takes one initial value per parameter, and 3 are given (plot draws one curve per value); "
                                          "e.g. beta=per-unit:0.5 or beta=0.5 (shared)");
        help_has(sub, "A parameter: NAME=POLICY:INIT or NAME=INIT (shared), e.g. beta=per-unit:1.0, a=0.25 (every variable but the");
    }
    // The other way round: a policy where only values go.
    refused({"plot", swish, "--param", "beta=per-unit:1"},
            "--param 'beta=per-unit:1': here a variable gets values only, NAME=V1,V2,... (e.g. beta=1); a shape policy ('per-unit') "
            "is for train and export, which make the parameter for a layer");
    refused({"trace", swish, "--at", "x=1", "--at", "beta=shared:2"}, "--at 'beta=shared:2': here a variable gets values only");
}

TEST_CASE("NAME=VALUE means one shared value in plot, train, export and --at alike", "[cli]") {
    // The same --param beta=1.5 draws one curve, trains one shared beta from 1.5, and exports one shared beta.
    const auto plot = run_cli({"plot", swish, "--param", "beta=1.5"});
    CHECK(plot.status == 0);
    CHECK(plot.out.find(">beta = 1.5</text>") != std::string::npos);
    const auto train = run_cli({"train", "--act", swish, "--param", "beta=1.5", "--epochs", "1", "--examples", "200"});
    CHECK(train.status == 0);
    CHECK(train.out.find("  parameter beta: shared, initially 1.5\n") != std::string::npos);
    const auto exported = run_cli({"export", swish, "--to", "torch", "--param", "beta=1.5"});
    CHECK(exported.status == 0);
    const auto spelled = run_cli({"export", swish, "--to", "torch", "--param", "beta=shared:1.5"});
    // The same module; only the line that quotes the command differs.
    auto without_command = [](std::string text) {
        const auto start = text.find("# Produced by:");
        return start == std::string::npos ? text : text.erase(start, text.find('\n', start) - start);
    };
    CHECK(without_command(exported.out) == without_command(spelled.out));
}

TEST_CASE("check runs both orders and exits 1 on failure", "[cli]") {
    const auto ok = run_cli({"check", seed_activation, "--shape", "x=8,4", "--shape", "p1=4", "--shape", "p2=4", "--shape", "b1=4",
                             "--shape", "b2=4", "--seed", "3"});
    CHECK(ok.status == 0);
    CHECK(ok.out.find("gradcheck (first order, float64)") != std::string::npos);
    CHECK(ok.out.find("gradcheck (second order, float64)") != std::string::npos);
    CHECK(ok.out.find("x            [8, 4]") != std::string::npos);
    CHECK(ok.out.find("FAIL") == std::string::npos);
    CHECK(run_cli({"check", pade}).status == 0);
    CHECK(run_cli({"check", swish}).status == 0);
    // exp(1000 x) overflows at these points: the difference quotient is NaN, and NaN never passes.
    const auto bad = run_cli({"check", "exp(1000 * x)"});
    CHECK(bad.status == 1);
    CHECK(bad.out.find("FAIL") != std::string::npos);
}

TEST_CASE("graph prints DOT, colours the backward pass, and renders SVG through Graphviz", "[cli]") {
    const auto dot = run_cli({"graph", swish});
    CHECK(dot.status == 0);
    CHECK(dot.out.starts_with("digraph G {"));
    CHECK(dot.out.find("fillcolor") == std::string::npos);
    const auto with_grad = run_cli({"graph", swish, "--grad"});
    CHECK(with_grad.out.find("#cfe2f3") != std::string::npos);
    CHECK(with_grad.out.find("#f4cccc") != std::string::npos);
    CHECK(with_grad.out.find("label=\"dbeta = ") != std::string::npos);
    CHECK(with_grad.out.find("legend") != std::string::npos);
    // Without Graphviz the message says what to install, and that DOT text still works.
    const auto missing = run_cli({"graph", swish, "--format", "svg"}, "", "/nonexistent");
    CHECK(missing.status == 2);
    CHECK(missing.err.find("--format svg needs Graphviz's 'dot', which is not installed (Debian: apt-get install graphviz); "
                           "--format dot prints the graph as text") != std::string::npos);
    if (system("command -v dot > /dev/null") == 0) {
        const std::string path = "/tmp/symgrad_test_graph.svg";
        const auto svg = run_cli({"graph", swish, "--grad", "--format", "svg", "-o", path});
        CHECK(svg.status == 0);
        CHECK(symgrad::testing::slurp(path).find("<svg") != std::string::npos);
        std::remove(path.c_str());
    }
}

TEST_CASE("eval follows its JSON contract", "[cli]") {
    const auto r = run_cli({"eval", "-"},
                           R"J({"expr": "x * sigmoid(beta * x)", "dtype": "float64",
                               "values": {"x": {"shape": [2], "data": [0, 1]}, "beta": {"shape": [], "data": [1]}}})J");
    CHECK(r.status == 0);
    CHECK(r.out ==
          "{\"grads\":{\"beta\":{\"data\":[0.19661193324148185],\"shape\":[]},\"x\":{\"data\":[0.5,0.9276705118714867],"
          "\"shape\":[2]}},\"output\":{\"data\":[0.0,0.7310585786300049],\"shape\":[2]}}\n");
    // float32 by default; grad_output weights the vector-Jacobian product; wrt picks names; nan/inf as strings.
    const auto v = run_cli({"eval", "-"},
                           R"J({"expr": "x / y", "values": {"x": {"shape": [3], "data": [1, "inf", "nan"]},
                               "y": {"shape": [], "data": [0]}}, "grad_output": {"shape": [3], "data": [1, 2, 3]},
                               "wrt": ["x"]})J");
    CHECK(v.status == 0);
    CHECK(
        v.out ==
        "{\"grads\":{\"x\":{\"data\":[\"inf\",\"inf\",\"inf\"],\"shape\":[3]}},\"output\":{\"data\":[\"inf\",\"inf\",\"nan\"],\"shape\":[3]}}\n");
    // A value the output does not depend on gets zeros of its shape.
    const auto z = run_cli({"eval", "-"}, R"J({"expr": "x * 2", "values": {"x": {"shape": [], "data": [1]},
                                              "unused": {"shape": [2], "data": [5, 5]}}})J");
    CHECK(z.out ==
          "{\"grads\":{\"unused\":{\"data\":[0.0,0.0],\"shape\":[2]},\"x\":{\"data\":[2.0],\"shape\":[]}},"
          "\"output\":{\"data\":[2.0],\"shape\":[]}}\n");
    // Forward mode: "tangents" moves variables; "tangent_output" is the output's directional derivative (here d/dbeta
    // of x * sigmoid(beta * x), equal to the reverse mode's gradient of beta element by element, and 1 for x moved by 1).
    const auto t = run_cli({"eval", "-"}, R"J({"expr": "x * sigmoid(beta * x)", "dtype": "float64", "wrt": [],
                                              "values": {"x": {"shape": [2], "data": [0, 1]}, "beta": {"shape": [], "data": [1]}},
                                              "tangents": {"beta": {"shape": [], "data": [1]}, "x": {"shape": [], "data": [0]}}})J");
    INFO(t.err);
    CHECK(t.out == "{\"grads\":{},\"output\":{\"data\":[0.0,0.7310585786300049],\"shape\":[2]},"
                   "\"tangent_output\":{\"data\":[0.0,0.19661193324148185],\"shape\":[2]}}\n");
}

TEST_CASE("every malformed eval request exits 2 with a message", "[cli]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{", "the request is not valid JSON"},
        {"[]", "the request must be a JSON object"},
        {R"J({"values": {}})J", "the request has no \"expr\""},
        {R"J({"expr": 3})J", "\"expr\" must be a string, not 3"},
        {R"J({"expr": "x", "values": {"x": {"shape": [2], "data": [1]}}})J", "values[\"x\"]: shape [2] holds 2 numbers but \"data\" has 1"},
        {R"J({"expr": "x", "values": {"x": {"shape": [-1], "data": []}}})J", "values[\"x\"].shape[0] is -1, not a whole number >= 0"},
        {R"J({"expr": "x", "values": {"x": {"shape": [1.5], "data": [1]}}})J", "values[\"x\"].shape[0] is 1.5, not a whole number >= 0"},
        {R"J({"expr": "x", "values": {"x": {"shape": [100000000000, 100000000000, 100000000000], "data": []}}})J", "too many elements"},
        {R"J({"expr": "x", "values": {"x": {"shape": 4, "data": []}}})J", "values[\"x\"].shape must be an array of dimensions, not 4"},
        {R"J({"expr": "x", "values": {"x": {"data": []}}})J", "values[\"x\"] has no \"shape\""},
        {R"J({"expr": "x", "values": {"x": {"shape": []}}})J", "values[\"x\"] has no \"data\" array"},
        {R"J({"expr": "x", "values": {"x": [1]}})J", "values[\"x\"] must be an object"},
        {R"J({"expr": "x", "values": [1]})J", "\"values\" must be an object of named tensors"},
        {R"J({"expr": "x", "dtype": "int8", "values": {"x": {"shape": [], "data": [1]}}})J",
         "\"dtype\" is \"int8\": choose \"float32\" or \"float64\""},
        {R"J({"expr": "x", "values": {"x": {"shape": [], "data": [1]}}, "wrt": ["z"]})J", "\"wrt\" names 'z', which is not a variable"},
        {R"J({"expr": "x", "values": {"x": {"shape": [], "data": [1]}}, "wrt": "x"})J", "\"wrt\" must be an array"},
        {R"J({"expr": "x", "values": {"x": {"shape": [], "data": [1]}}, "wrt": [1]})J", "wrt[0] is 1, not a name"},
        {R"J({"expr": "x", "values": {"x": {"shape": [2], "data": [1, 2]}}, "grad_output": {"shape": [3], "data": [1, 2, 3]}})J",
         "grad_output has shape [3] but the output has shape [2]"},
        {R"J({"expr": "x * z", "values": {"x": {"shape": [], "data": [1]}}})J", "variable 'z' of the expression has no value"},
        {R"J({"expr": "x", "values": {"x": {"shape": [], "data": ["one"]}}})J",
         "values[\"x\"].data[0] is the string \"one\", not a number"},
        {R"J({"expr": "x +", "values": {"x": {"shape": [], "data": [1]}}})J", "'x +' ends where an operand was expected"},
        {R"J({"expr": "x * y", "values": {"x": {"shape": [3], "data": [1, 2, 3]}, "y": {"shape": [2], "data": [1, 2]}}})J",
         "mul: cannot broadcast [3] with [2] in 'x * y'"},
        {R"J({"expr": "x", "values": {"x": {"shape": [2], "data": [1, 2]}}, "tangents": [1]})J",
         "\"tangents\" must be an object of named tensors, not an array of 1 value"},
        {R"J({"expr": "x", "values": {"x": {"shape": [2], "data": [1, 2]}}, "tangents": {"y": {"shape": [], "data": [1]}}})J",
         "tangents[\"y\"] names 'y', which is not a variable with a value in \"values\""},
        {R"J({"expr": "x", "values": {"x": {"shape": [2], "data": [1, 2]}}, "tangents": {"x": {"shape": [3], "data": [1, 2, 3]}}})J",
         "tangents[\"x\"] has shape [3], which does not broadcast to the shape [2] of 'x'"},
        {R"J({"expr": "x", "values": {"x": {"shape": [2], "data": [1, 2]}}, "tangents": {"x": {"shape": [2], "data": [1]}}})J",
         "tangents[\"x\"]: shape [2] holds 2 numbers but \"data\" has 1"},
        {R"J({"expr": "x", "values": {"x": {"shape": [], "data": [1]}}, "tangent": {}})J",
         "the request has an unknown key \"tangent\" (did you mean \"tangents\"?)"},
    };
    for (const auto& [request, message] : cases) {
        const auto r = run_cli({"eval", "-"}, request);
        INFO(request << "\n" << r.err);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find(message) != std::string::npos);
    }
}

TEST_CASE("eval refuses requests past the memory limit before allocating", "[cli]") {
    // 100,000 x 1 times 1 x 100,000: tiny inputs, a scalar output, a 40 GB product in between.
    std::string ones;
    for (int i = 0; i < 100'000; ++i) ones += i == 0 ? "1" : ",1";
    const std::string request = R"J({"expr": "sum(x * y)", "values": {"x": {"shape": [100000, 1], "data": [)J" + ones +
        R"J(]}, "y": {"shape": [1, 100000], "data": [)J" + ones + "]}}}";
    const auto r = run_cli({"eval", "-"}, request);
    CHECK(r.status == 2);
    CHECK(r.err.find("past the memory limit of 1 GiB") != std::string::npos);
    const auto limited =
        run_cli({"eval", "-", "--memory-limit", "0.000001"},
                R"J({"expr": "x", "values": {"x": {"shape": [1000], "data": [)J" + std::string(ones.begin(), ones.begin() + 1999) + "]}}}");
    CHECK(limited.status == 2);
    CHECK(limited.err.find("memory limit") != std::string::npos);
}

TEST_CASE("eval agrees with PyTorch autograd in float64 on 29 activations, second derivatives included", "[cli][torch]") {
    // Requests and PyTorch's answers: tests/reference/torch_eval.py (committed output, so CI needs no torch).
    std::ifstream in(SYMGRAD_REFERENCE_DIR "/torch_eval.json");
    REQUIRE(in.good());
    const nlohmann::json reference = nlohmann::json::parse(in);
    const auto& cases = reference["cases"];
    REQUIRE(cases.size() >= 20);
    auto number = [](const nlohmann::json& v) {
        if (v.is_string()) return v == "nan" ? std::nan("") : (v == "inf" ? INFINITY : -INFINITY);
        return v.get<double>();
    };
    std::size_t second_order = 0;
    for (const auto& c : cases) {
        const std::string name = c["name"];
        INFO(name << ": " << c["request"]["expr"].get<std::string>());
        second_order += c["request"]["expr"].get<std::string>().starts_with("diff(") ? 1 : 0;
        const auto r = run_cli({"eval", "-"}, c["request"].dump());
        REQUIRE(r.status == 0);
        const auto answer = nlohmann::json::parse(r.out);
        std::vector<std::pair<std::string, std::pair<nlohmann::json, nlohmann::json>>> pairs = {
            {"output", {answer["output"], c["expected"]["output"]}}};
        for (const auto& [var, expected] : c["expected"]["grads"].items()) pairs.push_back({"d/d" + var, {answer["grads"][var], expected}});
        for (const auto& [what, pair] : pairs) {
            const auto& [got, expected] = pair;
            INFO(what);
            REQUIRE(got["shape"] == expected["shape"]);
            for (std::size_t i = 0; i < expected["data"].size(); ++i) {
                const double g = number(got["data"][i]);
                const double e = number(expected["data"][i]);
                INFO("element " << i << ": symgrad " << g << ", PyTorch " << e);
                CHECK(std::fabs(g - e) <= 1e-9 * std::fabs(e) + 1e-12);
            }
        }
    }
    CHECK(second_order >= 5);
}

TEST_CASE("every subcommand works on swish, the seed activation and a Pade rational", "[cli]") {
    struct Showcase {
        std::string expression;
        std::vector<std::string> shapes;  // --shape arguments for tensor runs
        std::vector<std::string> at;  // --at arguments for trace
        std::vector<std::string> params;  // --param arguments for plot
        std::string values;  // eval's "values" for scalars
    };
    const std::vector<Showcase> showcases = {
        {swish,
         {"x=6,3", "beta=3"},
         {"x=1.5", "beta=2"},
         {"beta=0.5,1,2"},
         R"J({"x": {"shape": [], "data": [1.5]}, "beta": {"shape": [], "data": [2]}})J"},
        {seed_activation,
         {"x=6,3", "p1=3", "p2=3", "b1=3", "b2=3"},
         {"x=0.5", "p1=1", "p2=2", "b1=0", "b2=0.1"},
         {"p1=1", "p2=1,2", "b1=0", "b2=0"},
         R"J({"x": {"shape": [], "data": [0.5]}, "p1": {"shape": [], "data": [1]}, "p2": {"shape": [], "data": [2]},
              "b1": {"shape": [], "data": [0]}, "b2": {"shape": [], "data": [0.1]}})J"},
        {pade,
         {},
         {"x=0.5", "a0=0.1", "a1=1", "a2=0.3", "b1=0.2", "b2=0.5"},
         {"a0=0.1", "a1=0.5", "a2=0.3", "b1=0.2,1", "b2=0.5"},
         R"J({"x": {"shape": [], "data": [0.5]}, "a0": {"shape": [], "data": [0.1]}, "a1": {"shape": [], "data": [1]},
              "a2": {"shape": [], "data": [0.3]}, "b1": {"shape": [], "data": [0.2]}, "b2": {"shape": [], "data": [0.5]}})J"},
    };
    auto with = [](std::vector<std::string> args, const std::string& flag, const std::vector<std::string>& values) {
        for (const auto& v : values) {
            args.push_back(flag);
            args.push_back(v);
        }
        return args;
    };
    for (const auto& s : showcases) {
        INFO(s.expression);
        CHECK(run_cli(with({"grad", s.expression}, "--shape", s.shapes)).status == 0);
        CHECK(run_cli({"grad", s.expression, "--latex"}).status == 0);
        CHECK(run_cli(with({"check", s.expression}, "--shape", s.shapes)).status == 0);
        CHECK(run_cli(with({"graph", s.expression, "--grad"}, "--shape", s.shapes)).out.starts_with("digraph G {"));
        CHECK(run_cli(with({"trace", s.expression}, "--at", s.at)).status == 0);
        CHECK(run_cli(with({"plot", s.expression}, "--param", s.params)).out.ends_with("</svg>\n"));
        const auto eval =
            run_cli({"eval", "-"}, R"J({"expr": ")J" + s.expression + R"J(", "dtype": "float64", "values": )J" + s.values + "}");
        CHECK(eval.status == 0);
        CHECK(eval.out.starts_with("{\"grads\":{"));
    }
}

TEST_CASE("train saves a model; resuming continues exactly; predict evaluates it; bad files are refused", "[cli]") {
    using namespace symgrad;
    const std::string dir = std::filesystem::temp_directory_path() / "symgrad_cli_models";
    std::filesystem::create_directories(dir);
    const std::string a = dir + "/a.safetensors";
    const std::string b = dir + "/b.safetensors";
    const std::string c = dir + "/c.safetensors";
    const std::vector<std::string> common{"--data", "two-moons", "--hidden", "8", "--schedule", "constant"};
    auto train = [&](std::vector<std::string> args) {
        std::vector<std::string> all{"train"};
        all.insert(all.end(), args.begin(), args.end());
        const auto r = run_cli(all);
        INFO(r.out << r.err);
        CHECK(r.status == 0);
        return r;
    };
    auto with_common = [&](std::vector<std::string> args) {
        args.insert(args.end(), common.begin(), common.end());
        return args;
    };
    CHECK(train(with_common({"--epochs", "6", "-o", a})).out.find("saved: " + a) != std::string::npos);
    train(with_common({"--epochs", "3", "-o", b}));
    const auto resumed = train({"--epochs", "6", "--schedule", "constant", "--resume", b, "-o", c});
    CHECK(resumed.out.find("resuming from '" + b + "' after epoch 3") != std::string::npos);
    // Six epochs at once, or three and three more: the same parameters and optimizer state, bit for bit.
    const auto straight = io::load_safetensors(a);
    const auto continued = io::load_safetensors(c);
    REQUIRE(straight.tensors.size() == continued.tensors.size());
    for (const auto& [name, t] : straight.tensors) {
        INFO(name);
        CHECK(continued.tensors.at(name).identical(t));
    }
    CHECK(straight.metadata.at("activation.text") == "x * sigmoid(beta * x)");
    CHECK(straight.metadata.at("train.epochs_done") == "6");
    const auto predicted = run_cli({"predict", a});
    CHECK(predicted.status == 0);
    const auto accuracy_at = predicted.out.find("test accuracy: ");
    REQUIRE(accuracy_at != std::string::npos);
    // The same number the training printed at its end.
    const auto trained = train(with_common({"--epochs", "6"}));
    CHECK(trained.out.find(predicted.out.substr(accuracy_at)) != std::string::npos);
    CHECK(run_cli({"predict", a, "--data", "two-moons", "--examples", "500"}).out.find("evaluated on 500 new examples of two-moons") !=
          std::string::npos);

    auto expect = [](const std::vector<std::string>& args, const std::string& message) {
        const auto r = run_cli(args);
        INFO(r.err);
        CHECK(r.status == 2);
        CHECK(r.err.find(message) != std::string::npos);
    };
    expect({"train", "--epochs", "6", "--resume", b, "--hidden", "4"},
           "--resume takes the model and its data from '" + b + "': drop --hidden");
    expect({"train", "--epochs", "3", "--resume", b}, "has been trained for 3 epochs already: ask for more with --epochs");
    expect({"train", "--epochs", "9", "--resume", b, "--optimizer", "sgd"},
           "holds the state of adam, not sgd: resume with --optimizer adam");
    // A truncated file; a file whose tensors do not fit its model.
    const std::string truncated = dir + "/truncated.safetensors";
    {
        std::ifstream in(a, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
    }
    expect({"predict", truncated}, "is not a valid checkpoint: tensor");
    expect({"predict", truncated}, "(truncated?)");
    io::Checkpoint misfit = io::load_safetensors(a);
    misfit.tensors["layer1.weight"] = Tensor::zeros({2, 9}, DType::float32);
    const std::string wrong = dir + "/wrong.safetensors";
    io::save_safetensors(wrong, misfit);
    expect({"predict", wrong},
           "'" + wrong + "' does not fit the model: tensor 'layer1.weight' is float32 [2, 9] in the file but float32 [2, 8] in the model");
    io::Checkpoint foreign;
    foreign.tensors.emplace("w", Tensor::zeros({2}));
    const std::string other = dir + "/other.safetensors";
    io::save_safetensors(other, foreign);
    expect({"predict", other}, "is not a symgrad model checkpoint: its metadata has no 'format'");
    expect({"train", "--epochs", "2", "-o", "/nonexistent/dir/m.safetensors"},
           "-o '/nonexistent/dir/m.safetensors': the directory '/nonexistent/dir' does not exist");
    // A CSV file: trained, saved, and evaluated again from the path in the recipe.
    const std::string csv = dir + "/hw.csv";
    {
        std::ofstream out(csv);
        out << "height,weight,sex\n";
        const auto d = data::height_weight(400, 3);
        for (std::int64_t i = 0; i < d.size(); ++i) {
            out << d.features.get(2 * i) << "," << d.features.get(2 * i + 1) << "," << (d.labels[static_cast<std::size_t>(i)] ? "m" : "f")
                << "\n";
        }
    }
    const std::string csv_model = dir + "/hw.safetensors";
    const auto from_csv = train({"--data", csv, "--target", "sex", "--epochs", "20", "--hidden", "8", "-o", csv_model});
    CHECK(from_csv.out.find("training: " + csv + " (400 examples: 320 train, 80 test, 2 classes), MLP 2-8-2") != std::string::npos);
    CHECK(run_cli({"predict", csv_model}).out.find("evaluated on the test set of training (80 examples of " + csv + ")") !=
          std::string::npos);
}

TEST_CASE("check prints the scalars' point and what its columns are", "[cli]") {
    const auto r = run_cli({"check", "x * x * x"});
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("checking x * x * x at random points in [-2, 2] (seed 0): x = "));
    CHECK(r.out.find("(the columns are d/dv of r * y for a random r = ") != std::string::npos);
    CHECK(r.out.find("a random projection of the Hessian)") != std::string::npos);
    const auto t = run_cli({"check", "x * w", "--shape", "x=2,3", "--shape", "w=3"});
    CHECK(t.out.starts_with("checking x * w at random points in [-2, 2] (seed 0)\n"));  // no tensor values on that line
    CHECK(t.out.find("for a random r of y's shape [2, 3]") != std::string::npos);
}

TEST_CASE("lesson writes one self-contained page whose steps are the trace's numbers", "[cli][lesson]") {
    const std::string dir = std::filesystem::temp_directory_path() / "symgrad_cli_lesson";
    std::filesystem::create_directories(dir);
    // Errors first: they need no Graphviz.
    const auto missing = run_cli({"lesson", "x * sigmoid(beta * x)", "--at", "x=2", "-o", dir + "/a.html"});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("variable 'beta' has no value: give one with --at beta=...") != std::string::npos);
    const auto no_at = run_cli({"lesson", "x * x"});
    CHECK(no_at.status == 2);
    CHECK(no_at.err.find("--at is required") != std::string::npos);
    std::string wide = "sin(x)";
    for (int k = 2; k <= 60; ++k) wide += fmt::format(" + sin({} * x)", k);
    const auto big = run_cli({"lesson", wide, "--at", "x=1"});
    CHECK(big.status == 2);
    CHECK(big.err.find("a lesson draws at most 120") != std::string::npos);
    if (std::system("command -v dot > /dev/null 2>&1") != 0) {
        WARN("Graphviz's dot is not installed: the lesson's drawing is not checked");
        return;
    }
    const auto r = run_cli({"lesson", "x * sigmoid(beta * x)", "--at", "x=2", "--at", "beta=0.5", "-o", dir + "/swish.html"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const std::string page = symgrad::testing::slurp(dir + "/swish.html");
    CHECK(page.starts_with("<!DOCTYPE html>"));
    CHECK(page.find("<svg") != std::string::npos);
    CHECK(page.find("<?xml") == std::string::npos);  // the SVG is inline, without its XML declaration
    CHECK(page.find("<script src") == std::string::npos);  // nothing is fetched
    CHECK(page.find("<link") == std::string::npos);
    // The steps carry the trace's lines: the sigmoid's rule and the gradients.
    const auto trace = run_cli({"trace", "x * sigmoid(beta * x)", "--at", "x=2", "--at", "beta=0.5"}).out;
    CHECK(trace.find("dv2/dv1 = v2 * (1 - v2) = 0.196612") != std::string::npos);
    CHECK(page.find("\"local derivative dv2/dv1 = v2 * (1 - v2) = \",{\"shape\":[],\"short\":\"0.1966\",\"text\":\"0.196612\"}") !=
          std::string::npos);
    const std::size_t at = trace.find("dy/dbeta = ");
    REQUIRE(at != std::string::npos);
    const std::string dbeta = trace.substr(at + 11, trace.find('\n', at) - at - 11);
    CHECK(page.find("\"dy/dbeta = \",{\"shape\":[],\"short\":") != std::string::npos);
    CHECK(page.find(",\"text\":\"" + dbeta + "\"}") != std::string::npos);
}

TEST_CASE("graph --at draws data and, with --grad, grad in each node, and a legend", "[cli]") {
    const auto r = run_cli({"graph", "x * sigmoid(beta * x)", "--at", "x=2", "--at", "beta=0.5", "--grad"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    // d(x sigmoid(beta x))/dx at 2, 0.5 is 0.9277 (trace: 0.927671); the sigmoid node's adjoint is x = 2.
    CHECK(r.out.find("[label=\"x\\ndata 2\\ngrad 0.9277\"") != std::string::npos);
    CHECK(r.out.find("[label=\"sigmoid\\ndata 0.7311\\ngrad 2\"") != std::string::npos);
    CHECK(r.out.find("[label=\"y = mul\\ndata 1.462\\ngrad 1\"") != std::string::npos);
    CHECK(r.out.find("[label=\"dx = add\\ndata 0.9277\"") != std::string::npos);  // gradient nodes: their values
    CHECK(r.out.find("its number is the operand's place (x - y: x is 0)\\ndata: the node's value\\ngrad: d sum(y) / d node") !=
          std::string::npos);
    const auto values_only = run_cli({"graph", "x * w", "--shape", "x=2,3", "--shape", "w=3", "--at", "x=1,2,3,4,5,6", "--at", "w=1,0,-1"});
    CHECK(values_only.out.find("[label=\"y = mul\\n[2, 3]\\ndata [[1, 0, -3], [4, 0, -6]]\"") != std::string::npos);
    CHECK(values_only.out.find("grad ") == std::string::npos);
    const auto missing = run_cli({"graph", "x * w", "--at", "x=1"});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("variable 'w' has no value: give one with --at w=...") != std::string::npos);
}
