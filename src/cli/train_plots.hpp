// The pictures of symgrad train: loss and accuracy per epoch; the decision regions of a model of two features.
#pragma once

#include "common.hpp"

namespace symgrad::cli {

std::string training_curves_svg(const std::string& title, const std::vector<nn::EpochReport>& history);

// The plane of the two (standardized) features, coloured by the class the model predicts, with the examples of
// `shown` on top in the colours of their labels (a dark ring marks the misclassified ones). Axes in the features'
// own units (standardizer undone).
std::string decision_boundary_svg(const std::string& title, const nn::MLP& model, const data::Dataset& shown,
                                  const data::Standardizer& standardizer, std::size_t threads);

}  // namespace symgrad::cli
