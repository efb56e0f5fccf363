// symgrad eval FILE|-: the machine-readable mode. A JSON request in, a JSON answer out:
//   {"expr": "...", "dtype": "float32"|"float64", "values": {NAME: {"shape": [...], "data": [...]}},
//    "grad_output": {"shape": [...], "data": [...]}, "wrt": [NAME, ...]}
//   -> {"output": {"shape": [...], "data": [...]}, "grads": {NAME: {"shape": [...], "data": [...]}}}
// Non-finite numbers are the strings "nan", "inf", "-inf" both ways. See docs/cli.md.
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace symgrad::cli {

namespace {

using nlohmann::json;

struct EvalOptions {
    std::string file;
    double memory_limit_gib = 1.0;
};

constexpr std::size_t max_request_bytes = std::size_t{1} << 31;  // 2 GiB of JSON text

std::string read_request(const std::string& file) {
    std::string text;
    if (file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw InputError(fmt::format("cannot read '{}'", file));
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (text.size() > max_request_bytes) throw InputError("the request is larger than 2 GiB");
    return text;
}

// A tensor's shape from JSON, refusing negative, fractional and absurd dimensions.
Shape shape_of(const json& j, const std::string& where) {
    if (!j.is_array()) throw InputError(fmt::format("{}: \"shape\" must be an array of dimensions", where));
    if (j.size() > 16) throw InputError(fmt::format("{}: a shape of rank {} is more than 16", where, j.size()));
    std::vector<std::int64_t> dims;
    for (const auto& d : j) {
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0) {
            throw InputError(fmt::format("{}: dimension {} is not a whole number >= 0", where, d.dump()));
        }
        dims.push_back(d.get<std::int64_t>());
    }
    try {
        return Shape(dims);
    } catch (const ShapeError& e) {
        throw InputError(fmt::format("{}: {}", where, e.what()));
    }
}

double number_of(const json& v, const std::string& where, std::size_t index) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
        if (s == "inf") return std::numeric_limits<double>::infinity();
        if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    throw InputError(fmt::format("{}: data[{}] is {}, not a number (non-finite numbers are \"nan\", \"inf\", \"-inf\")",
                                 where, index, v.dump()));
}

struct TensorSpec {
    Shape shape;
    const json* data;
};

TensorSpec tensor_spec(const json& j, const std::string& where) {
    if (!j.is_object()) throw InputError(fmt::format("{} must be an object {{\"shape\": [...], \"data\": [...]}}", where));
    if (!j.contains("shape")) throw InputError(fmt::format("{} has no \"shape\"", where));
    if (!j.contains("data") || !j["data"].is_array()) throw InputError(fmt::format("{} has no \"data\" array", where));
    TensorSpec spec{shape_of(j["shape"], where), &j["data"]};
    if (static_cast<std::int64_t>(spec.data->size()) != spec.shape.numel()) {
        throw InputError(fmt::format("{}: shape {} holds {} numbers but \"data\" has {}", where, spec.shape,
                                     spec.shape.numel(), spec.data->size()));
    }
    return spec;
}

Tensor make_tensor(const TensorSpec& spec, DType dtype, const std::string& where) {
    Tensor t(spec.shape, dtype);
    for (std::size_t i = 0; i < spec.data->size(); ++i) t.set(static_cast<std::int64_t>(i), number_of((*spec.data)[i], where, i));
    return t;
}

json tensor_json(const Tensor& t) {
    json data = json::array();
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        const double v = t.get(i);
        if (std::isnan(v)) {
            data.push_back("nan");
        } else if (std::isinf(v)) {
            data.push_back(v > 0 ? "inf" : "-inf");
        } else {
            data.push_back(v);
        }
    }
    return json{{"shape", t.shape().dims()}, {"data", std::move(data)}};
}

