// A trained model in a checkpoint file: its parameters, the optimizer's state, and as metadata everything needed to
// build the model again and to regenerate and standardize its data (symgrad train -o / --resume, symgrad predict).
#pragma once

#include <optional>
#include <string_view>

#include <symgrad/io.hpp>

#include "common.hpp"

namespace symgrad::cli {

// How the model and its data were made: written as the checkpoint's metadata.
struct ModelRecipe {
    std::string activation_name;
    std::string activation_text;
    std::vector<nn::ParamSpec> activation_params;
    std::vector<std::int64_t> hidden;
    nn::WeightInit weights = nn::WeightInit::kaiming;
    std::int64_t inputs = 0;
    std::int64_t classes = 0;
    DType dtype = DType::float32;
    std::string data;  // a built-in dataset's name, or a CSV file's path
    std::string target;  // the CSV file's class column
    std::int64_t examples = 0;
    double test_fraction = 0.2;
    std::uint64_t seed = 1;
    std::vector<std::string> feature_names;  // the columns the model reads, in order (empty in files before 0.2)
    std::vector<std::string> class_names;  // what its outputs mean, in order (empty in files before 0.2)
    std::vector<double> mean;  // the standardizer fitted on the training set
    std::vector<double> stddev;
    std::int64_t epochs_done = 0;
    std::string optimizer;  // whose state the file holds
};

// The weight initialisations by name, as --weights takes them and a model file keeps them: "kaiming", "xavier";
// any other name: nullopt.
std::string_view weight_init_name(nn::WeightInit init);
std::optional<nn::WeightInit> weight_init_named(std::string_view name);

// "per-unit:1", "shared:uniform(-1, 1)", "[1, 64]:normal(0, 0.1)": what parse_param_spec reads back.
std::string param_spec_text(const nn::ParamSpec& spec);

void save_model(const std::string& path, const ModelRecipe& recipe, const nn::MLP& model, const nn::Optimizer& optimizer);

// Reads a checkpoint written by save_model; errors (InputError) name the file and what is missing or wrong,
// including metadata that does not fit the tensors stored (a forged hidden=65536,65536 is refused before any
// model is built) and a dtype or weight initialisation it does not know (never read as the default).
struct SavedModel {
    ModelRecipe recipe;
    io::Checkpoint checkpoint;
};
SavedModel load_model(const std::string& path);

// The dataset named by the recipe: a built-in one (examples, seed), or a CSV file (with its target column).
// The number of weights and biases of the MLP the recipe describes (inputs, hidden widths, classes), counted without
// building it.
double weight_count(const ModelRecipe& recipe);

// The dataset's columns in the model's order, matched by name, and its labels mapped to the model's classes by
// name: a CSV whose columns were swapped, or that lacks one, is read right or refused (never silently wrong).
data::Dataset match_model_columns(const data::Dataset& d, const ModelRecipe& recipe, const std::string& model_path);

data::Dataset dataset_of(const std::string& name, const std::string& target, std::int64_t examples, std::uint64_t seed);

// The recipe's model.
nn::MLP build_model(const ModelRecipe& recipe);

// Copies the checkpoint's parameters into model, checking that every parameter is there with its shape and dtype.
void restore_parameters(nn::MLP& model, const io::Checkpoint& checkpoint, const std::string& path);

}  // namespace symgrad::cli
