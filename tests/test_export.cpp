// Export: the C++ headers written by `symgrad export --to cpp` at build time (tests/CMakeLists.txt), compiled into
// this test and compared with symgrad's engine on [B, U] and [B, C, H, W] inputs in float64 and float32; and the
// errors of both exporters. (The torch export is checked against PyTorch by tests/export/check_torch_export.py.)
#include <cmath>

#include "cli_runner.hpp"
#include "helpers.hpp"

#include "cases_includes.inc"

using namespace symgrad;
using symgrad::testing::message_of;

namespace {

template <class T> using Forward = void (*)(const T*, T*, std::size_t, std::size_t, std::size_t, const T* const*);
template <class T> using Backward = void (*)(const T*, const T*, T*, std::size_t, std::size_t, std::size_t, const T* const*, T* const*);

struct ExportedCase {
    const char* name;
    const char* expression;
    const char* input;
    std::vector<std::string> specs;
    std::size_t parameter_count;
    Forward<double> forward64;
    Backward<double> backward64;
    Forward<float> forward32;
    Backward<float> backward32;
};

const std::vector<ExportedCase>& exported_cases() {
    static const std::vector<ExportedCase> cases = {
#include "cases_table.inc"
    };
    return cases;
}

template <class T> std::vector<T> values_of(const Tensor& t) {
    std::vector<T> out;
    for (double v : t.to_vector()) out.push_back(static_cast<T>(v));
    return out;
}

// |ours - theirs| within the dtype's tolerance at the scale of the values compared.
bool close(double a, double b, DType dtype, double scale) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    const double rtol = dtype == DType::float64 ? 1e-12 : 2e-5;
    return std::fabs(a - b) <= rtol * (std::fabs(b) + scale);
}