int run_eval(const EvalOptions& o) {
    const std::string text = read_request(o.file);
    json request;
    try {
        request = json::parse(text);
    } catch (const json::parse_error& e) {
        throw InputError(fmt::format("the request is not valid JSON: {}", e.what()));
    }
    if (!request.is_object()) throw InputError("the request must be a JSON object");
    if (!request.contains("expr") || !request["expr"].is_string()) throw InputError("the request has no \"expr\" string");
    DType dtype = DType::float32;
    if (request.contains("dtype")) {
        const json& d = request["dtype"];
        if (d == "float32") {
            dtype = DType::float32;
        } else if (d == "float64") {
            dtype = DType::float64;
        } else {
            throw InputError(fmt::format("\"dtype\" is {}: choose \"float32\" or \"float64\"", d.dump()));
        }
    }
    const double limit_bytes = o.memory_limit_gib * 1073741824.0;
    const double element_bytes = static_cast<double>(dtype_size(dtype));
    double total_bytes = 0.0;
    auto account = [&](const Shape& shape, const std::string& what) {
        total_bytes += static_cast<double>(shape.numel()) * element_bytes;
        if (total_bytes > limit_bytes) {
            throw InputError(fmt::format("{} (shape {}) takes the request past the memory limit of {} GiB "
                                         "(--memory-limit to change it)", what, shape, o.memory_limit_gib));
        }
    };

    // Shapes first (checked against the limit), values after.
    std::map<std::string, TensorSpec, std::less<>> specs;
    if (request.contains("values")) {
        if (!request["values"].is_object()) throw InputError("\"values\" must be an object of named tensors");
        for (const auto& [name, value] : request["values"].items()) {
            const std::string where = fmt::format("values[\"{}\"]", name);
            TensorSpec spec = tensor_spec(value, where);
            account(spec.shape, where);
            specs.emplace(name, spec);
        }
    }
    std::map<std::string, Shape, std::less<>> shapes;
    for (const auto& [name, spec] : specs) shapes.emplace(name, spec.shape);
    const Expr y = parse_user_expression(request["expr"].get<std::string>(), shapes, dtype);

    std::vector<Expr> wrt;
    std::vector<std::string> wrt_names;
    if (request.contains("wrt")) {
        if (!request["wrt"].is_array()) throw InputError("\"wrt\" must be an array of variable names");
        for (const auto& name : request["wrt"]) {
            if (!name.is_string()) throw InputError(fmt::format("\"wrt\" holds {}, not a name", name.dump()));
            wrt_names.push_back(name.get<std::string>());
        }
    } else {
        for (const auto& [name, spec] : specs) wrt_names.push_back(name);
    }
    for (const auto& name : wrt_names) {
        const auto found = specs.find(name);
        if (found == specs.end()) {
            throw InputError(fmt::format("\"wrt\" names '{}', which is not a variable with a value in \"values\"", name));
        }
        wrt.push_back(var(name, found->second.shape, dtype));
    }
    for (const auto& v : variables_of(y)) {
        if (!specs.contains(v.node().attrs().name)) {
            throw InputError(fmt::format("variable '{}' of the expression has no value in \"values\"", v.node().attrs().name));
        }
    }
    account(y.shape(), "the output");
    for (const auto& w : wrt) account(w.shape(), fmt::format("the gradient of '{}'", w.node().attrs().name));

    Bindings bindings;
    for (const auto& [name, spec] : specs) bindings.emplace(name, make_tensor(spec, dtype, fmt::format("values[\"{}\"]", name)));
    Expr seed;
    if (request.contains("grad_output")) {
        TensorSpec spec = tensor_spec(request["grad_output"], "grad_output");
        if (spec.shape != y.shape()) {
            throw InputError(fmt::format("grad_output has shape {} but the output has shape {}", spec.shape, y.shape()));
        }
        account(spec.shape, "grad_output");
        seed = var("\x01grad_output", y.shape(), dtype);  // a name no expression can spell
        bindings.emplace("\x01grad_output", make_tensor(spec, dtype, "grad_output"));
    }
    std::vector<Expr> outputs{y};
    const auto grads = grad(y, wrt, seed);
    outputs.insert(outputs.end(), grads.begin(), grads.end());
    // Intermediate values count too: sum(x * y) of a column and a row has a scalar output but a matrix inside.
    const double peak = evaluation_peak_bytes(outputs);
    if (peak > limit_bytes) {
        throw InputError(fmt::format("evaluating this request would hold {:.3g} GiB at once, past the memory limit of {} GiB "
                                     "(--memory-limit to change it)", peak / 1073741824.0, o.memory_limit_gib));
    }
    const auto values = run_compiled(outputs, bindings);

    json answer;
    answer["output"] = tensor_json(values[0]);
    answer["grads"] = json::object();
    for (std::size_t i = 0; i < wrt.size(); ++i) answer["grads"][wrt_names[i]] = tensor_json(values[1 + i]);
    std::cout << answer.dump() << "\n";
    return 0;
}

}  // namespace

Action add_eval(CLI::App& app) {
    auto options = std::make_shared<EvalOptions>();
    CLI::App* sub = app.add_subcommand("eval", "Evaluate an expression and its gradients from a JSON request (for scripts).");
    sub->add_option("file", options->file, "The JSON request, or - for stdin")->required();
    sub->add_option("--memory-limit", options->memory_limit_gib, "Refuse requests whose tensors need more GiB than this (default 1)")
        ->check(CLI::PositiveNumber);
    sub->footer("Example:\n"
                "  echo '{\"expr\": \"x * sigmoid(beta * x)\", \"dtype\": \"float64\",\n"
                "         \"values\": {\"x\": {\"shape\": [2], \"data\": [0, 1]}, \"beta\": {\"shape\": [], \"data\": [1]}}}' | symgrad eval -\n"
                "  {\"grads\":{\"beta\":{\"data\":[0.19661193324148185],\"shape\":[]},\"x\":{...}},\"output\":{...}}\n"
                "Keys: expr (required), dtype (float32 default, or float64), values, grad_output (default: ones),\n"
                "wrt (default: every name in values). Non-finite numbers are \"nan\", \"inf\", \"-inf\".");
    return [options] { return run_eval(*options); };
}

}  // namespace symgrad::cli
