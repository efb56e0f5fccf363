#include "eval_request.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace symgrad::cli {

namespace {

using nlohmann::json;

// A request is at most 4 levels deep ({"values": {"x": {"data": [...]}}}); 32 leaves room for mistakes that
// deserve a clear message, and keeps every later walk over the document shallow.
constexpr std::size_t max_depth = 32;

// Builds the document with nlohmann's own DOM builder while keeping the path to the value being read, so every
// error names its field: values["x"].data[3]. Refuses nesting deeper than max_depth, more numbers than the
// memory limit allows, and a key given twice, as it reads (before the document can grow).
class RequestReader {
public:
    RequestReader(json& root, std::size_t max_values, double memory_limit_gib)
        : dom_(root), max_values_(max_values), memory_limit_gib_(memory_limit_gib) {}

    bool null() { return scalar(dom_.null()); }
    bool boolean(bool value) { return scalar(dom_.boolean(value)); }
    bool number_integer(json::number_integer_t value) { return scalar(dom_.number_integer(value)); }
    bool number_unsigned(json::number_unsigned_t value) { return scalar(dom_.number_unsigned(value)); }
    bool number_float(json::number_float_t value, const std::string& text) { return scalar(dom_.number_float(value, text)); }
    bool string(std::string& value) { return scalar(dom_.string(value)); }
    bool binary(json::binary_t& value) { return scalar(dom_.binary(value)); }

    bool start_object(std::size_t size) {
        open(false);
        return dom_.start_object(size);
    }
    bool key(std::string& name) {
        Frame& frame = frames_.back();
        if (!frame.keys.insert(name).second) {
            const std::string where = path(frames_.size() - 1);
            throw InputError(fmt::format("{} has the key \"{}\" twice", where.empty() ? "the request" : where, shown(name)));
        }
        frame.key = name;
        return dom_.key(name);
    }
    bool end_object() {
        close();
        return dom_.end_object();
    }
    bool start_array(std::size_t size) {
        open(true);
        return dom_.start_array(size);
    }
    bool end_array() {
        close();
        return dom_.end_array();
    }

    template <class Exception> bool parse_error(std::size_t /*byte*/, const std::string& token, const Exception& error) {
        if (error.id == 406) {  // a number too large for a double: bad data, not bad JSON
            throw InputError(fmt::format("{}: the number {} is too large for float64 (write \"inf\" or \"-inf\" for infinity)",
                                         path_or_request(), shown(token)));
        }
        // nlohmann's message quotes the whole last token, which may be megabytes: quote an excerpt instead.
        std::string message = error.what();
        if (const auto bracket = message.find("] "); message.starts_with("[json.exception.") && bracket != std::string::npos) {
            message.erase(0, bracket + 2);
        }
        if (const auto last = message.find("; last read: '"); last != std::string::npos) {
            message = fmt::format("{}; last read: '{}'", message.substr(0, last), shown(token));
        }
        const std::string where = path();
        throw InputError(
            fmt::format("the request is not valid JSON{}: {}", where.empty() ? "" : " (in " + where + ")", detail::excerpt(message, 240)));
    }

private:
    struct Frame {
        bool array;
        std::size_t index = 0;
        std::string key;
        std::set<std::string, std::less<>> keys;
    };

    bool scalar(bool result) {
        if (++values_ > max_values_) {
            throw InputError(
                fmt::format("{}: the request holds more than {} values, past the memory limit of {} GiB "
                            "(--memory-limit to change it)",
                            path_or_request(), max_values_, memory_limit_gib_));
        }
        next();
        return result;
    }
    void open(bool array) {
        if (frames_.size() >= max_depth) {
            throw InputError(fmt::format("{}: the request nests deeper than {} levels (a tensor's data is a flat array of numbers)",
                                         path_or_request(), max_depth));
        }
        frames_.push_back(Frame{array, 0, {}, {}});
    }
    void close() {
        frames_.pop_back();
        next();
    }
    void next() {
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    }

