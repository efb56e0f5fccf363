// Datasets for classification: built-in ones generated from a seed (the same on every platform), splits and
// standardization.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "symgrad/tensor.hpp"

namespace symgrad::data {

struct Dataset {
    Tensor features;  // [N, F], float64
    std::vector<std::int32_t> labels;  // N labels in 0..classes-1
    std::int64_t classes = 0;
    std::vector<std::string> feature_names;
    std::vector<std::string> class_names;
    std::string name;

    std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
    // The examples at these positions, in this order.
    Dataset subset(const std::vector<std::int64_t>& rows) const;
};

// Two interleaving half circles.
Dataset two_moons(std::int64_t n, double noise, std::uint64_t seed);
// `classes` interleaved spiral arms (two turns each).
Dataset spirals(std::int64_t n, std::int64_t classes, double noise, std::uint64_t seed);
// A disc inside a ring.
Dataset circles(std::int64_t n, double noise, std::uint64_t seed);
// The four quadrants, opposite ones alike.
Dataset xor_quadrants(std::int64_t n, double noise, std::uint64_t seed);
// Height (cm) and weight (kg) -> sex: two overlapping Gaussian clusters with adult means and spreads
// (female 162 cm / 63 kg, male 176 cm / 80 kg; correlated within each), the question this project started from.
Dataset height_weight(std::int64_t n, std::uint64_t seed);

// A built-in dataset by name (two-moons, spirals, circles, xor, height-weight) with n examples.
Dataset builtin(std::string_view name, std::int64_t n, std::uint64_t seed);
std::vector<std::string> builtin_names();

// A CSV file: a header row naming the columns, then one example per line, fields separated by commas (spaces
// around them ignored, no quoting; a UTF-8 byte-order mark before the header is skipped). Every column but `target`
// is a numeric feature. The target's distinct values become the classes (class_names): when every label reads as
// a number they are numbers (1 and 1.0 are one class) in numeric order, otherwise words in byte order; a label
// that reads as NaN or infinity is an error with its line. Blank lines are skipped. A malformed line (another
// number of fields, a field that is not a number, more than 1 MiB) is an error naming the file and the line.
Dataset load_csv(const std::string& path, const std::string& target);

// A shuffled split: test_fraction of the examples (at least one) go to the test set.
std::pair<Dataset, Dataset> split(const Dataset& d, double test_fraction, std::uint64_t seed);

// Per-feature mean and standard deviation of a training set, applied to any set (features become z-scores).
struct Standardizer {
    std::vector<double> mean;
    std::vector<double> stddev;
    static Standardizer fit(const Dataset& train);
    Dataset apply(const Dataset& d) const;
};

}  // namespace symgrad::data
