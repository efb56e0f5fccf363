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

std::string_view weight_init_name(nn::WeightInit init) { return init == nn::WeightInit::xavier ? "xavier" : "kaiming"; }

std::optional<nn::WeightInit> weight_init_named(std::string_view name) {
    for (const nn::WeightInit init : {nn::WeightInit::kaiming, nn::WeightInit::xavier}) {
        if (name == weight_init_name(init)) return init;
    }
    return std::nullopt;
}

std::string param_spec_text(const nn::ParamSpec& spec) {
    const std::string policy = spec.policy == nn::Policy::shared ? "shared"
        : spec.policy == nn::Policy::per_unit                    ? "per-unit"
        : spec.policy == nn::Policy::per_channel                 ? "per-channel"
                                                                 : fmt::format("[{}]", fmt::join(spec.shape.dims(), ","));
    std::string init;
    switch (spec.init.kind) {
    case nn::Init::Kind::uniform: init = fmt::format("uniform({:.17g},{:.17g})", spec.init.a, spec.init.b); break;
    case nn::Init::Kind::normal: init = fmt::format("normal({:.17g},{:.17g})", spec.init.a, spec.init.b); break;
    case nn::Init::Kind::constant: init = fmt::format("{:.17g}", spec.init.a); break;
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
                  {"model.weight_init", std::string(weight_init_name(r.weights))},
                  {"model.inputs", std::to_string(r.inputs)},
                  {"model.classes", std::to_string(r.classes)},
                  {"model.dtype", std::string(dtype_name(r.dtype))},
                  {"data.name", r.data},
                  {"data.target", r.target},
                  {"data.examples", std::to_string(r.examples)},
                  {"data.test_fraction", fmt::format("{:.17g}", r.test_fraction)},
                  {"data.seed", std::to_string(r.seed)},
                  {"data.features", fmt::format("{}", fmt::join(r.feature_names, ","))},  // CSV columns hold no comma
                  {"data.classes", fmt::format("{}", fmt::join(r.class_names, ","))},
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
    if (get("format") != "symgrad.mlp.1")
        throw InputError(fmt::format("'{}' holds a model of format '{}', not symgrad.mlp.1", path, get("format")));
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
    // Whole numbers in range, checked before anything is built from them.
    auto whole = [&](double v, const std::string& key, double lo, double hi) {
        if (!(v >= lo && v <= hi && v == std::floor(v))) {
            throw InputError(fmt::format("{} '{}' is {}, not a whole number from {} to {}", where, key, v, lo, hi));
        }
        return static_cast<std::int64_t>(v);
    };
    for (double h : numbers_of(get("model.hidden"), where)) r.hidden.push_back(whole(h, "model.hidden", 1, 65536));
    // A name the file does not know is an error, not the default: the model built would not be the one trained.
    auto unknown_name = [&](const std::string& key, std::string_view accepted) {
        return InputError(fmt::format("{} '{}' is '{}', not {}", where, key, shown(get(key)), accepted));
    };
    const auto weights = weight_init_named(get("model.weight_init"));
    if (!weights) throw unknown_name("model.weight_init", "kaiming or xavier");
    r.weights = *weights;
    r.inputs = whole(parse_number(get("model.inputs"), where), "model.inputs", 1, 1e6);
    r.classes = whole(parse_number(get("model.classes"), where), "model.classes", 2, 1000);
    // The layers the metadata describes must be the tensors the file holds: a forged width would otherwise build
    // (allocate) a model of any size before the first tensor is compared.
    {
        const double described = weight_count(r);
        double stored = 0;
        for (const auto& [name, t] : saved.checkpoint.tensors) stored += static_cast<double>(t.numel());
        if (described > stored) {
            throw InputError(
                fmt::format("{} describes layers of {:.0f} weights (inputs {}, hidden {}, classes {}) but the file holds {:.0f} "
                            "numbers: it does not fit its tensors",
                            where, described, r.inputs, fmt::join(r.hidden, ","), r.classes, stored));
        }
    }
    const auto dtype = dtype_named(get("model.dtype"));
    if (!dtype) throw unknown_name("model.dtype", "float32 or float64");
    r.dtype = *dtype;
    r.data = get("data.name");
    r.target = get("data.target");
    r.examples = static_cast<std::int64_t>(parse_number(get("data.examples"), where));
    r.test_fraction = parse_number(get("data.test_fraction"), where);
    r.seed = static_cast<std::uint64_t>(parse_number(get("data.seed"), where));
    if (const auto it = m.find("data.features"); it != m.end() && !it->second.empty()) r.feature_names = split(it->second, ',');
    if (const auto it = m.find("data.classes"); it != m.end() && !it->second.empty()) r.class_names = split(it->second, ',');
    if (!r.feature_names.empty() && static_cast<std::int64_t>(r.feature_names.size()) != r.inputs) {
        throw InputError(fmt::format("{} names {} features but the model takes {}", where, r.feature_names.size(), r.inputs));
    }
    if (!r.class_names.empty() && static_cast<std::int64_t>(r.class_names.size()) != r.classes) {
        throw InputError(fmt::format("{} names {} classes but the model has {}", where, r.class_names.size(), r.classes));
    }
    r.mean = numbers_of(get("data.mean"), where);
    r.stddev = numbers_of(get("data.stddev"), where);
    r.epochs_done = static_cast<std::int64_t>(parse_number(get("train.epochs_done"), where));
    r.optimizer = get("train.optimizer");
    return saved;
}

double weight_count(const ModelRecipe& r) {
    double weights = 0;
    std::int64_t fan_in = r.inputs;
    for (std::int64_t width : r.hidden) {
        weights += static_cast<double>(fan_in + 1) * static_cast<double>(width);
        fan_in = width;
    }
    return weights + static_cast<double>(fan_in + 1) * static_cast<double>(r.classes);
}

data::Dataset match_model_columns(const data::Dataset& d, const ModelRecipe& r, const std::string& model_path) {
    if (r.feature_names.empty()) return d;  // a file from before names were kept: by position, as it was trained
    data::Dataset matched = d;
    const auto n = d.size();
    const auto f = static_cast<std::int64_t>(r.feature_names.size());
    const auto given = static_cast<std::int64_t>(d.feature_names.size());
    matched.feature_names = r.feature_names;
    matched.features = Tensor::zeros({n, f});
    for (std::int64_t j = 0; j < f; ++j) {
        const auto at = std::find(d.feature_names.begin(), d.feature_names.end(), r.feature_names[static_cast<std::size_t>(j)]);
        if (at == d.feature_names.end()) {
            throw InputError(fmt::format("{} has no column '{}', which '{}' was trained on (it reads {}; the file has {})", d.name,
                                         r.feature_names[static_cast<std::size_t>(j)], model_path, fmt::join(r.feature_names, ", "),
                                         fmt::join(d.feature_names, ", ")));
        }
        const auto source = static_cast<std::int64_t>(at - d.feature_names.begin());
        for (std::int64_t i = 0; i < n; ++i) matched.features.set(i * f + j, d.features.get(i * given + source));
    }
    if (!r.class_names.empty()) {
        matched.classes = r.classes;
        matched.class_names = r.class_names;
        for (std::size_t i = 0; i < d.labels.size(); ++i) {
            const std::string& name = d.class_names[static_cast<std::size_t>(d.labels[i])];
            const auto at = std::find(r.class_names.begin(), r.class_names.end(), name);
            if (at == r.class_names.end()) {
                throw InputError(fmt::format("{} has the class '{}', which '{}' does not know (its classes: {})", d.name, name, model_path,
                                             fmt::join(r.class_names, ", ")));
            }
            matched.labels[i] = static_cast<std::int32_t>(at - r.class_names.begin());
        }
    }
    return matched;
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
            throw InputError(fmt::format("'{}' does not fit the model: tensor '{}' is {} {} in the file but {} {} in the model", path,
                                         p.name, dtype_name(it->second.dtype()), it->second.shape(), dtype_name(p.value.dtype()),
                                         p.value.shape()));
        }
        // In place: the model's bindings share this storage.
        for (std::int64_t i = 0; i < p.value.numel(); ++i) p.value.set(i, it->second.get(i));
    }
}

}  // namespace symgrad::cli