// The same header serves per-unit and per-channel parameters (one value per index of its `units` axis): `indexed`
// says which the engine's reference uses, and the call's layout follows it, as the header's comment says.
template <class T> void check_case(const ExportedCase& c, const Shape& input, DType dtype, Forward<T> forward, Backward<T> backward,
                                   nn::Policy indexed = nn::Policy::per_unit) {
    INFO(c.name << ": " << c.expression << " on " << to_string(input) << " in " << dtype_name(dtype)
                << (indexed == nn::Policy::per_channel ? " per channel" : ""));
    std::vector<nn::ParamSpec> specs;
    for (const auto& text : c.specs) {
        const auto eq = text.find('=');
        specs.push_back(nn::parse_param_spec(text.substr(0, eq), text.substr(eq + 1)));
        if (specs.back().policy == nn::Policy::per_unit) specs.back().policy = indexed;
    }
    REQUIRE(specs.size() == c.parameter_count);
    ParseOptions options;
    options.dtype = dtype;
    options.shapes[c.input] = input;
    options.shapes["grad_y"] = input;
    for (const auto& s : specs) options.shapes[s.name] = nn::parameter_shape(s, input);
    const Expr y = parse(c.expression, options);
    const Expr grad_y = var("grad_y", input, dtype);
    std::vector<Expr> wrt{var(c.input, input, dtype)};
    for (const auto& s : specs) wrt.push_back(var(s.name, options.shapes[s.name], dtype));
    std::vector<Expr> outputs{y};
    for (const Expr& g : grad(y, wrt, grad_y)) outputs.push_back(g);
    Bindings at;
    at.emplace(c.input, Tensor::uniform(input, -3, 3, 1, dtype));
    at.emplace("grad_y", Tensor::normal(input, 0, 1, 2, dtype));
    std::uint64_t seed = 3;
    for (const auto& s : specs) at.emplace(s.name, Tensor::uniform(options.shapes[s.name], 0.5, 1.5, seed++, dtype));
    const auto expected = run_compiled(outputs, at);

    // per-unit: (everything before the last axis, the last axis, 1); per-channel: (B, dim 1, the rest).
    const bool by_channel = indexed == nn::Policy::per_channel;
    const std::size_t units = static_cast<std::size_t>(by_channel ? input[1] : input[input.rank() - 1]);
    const std::size_t batch = by_channel ? static_cast<std::size_t>(input[0]) : static_cast<std::size_t>(input.numel()) / units;
    const std::size_t inner = static_cast<std::size_t>(input.numel()) / (batch * units);
    const std::vector<T> x = values_of<T>(at.at(c.input));
    const std::vector<T> gy = values_of<T>(at.at("grad_y"));
    std::vector<std::vector<T>> params;
    std::vector<std::vector<T>> grads;
    for (const auto& s : specs) {
        params.push_back(values_of<T>(at.at(s.name)));
        grads.push_back(std::vector<T>(params.back().size(), T(0)));
    }
    std::vector<const T*> param_pointers;
    std::vector<T*> grad_pointers;
    for (std::size_t k = 0; k < specs.size(); ++k) {
        param_pointers.push_back(params[k].data());
        grad_pointers.push_back(grads[k].data());
    }
    std::vector<T> out(x.size());
    std::vector<T> gx(x.size());
    forward(x.data(), out.data(), batch, units, inner, param_pointers.data());
    backward(x.data(), gy.data(), gx.data(), batch, units, inner, param_pointers.data(), grad_pointers.data());

    auto compare = [&](const std::string& what, const Tensor& reference, const std::vector<T>& ours) {
        REQUIRE(static_cast<std::size_t>(reference.numel()) == ours.size());
        double scale = 0;
        for (std::int64_t i = 0; i < reference.numel(); ++i) scale = std::max(scale, std::fabs(reference.get(i)));
        // a sum over many elements: its rounding is at the scale of its terms, not of the total
        if (what.starts_with("grad_") && what != "grad_x") scale = std::max(scale, 1.0) * static_cast<double>(x.size());
        for (std::size_t i = 0; i < ours.size(); ++i) {
            if (close(ours[i], reference.get(static_cast<std::int64_t>(i)), dtype, scale * 1e-3)) continue;
            FAIL_CHECK(fmt::format("{}[{}]: exported {:.17g}, engine {:.17g}", what, i, static_cast<double>(ours[i]),
                                   reference.get(static_cast<std::int64_t>(i))));
            return;
        }
    };
    compare("y", expected[0], out);
    compare("grad_x", expected[1], gx);
    for (std::size_t k = 0; k < specs.size(); ++k) compare("grad_" + specs[k].name, expected[2 + k], grads[k]);
}

}  // namespace

TEST_CASE("the exported C++ headers compute what the engine computes, forward and backward", "[export]") {
    REQUIRE(exported_cases().size() >= 16);
    for (const auto& c : exported_cases()) {
        // 2-D, 3-D and 4-D inputs, with the per-unit parameters per unit (the last axis) and per channel (dim 1).
        for (const Shape& input : {Shape{5, 7}, Shape{3, 4, 5}, Shape{3, 4, 2, 5}}) {
            for (const nn::Policy indexed : {nn::Policy::per_unit, nn::Policy::per_channel}) {
                check_case<double>(c, input, DType::float64, c.forward64, c.backward64, indexed);
                check_case<float>(c, input, DType::float32, c.forward32, c.backward32, indexed);
            }
        }
    }
}