    // values["x"].data[3]: keys under "values" in brackets (they are user names), the others after a dot.
    std::string path(std::size_t depth = std::string::npos) const {
        std::string p;
        for (std::size_t i = 0; i < frames_.size() && i < depth; ++i) {
            const Frame& f = frames_[i];
            if (f.array) {
                p += fmt::format("[{}]", f.index);
            } else if (f.key.empty() && f.keys.empty()) {
                break;  // an object whose first key is not read yet
            } else if (i == 1 && frames_[0].key == "values" && !frames_[0].array) {
                p += fmt::format("[\"{}\"]", shown(f.key));
            } else {
                p += fmt::format("{}{}", p.empty() ? "" : ".", shown(f.key));
            }
        }
        return p;
    }
    std::string path_or_request() const {
        std::string p = path();
        return p.empty() ? "the request" : p;
    }

    nlohmann::detail::json_sax_dom_parser<json> dom_;
    std::vector<Frame> frames_;
    std::size_t values_ = 0;
    std::size_t max_values_;
    double memory_limit_gib_;
};

// A JSON value as a message shows it: small values as written, containers by their size, never the whole.
std::string describe(const json& v) {
    if (v.is_array()) return fmt::format("an array of {} value{}", v.size(), v.size() == 1 ? "" : "s");
    if (v.is_object()) return fmt::format("an object of {} key{}", v.size(), v.size() == 1 ? "" : "s");
    if (v.is_string()) return fmt::format("the string \"{}\"", shown(v.get_ref<const std::string&>()));
    return shown(v.dump());
}

// An object's keys must be known ones: a misspelt key ("grad_ouput") would otherwise be ignored without a word.
void check_keys(const json& object, std::initializer_list<std::string_view> known, const std::string& where) {
    for (const auto& [key, value] : object.items()) {
        if (std::find(known.begin(), known.end(), key) != known.end()) continue;
        const std::string near = detail::nearest_name(key, known);
        throw InputError(fmt::format("{} has an unknown key \"{}\"{}; the keys are {}", where, shown(key),
                                     near.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", near), fmt::join(known, ", ")));
    }
}

// A tensor's shape from JSON, refusing negative, fractional and absurd dimensions.
Shape shape_of(const json& j, const std::string& where) {
    if (!j.is_array()) throw InputError(fmt::format("{}.shape must be an array of dimensions, not {}", where, describe(j)));
    if (j.size() > 16) throw InputError(fmt::format("{}.shape: a shape of rank {} is more than 16", where, j.size()));
    std::vector<std::int64_t> dims;
    for (std::size_t i = 0; i < j.size(); ++i) {
        const json& d = j[i];
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0 || (d.is_number_unsigned() && d.get<std::uint64_t>() > INT64_MAX)) {
            throw InputError(fmt::format("{}.shape[{}] is {}, not a whole number >= 0", where, i, describe(d)));
        }
        dims.push_back(d.get<std::int64_t>());
    }
    try {
        return Shape(dims);
    } catch (const ShapeError& e) {
        throw InputError(fmt::format("{}.shape: {}", where, e.what()));
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
    throw InputError(
        fmt::format("{}.data[{}] is {}, not a number (non-finite numbers are \"nan\", \"inf\", \"-inf\")", where, index, describe(v)));
}

struct TensorSpec {
    Shape shape;
    const json* data;
};

TensorSpec tensor_spec(const json& j, const std::string& where) {
    if (!j.is_object())
        throw InputError(fmt::format("{} must be an object {{\"shape\": [...], \"data\": [...]}}, not {}", where, describe(j)));
    check_keys(j, {"shape", "data"}, where);
    if (!j.contains("shape")) throw InputError(fmt::format("{} has no \"shape\"", where));
    if (!j.contains("data")) throw InputError(fmt::format("{} has no \"data\" array", where));
    if (!j["data"].is_array()) throw InputError(fmt::format("{}.data must be an array of numbers, not {}", where, describe(j["data"])));
    TensorSpec spec{shape_of(j["shape"], where), &j["data"]};
    if (static_cast<std::int64_t>(spec.data->size()) != spec.shape.numel()) {
        throw InputError(
            fmt::format("{}: shape {} holds {} numbers but \"data\" has {}", where, spec.shape, spec.shape.numel(), spec.data->size()));
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

bool is_identifier(std::string_view name) {
    if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace

std::string answer_eval_request(std::string_view text, const EvalLimits& limits) {
    const double limit_bytes = limits.memory_limit_gib * 1073741824.0;
    json request;
    {
        // The document costs 16 bytes a value; 8 bytes a value against the limit keeps it within twice the limit.
        const auto max_values = static_cast<std::size_t>(std::min(limit_bytes / 8.0, 1e15));
        RequestReader reader(request, max_values, limits.memory_limit_gib);
        json::sax_parse(text, &reader);
    }
    if (!request.is_object()) throw InputError(fmt::format("the request must be a JSON object, not {}", describe(request)));
    check_keys(request, {"expr", "dtype", "values", "grad_output", "wrt", "tangents"}, "the request");
    if (!request.contains("expr")) throw InputError("the request has no \"expr\" (the expression to evaluate)");
    if (!request["expr"].is_string()) throw InputError(fmt::format("\"expr\" must be a string, not {}", describe(request["expr"])));
    DType dtype = DType::float32;
    if (request.contains("dtype")) {
        const json& d = request["dtype"];
        const auto named = d.is_string() ? dtype_named(d.get_ref<const std::string&>()) : std::nullopt;
        if (!named) {
            const std::string given = d.is_string() ? fmt::format("\"{}\"", shown(d.get_ref<const std::string&>())) : describe(d);
            throw InputError(fmt::format("\"dtype\" is {}: choose \"float32\" or \"float64\"", given));
        }
        dtype = *named;
    }
    const double element_bytes = static_cast<double>(dtype_size(dtype));
    double total_bytes = 0.0;
    auto account = [&](const Shape& shape, const std::string& what) {
        total_bytes += static_cast<double>(shape.numel()) * element_bytes;
        if (total_bytes > limit_bytes) {
            throw InputError(
                fmt::format("{} (shape {}) takes the request past the memory limit of {} GiB "
                            "(--memory-limit to change it)",
                            what, shape, limits.memory_limit_gib));
        }
    };

    // Shapes first (checked against the limit), values after.
    std::map<std::string, TensorSpec, std::less<>> specs;
    if (request.contains("values")) {
        if (!request["values"].is_object()) {
            throw InputError(fmt::format("\"values\" must be an object of named tensors, not {}", describe(request["values"])));
        }
        for (const auto& [name, value] : request["values"].items()) {
            const std::string where = fmt::format("values[\"{}\"]", shown(name));
            if (!is_identifier(name) ||
                std::find(std::begin(reserved_constants), std::end(reserved_constants), name) != std::end(reserved_constants)) {
                throw InputError(
                    fmt::format("{}: \"{}\" is not a variable name (letters, digits and _, not starting with a digit; "
                                "not pi, inf or nan)",
                                where, shown(name)));
            }
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
        const json& names = request["wrt"];
        if (!names.is_array()) throw InputError(fmt::format("\"wrt\" must be an array of variable names, not {}", describe(names)));
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (!names[i].is_string()) throw InputError(fmt::format("wrt[{}] is {}, not a name", i, describe(names[i])));
            const std::string& name = names[i].get_ref<const std::string&>();
            if (std::find(wrt_names.begin(), wrt_names.end(), name) != wrt_names.end()) {
                throw InputError(fmt::format("wrt[{}]: \"wrt\" names '{}' twice", i, shown(name)));
            }
            wrt_names.push_back(name);
        }
    } else {
        for (const auto& [name, spec] : specs) wrt_names.push_back(name);
    }
    for (const auto& name : wrt_names) {
        const auto found = specs.find(name);
        if (found == specs.end()) {
            throw InputError(fmt::format("\"wrt\" names '{}', which is not a variable with a value in \"values\"", shown(name)));
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
        seed = var("\x01grad_output", y.shape(), dtype);  // a name no expression can spell, nor a value's key
        bindings.emplace("\x01grad_output", make_tensor(spec, dtype, "grad_output"));
    }
    // Forward mode: "tangents" moves named variables (each by a tensor that broadcasts to its shape); the answer's
    // "tangent_output" is the output's directional derivative.
    std::vector<std::pair<Expr, Expr>> tangents;
    if (request.contains("tangents")) {
        const json& given = request["tangents"];
        if (!given.is_object()) {
            throw InputError(fmt::format("\"tangents\" must be an object of named tensors, not {}", describe(given)));
        }
        for (const auto& [name, value] : given.items()) {
            const std::string where = fmt::format("tangents[\"{}\"]", shown(name));
            const auto found = specs.find(name);
            if (found == specs.end()) {
                throw InputError(fmt::format("{} names '{}', which is not a variable with a value in \"values\"", where, shown(name)));
            }
            TensorSpec spec = tensor_spec(value, where);
            if (!broadcastable_to(spec.shape, found->second.shape)) {
                throw InputError(fmt::format("{} has shape {}, which does not broadcast to the shape {} of '{}'", where, spec.shape,
                                             found->second.shape, shown(name)));
            }
            account(spec.shape, where);
            const std::string key = "\x01tangent_" + name;  // (no expression can spell it)
            tangents.emplace_back(var(name, found->second.shape, dtype), var(key, spec.shape, dtype));
            bindings.emplace(key, make_tensor(spec, dtype, where));
        }
        account(y.shape(), "the tangent of the output");
    }
    std::vector<Expr> outputs{y};
    const auto grads = grad(y, wrt, seed);
    outputs.insert(outputs.end(), grads.begin(), grads.end());
    if (request.contains("tangents")) {
        const Expr ys[] = {y};
        outputs.push_back(jvp(ys, tangents)[0]);
    }
    // Intermediate values count too: sum(x * y) of a column and a row has a scalar output but a matrix inside.
    check_memory(outputs, limits.memory_limit_gib, "evaluating this request");
    const auto values = run_compiled(outputs, bindings);
    // Anomaly mode: one pass over the answers; only if one is not finite, the reference evaluator finds the origin.
    if (limits.detect_anomaly && any_nonfinite(values)) {
        if (auto anomaly = find_anomaly(y, wrt, bindings, seed)) throw AnomalyError(std::move(*anomaly));
    }

    json answer;
    answer["output"] = tensor_json(values[0]);
    answer["grads"] = json::object();
    for (std::size_t i = 0; i < wrt.size(); ++i) answer["grads"][wrt_names[i]] = tensor_json(values[1 + i]);
    if (request.contains("tangents")) answer["tangent_output"] = tensor_json(values.back());
    return answer.dump();
}

std::string anomaly_json(const Anomaly& anomaly) {
    json error;
    error["error"] = "anomaly";
    error["pass"] = anomaly.pass;
    error["expression"] = anomaly.expression;
    if (!anomaly.rule.empty()) {
        error["rule"] = anomaly.rule;
        error["rule_of"] = anomaly.rule_of;
    }
    error["shape"] = anomaly.shape.dims();
    error["index"] = anomaly.index;
    error["value"] = std::isnan(anomaly.value) ? "nan" : (anomaly.value > 0 ? "inf" : "-inf");
    error["operands"] = json::array();
    for (const auto& [what, v] : anomaly.operands) {
        error["operands"].push_back({{"expression", what}, {"value", std::isfinite(v) ? json(v) : json(std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"))}});
    }
    error["path"] = anomaly.path;
    error["message"] = anomaly.message();
    return error.dump();
}

}  // namespace symgrad::cli
