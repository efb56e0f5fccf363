#include "model_file.hpp"

#include <charconv>
#include <cmath>

namespace symgrad::cli {

namespace {

std::string numbers_text(const std::vector<double>& values) {
    std::vector<std::string> parts;
    for (double v : values) parts.push_back(fmt::format("{:.17g}", v));
    return fmt::format("{}", fmt::join(parts, ","));
}

std::vector<double> numbers_of(const std::string& text, const std::string& what) {
    std::vector<double> values;
    if (text.empty()) return values;
    for (const auto& piece : split(text, ',')) values.push_back(parse_number(piece, what));
    return values;
}

}  // namespace

std::string param_spec_text(const nn::ParamSpec& spec) {
    const std::string policy = spec.policy == nn::Policy::shared     ? "shared"
                               : spec.policy == nn::Policy::per_unit ? "per-unit"
                                                                     : fmt::format("[{}]", fmt::join(spec.shape.dims(), ","));
    std::string init;
    switch (spec.init.kind) {
    case nn::Init::Kind::uniform:
        init = fmt::format("uniform({:.17g},{:.17g})", spec.init.a, spec.init.b);
        break;
    case nn::Init::Kind::normal:
        init = fmt::format("normal({:.17g},{:.17g})", spec.init.a, spec.init.b);
        break;
    case nn::Init::Kind::constant:
        init = fmt::format("{:.17g}", spec.init.a);
        break;
    }
    return policy + ":" + init;
}

void save_model(const std::string& path, const ModelRecipe& r, const nn::MLP& model, const nn::Optimizer& optimizer) {
    io::Checkpoint c;
    for (const auto& p : model.parameters()) c.tensors.emplace(p.name, p.value);
    for (auto& [name, t] : optimizer.state_tensors(model.parameters())) c.tensors.emplace(name, std::move(t));
    std::vector<std::string> specs;
    for (const auto& s : r.activation_params) specs.push_back(s.name + "=" + param_spec_text(s));
    c.metadata = {{"format", "symgrad.mlp.1"},
                  {"symgrad.version", std::string(version)},
                  {"activation.name", r.activation_name},
                  {"activation.text", r.activation_text},
                  {"activation.params", fmt::format("{}", fmt::join(specs, ";"))},
                  {"model.hidden", fmt::format("{}", fmt::join(r.hidden, ","))},
                  {"model.weight_init", r.weights == nn::WeightInit::xavier ? "xavier" : "kaiming"},
                  {"model.inputs", std::to_string(r.inputs)},
                  {"model.classes", std::to_string(r.classes)},
                  {"model.dtype", std::string(dtype_name(r.dtype))},
                  {"data.name", r.data},
                  {"data.target", r.target},
                  {"data.examples", std::to_string(r.examples)},
                  {"data.test_fraction", fmt::format("{:.17g}", r.test_fraction)},
                  {"data.seed", std::to_string(r.seed)},
                  {"data.mean", numbers_text(r.mean)},
                  {"data.stddev", numbers_text(r.stddev)},
                  {"train.epochs_done", std::to_string(r.epochs_done)},
                  {"train.optimizer", r.optimizer}};
    try {
        io::save_safetensors(path, c);
    } catch (const io::CheckpointError& e) {
        throw InputError(e.what());
    }
}

SavedModel load_model(const std::string& path) {
    SavedModel saved;
    try {
        saved.checkpoint = io::load_safetensors(path);
    } catch (const io::CheckpointError& e) {
        throw InputError(e.what());
    }
    const auto& m = saved.checkpoint.metadata;
    auto get = [&](const std::string& key) -> const std::string& {
        const auto it = m.find(key);
        if (it == m.end()) throw InputError(fmt::format("'{}' is not a symgrad model checkpoint: its metadata has no '{}'", path, key));
        return it->second;
    };
    if (get("format") != "symgrad.mlp.1") throw InputError(fmt::format("'{}' holds a model of format '{}', not symgrad.mlp.1", path, get("format")));
    const std::string where = fmt::format("'{}' metadata", path);
    ModelRecipe& r = saved.recipe;
    r.activation_name = get("activation.name");
    r.activation_text = get("activation.text");
    if (!get("activation.params").empty()) {
        for (const auto& item : split(get("activation.params"), ';')) {
            const auto [name, spec] = split_assignment(item, where);
            r.activation_params.push_back(nn::parse_param_spec(name, spec));
        }
    }
    for (double h : numbers_of(get("model.hidden"), where)) r.hidden.push_back(static_cast<std::int64_t>(h));
    r.weights = get("model.weight_init") == "xavier" ? nn::WeightInit::xavier : nn::WeightInit::kaiming;
    r.inputs = static_cast<std::int64_t>(parse_number(get("model.inputs"), where));
    r.classes = static_cast<std::int64_t>(parse_number(get("model.classes"), where));
    r.dtype = get("model.dtype") == "float64" ? DType::float64 : DType::float32;
    r.data = get("data.name");
    r.target = get("data.target");
    r.examples = static_cast<std::int64_t>(parse_number(get("data.examples"), where));
    r.test_fraction = parse_number(get("data.test_fraction"), where);
    r.seed = static_cast<std::uint64_t>(parse_number(get("data.seed"), where));
    r.mean = numbers_of(get("data.mean"), where);
    r.stddev = numbers_of(get("data.stddev"), where);
    r.epochs_done = static_cast<std::int64_t>(parse_number(get("train.epochs_done"), where));
    r.optimizer = get("train.optimizer");
    return saved;
}

data::Dataset dataset_of(const std::string& name, const std::string& target, std::int64_t examples, std::uint64_t seed) {
    if (name.ends_with(".csv")) {
        if (target.empty()) throw InputError(fmt::format("--data '{}': name its class column with --target", name));
        return data::load_csv(name, target);
    }
    if (!target.empty()) throw InputError(fmt::format("--target is for CSV files; '{}' is a built-in dataset", name));
    return data::builtin(name, examples, seed);
}

nn::MLP build_model(const ModelRecipe& r) {
    return nn::MLP(r.inputs, r.hidden, r.classes, nn::Activation::parse(r.activation_name, r.activation_text, r.activation_params), r.dtype,
                   r.seed, r.weights);
}

void restore_parameters(nn::MLP& model, const io::Checkpoint& checkpoint, const std::string& path) {
    for (auto& p : model.parameters()) {
        const auto it = checkpoint.tensors.find(p.name);
        if (it == checkpoint.tensors.end()) {
            throw InputError(fmt::format("'{}' does not fit the model: it has no tensor '{}' (shape {})", path, p.name, p.value.shape()));
        }
        if (it->second.shape() != p.value.shape() || it->second.dtype() != p.value.dtype()) {
            throw InputError(fmt::format("'{}' does not fit the model: tensor '{}' is {} {} in the file but {} {} in the model", path, p.name,
                                         dtype_name(it->second.dtype()), it->second.shape(), dtype_name(p.value.dtype()), p.value.shape()));
        }
        // In place: the model's bindings share this storage.
        for (std::int64_t i = 0; i < p.value.numel(); ++i) p.value.set(i, it->second.get(i));
    }
}

}  // namespace symgrad::cli