TEST_CASE("export refuses what it cannot write, and says why", "[export]") {
    ExportOptions options;
    options.params = {nn::parse_param_spec("beta", "per-unit:1")};
    CHECK_THAT(message_of([&] { export_torch("softmax(x) * beta", options); }),
               Catch::Contains("export writes elementwise activations, and 'softmax(x) * beta' uses amax"));
    CHECK_THAT(message_of([&] { export_torch("x * sigmoid(gamma * x)", options); }),
               Catch::Contains("'gamma' is a variable of the expression but has no --param"));
    CHECK_THAT(message_of([&] { export_torch("x * 2", options); }), Catch::Contains("--param beta: 'x * 2' has no variable 'beta'"));
    CHECK_THAT(message_of([&] { export_torch("beta * 2", options); }), Catch::Contains("'beta * 2' does not use the input 'x'"));
    ExportOptions input_as_param;
    input_as_param.params = {nn::parse_param_spec("x", "shared:1")};
    CHECK_THAT(message_of([&] { export_torch("x * 2", input_as_param); }), Catch::Contains("'x' is the input, not a parameter"));
    ExportOptions adjoint_name;
    adjoint_name.params = {nn::parse_param_spec("grad_output", "shared:1")};
    CHECK_THAT(message_of([&] { export_torch("grad_output * x", adjoint_name); }),
               Catch::Contains("'grad_output' is a name the generated Python file uses"));
    CHECK_THAT(message_of([&] { export_cpp("grad_output * x", adjoint_name); }),
               Catch::Contains("'grad_output' is a name the generated C++ header uses"));
    ExportOptions keyword;
    keyword.params = {nn::parse_param_spec("lambda", "shared:1")};
    CHECK_THAT(message_of([&] { export_torch("lambda * x", keyword); }),
               Catch::Contains("'lambda' is a name the generated Python file uses"));
    CHECK(!export_cpp("lambda * x", keyword).empty());  // not a C++ keyword
    ExportOptions cpp_keyword;
    cpp_keyword.params = {nn::parse_param_spec("int", "shared:1")};
    CHECK_THAT(message_of([&] { export_cpp("int * x", cpp_keyword); }), Catch::Contains("'int' is a name the generated C++ header uses"));
    ExportOptions underscore;
    underscore.params = {nn::parse_param_spec("_sum_to", "shared:1")};
    CHECK_THAT(message_of([&] { export_torch("_sum_to * x", underscore); }),
               Catch::Contains("names starting with _ are the generated file's own"));
    ExportOptions output_name;
    output_name.params = {nn::parse_param_spec("output", "shared:1")};
    CHECK_THAT(message_of([&] { export_torch("output * x", output_name); }),
               Catch::Contains("'output' is a name the generated Python file uses"));
    CHECK_THAT(message_of([&] { export_cpp("output * x", output_name); }),
               Catch::Contains("'output' is a name the generated C++ header uses"));
    ExportOptions loop_name;
    loop_name.input = std::string("t");  // (a literal here trips g++ 12's -Wrestrict false positive)
    loop_name.params = {nn::parse_param_spec("x", "shared:1")};
    CHECK_THAT(message_of([&] { export_cpp("x * t", loop_name); }), Catch::Contains("the parameter 'x' would shadow the input array x"));
    ExportOptions prefixed;
    prefixed.params = {nn::parse_param_spec("sum_a", "shared:1")};
    CHECK_THAT(message_of([&] { export_cpp("sum_a * x", prefixed); }), Catch::Contains("names starting with t_, grad_, d_ or sum_"));
    // b, u, k, i are ordinary names for parameters (the loops use other ones)
    ExportOptions ordinary;
    ordinary.params = {nn::parse_param_spec("b", "per-unit:1"), nn::parse_param_spec("i", "shared:1")};
    CHECK_THAT(export_cpp("x * b + i", ordinary), Catch::Contains("T i"));
    ExportOptions fixed;
    fixed.params = {nn::parse_param_spec("w", "[4]:1")};
    CHECK_THAT(message_of([&] { export_cpp("w * x", fixed); }), Catch::Contains("the C++ export takes shared and per-unit parameters"));
    CHECK(!export_torch("w * x", fixed).empty());  // torch takes any batch-free shape
    ExportOptions bad_name;
    bad_name.name = "my-act";
    CHECK_THAT(message_of([&] { export_torch("x", bad_name); }), Catch::Contains("the name 'my-act' is not a Python identifier"));
    ExportOptions twice;
    twice.params = {nn::parse_param_spec("a", "shared:1"), nn::parse_param_spec("a", "shared:2")};
    CHECK_THAT(message_of([&] { export_torch("a * x", twice); }), Catch::Contains("--param a is given twice"));
    // (the native module's forward calls warnings.warn under torch.jit.script; its names start with _ otherwise)
    ExportOptions warnings_name;
    warnings_name.native = true;
    warnings_name.params = {nn::parse_param_spec("warnings", "shared:1")};
    CHECK_THAT(message_of([&] { export_torch("warnings * x", warnings_name); }),
               Catch::Contains("'warnings' is a name the generated Python file uses"));
    ExportOptions reason;  // a local of apply() once; now _reason
    reason.native = true;
    reason.params = {nn::parse_param_spec("reason", "shared:1")};
    CHECK_THAT(export_torch("reason * x", reason), Catch::Contains("def apply(x, reason):"));
}

TEST_CASE("symgrad export writes the file, and its header says what and how", "[export][cli]") {
    const auto r =
        symgrad::testing::run_cli({"export", "x * sigmoid(beta * x)", "--to", "torch", "--name", "Swish", "--param", "beta=per-unit:1.0"});
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("# Swish: an activation exported by symgrad "));
    CHECK_THAT(r.out, Catch::Contains("#   y = x * sigmoid(beta * x)\n"));
    CHECK_THAT(r.out, Catch::Contains("#   dbeta = x * t2\n"));
    CHECK_THAT(
        r.out,
        Catch::Contains("# Produced by: symgrad export 'x * sigmoid(beta * x)' --to torch --name Swish --param beta=per-unit:1.0\n"));
    CHECK_THAT(r.out, Catch::Contains("class SwishFunction(torch.autograd.Function):"));
    CHECK_THAT(r.out, Catch::Contains("        ctx.save_for_backward(x, beta)\n"));
    CHECK_THAT(r.out, Catch::Contains("    def __init__(self, units: int):\n"));
    CHECK_THAT(r.out, Catch::Contains("        self.beta = torch.nn.Parameter(torch.full((units,), 1.0))\n"));
    const auto cpp =
        symgrad::testing::run_cli({"export", "swish(x, beta)", "--to", "cpp", "--name", "swish", "--param", "beta=shared:0.5"});
    CHECK(cpp.status == 0);
    CHECK_THAT(cpp.out, Catch::Contains("namespace swish {"));
    CHECK_THAT(cpp.out, Catch::Contains("void forward(const T* x, T* y, std::size_t batch, std::size_t units, std::size_t inner, T beta)"));
    const auto bad = symgrad::testing::run_cli({"export", "x * sigmoidd(x)", "--to", "torch"});
    CHECK(bad.status == 2);
    CHECK_THAT(bad.err, Catch::Contains("unknown function 'sigmoidd'"));
    const auto missing = symgrad::testing::run_cli({"export", "x * beta", "--to", "cpp"});
    CHECK(missing.status == 2);
    CHECK_THAT(missing.err, Catch::Contains("'beta' is a variable of the expression but has no --param"));
    CHECK(symgrad::testing::run_cli({"export", "x", "--to", "java"}).status == 2);
    const auto softmax = symgrad::testing::run_cli({"export", "softmax(x)", "--to", "torch"});
    CHECK(softmax.status == 2);
    CHECK_THAT(softmax.err, Catch::Contains("export writes elementwise activations, and 'softmax(x)' uses amax"));
    const auto native =
        symgrad::testing::run_cli({"export", "x * sigmoid(beta * x)", "--to", "torch", "--native", "--name", "Swish", "--param", "beta=per-unit:1.0"});
    CHECK(native.status == 0);
    CHECK_THAT(native.out, Catch::Contains("--to torch --native --name Swish"));
    CHECK_THAT(native.out, Catch::Contains("class SwishNativeFunction(torch.autograd.Function):"));
    CHECK_THAT(native.out, Catch::Contains("class SwishFunction(torch.autograd.Function):"));  // the fallback
    CHECK_THAT(native.out, Catch::Contains("extern \"C\" __attribute__((visibility(\"default\"))) int symgrad_backward("));
    const auto native_cpp = symgrad::testing::run_cli({"export", "x", "--to", "cpp", "--native"});
    CHECK(native_cpp.status == 2);
    CHECK_THAT(native_cpp.err, Catch::Contains("--native is for --to torch"));
}
