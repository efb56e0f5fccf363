#include "symgrad/data.hpp"

#include "nn/finite_number.hpp"
#include "symgrad/detail/text.hpp"
#include "tensor/splitmix.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <numbers>

namespace symgrad::data {

namespace {

// The tensors' generator (splitmix.hpp), with what the datasets draw.
struct Random {
    detail::SplitMix64 bits;
    double unit() { return bits.unit(); }  // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
    // Box-Muller.
    double normal() {
        const double u = 1.0 - unit();
        const double v = unit();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
    }
    std::uint64_t below(std::uint64_t n) { return bits.next() % n; }
};

void check_size(std::int64_t n, std::string_view name) {
    if (n < 2 || n > 10'000'000) throw Error(fmt::format("{}: the number of examples must be 2 to 10,000,000, got {}", name, n));
}

Dataset make(std::string name, std::int64_t n, std::int64_t classes, std::vector<std::string> features) {
    Dataset d;
    d.name = std::move(name);
    d.features = Tensor::zeros({n, static_cast<std::int64_t>(features.size())});
    d.labels.assign(static_cast<std::size_t>(n), 0);
    d.classes = classes;
    d.feature_names = std::move(features);
    for (std::int64_t k = 0; k < classes; ++k) d.class_names.push_back(fmt::format("{}", k));
    return d;
}

}  // namespace

Dataset Dataset::subset(const std::vector<std::int64_t>& rows) const {
    Dataset d;
    d.name = name;
    d.classes = classes;
    d.feature_names = feature_names;
    d.class_names = class_names;
    const std::int64_t f = features.shape()[1];
    d.features = Tensor::zeros({static_cast<std::int64_t>(rows.size()), f});
    for (std::size_t i = 0; i < rows.size(); ++i) {
        for (std::int64_t j = 0; j < f; ++j) d.features.set(static_cast<std::int64_t>(i) * f + j, features.get(rows[i] * f + j));
        d.labels.push_back(labels[static_cast<std::size_t>(rows[i])]);
    }
    return d;
}

Dataset two_moons(std::int64_t n, double noise, std::uint64_t seed) {
    check_size(n, "two-moons");
    Dataset d = make("two-moons", n, 2, {"x1", "x2"});
    Random r{seed};
    for (std::int64_t i = 0; i < n; ++i) {
        const int label = static_cast<int>(i % 2);
        const double t = std::numbers::pi * r.unit();
        const double x = label == 0 ? std::cos(t) : 1.0 - std::cos(t);
        const double y = label == 0 ? std::sin(t) : 0.5 - std::sin(t);
        d.features.set(2 * i, x + noise * r.normal());
        d.features.set(2 * i + 1, y + noise * r.normal());
        d.labels[static_cast<std::size_t>(i)] = label;
    }
    return d;
}

Dataset spirals(std::int64_t n, std::int64_t classes, double noise, std::uint64_t seed) {
    check_size(n, "spirals");
    if (classes < 2 || classes > 16) throw Error(fmt::format("spirals: 2 to 16 classes, got {}", classes));
    Dataset d = make("spirals", n, classes, {"x1", "x2"});
    Random r{seed};
    for (std::int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<int>(i % classes);
        const double t = r.unit();  // position along the arm, 0 at the centre
        const double angle = 4.0 * std::numbers::pi * t + 2.0 * std::numbers::pi * k / static_cast<double>(classes);
        const double radius = 0.05 + t;
        d.features.set(2 * i, radius * std::cos(angle) + noise * r.normal());
        d.features.set(2 * i + 1, radius * std::sin(angle) + noise * r.normal());
        d.labels[static_cast<std::size_t>(i)] = k;
    }
    return d;
}

Dataset circles(std::int64_t n, double noise, std::uint64_t seed) {
    check_size(n, "circles");
    Dataset d = make("circles", n, 2, {"x1", "x2"});
    Random r{seed};
    for (std::int64_t i = 0; i < n; ++i) {
        const int label = static_cast<int>(i % 2);
        const double angle = 2.0 * std::numbers::pi * r.unit();
        const double radius = label == 0 ? 0.5 * r.unit() : 0.8 + 0.4 * r.unit();
        d.features.set(2 * i, radius * std::cos(angle) + noise * r.normal());
        d.features.set(2 * i + 1, radius * std::sin(angle) + noise * r.normal());
        d.labels[static_cast<std::size_t>(i)] = label;
    }
    return d;
}

Dataset xor_quadrants(std::int64_t n, double noise, std::uint64_t seed) {
    check_size(n, "xor");
    Dataset d = make("xor", n, 2, {"x1", "x2"});
    Random r{seed};
    for (std::int64_t i = 0; i < n; ++i) {
        const double x = r.uniform(-1, 1);
        const double y = r.uniform(-1, 1);
        d.features.set(2 * i, x + noise * r.normal());
        d.features.set(2 * i + 1, y + noise * r.normal());
        d.labels[static_cast<std::size_t>(i)] = (x > 0) != (y > 0) ? 1 : 0;
    }
    return d;
}

Dataset height_weight(std::int64_t n, std::uint64_t seed) {
    check_size(n, "height-weight");
    Dataset d = make("height-weight", n, 2, {"height_cm", "weight_kg"});
    d.class_names = {"female", "male"};
    Random r{seed};
    for (std::int64_t i = 0; i < n; ++i) {
        const int male = static_cast<int>(i % 2);
        // Adult means and spreads; weight correlates with height (about 0.45 within each sex).
        const double height_mean = male ? 176.0 : 162.0;
        const double height_sd = male ? 7.0 : 6.5;
        const double weight_mean = male ? 80.0 : 63.0;
        const double weight_sd = male ? 12.0 : 11.0;
        const double z1 = r.normal();
        const double z2 = 0.45 * z1 + std::sqrt(1.0 - 0.45 * 0.45) * r.normal();
        d.features.set(2 * i, height_mean + height_sd * z1);
        d.features.set(2 * i + 1, weight_mean + weight_sd * z2);
        d.labels[static_cast<std::size_t>(i)] = male;
    }
    return d;
}

std::vector<std::string> builtin_names() { return {"two-moons", "spirals", "circles", "xor", "height-weight"}; }

Dataset builtin(std::string_view name, std::int64_t n, std::uint64_t seed) {
    if (name == "two-moons" || name == "moons") return two_moons(n, 0.1, seed);
    if (name == "spirals") return spirals(n, 3, 0.03, seed);
    if (name == "circles") return circles(n, 0.05, seed);
    if (name == "xor") return xor_quadrants(n, 0.05, seed);
    if (name == "height-weight") return height_weight(n, seed);
    throw Error(fmt::format("unknown dataset '{}': the built-in ones are {}", name, fmt::join(builtin_names(), ", ")));
}

namespace {

std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
        const auto comma = line.find(',', start);
        std::string field = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto first = field.find_first_not_of(" \t\r");
        const auto last = field.find_last_not_of(" \t\r");
        fields.push_back(first == std::string::npos ? "" : field.substr(first, last - first + 1));
        if (comma == std::string::npos) return fields;
        start = comma + 1;
    }
}

// Lines of a file, each at most max_line bytes: a file of one endless line ends with a message, not with all
// memory.
class LineReader {
public:
    static constexpr std::size_t max_line = std::size_t{1} << 20;

    LineReader(std::istream& in, const std::string& path) : in_(in), path_(path) {}

    bool next(std::string& line) {
        line.clear();
        for (;;) {
            if (position_ == filled_ && !refill()) {
                if (line.empty()) return false;
                ++number_;  // a last line without a newline
                return true;
            }
            const char* begin = buffer_.data() + position_;
            const char* end = buffer_.data() + filled_;
            const char* newline = std::find(begin, end, '\n');
            line.append(begin, newline);
            position_ += static_cast<std::size_t>(newline - begin);
            if (line.size() > max_line) {
                throw Error(fmt::format("{}:{}: the line is longer than {} bytes (is this a CSV file?)", path_, number_ + 1, max_line));
            }
            if (newline != end) {
                ++position_;
                ++number_;
                return true;
            }
        }
    }
    std::size_t number() const { return number_; }

private:
    bool refill() {
        if (!in_) return false;
        in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        filled_ = static_cast<std::size_t>(in_.gcount());
        position_ = 0;
        return filled_ > 0;
    }
    std::istream& in_;
    const std::string& path_;
    std::vector<char> buffer_ = std::vector<char>(std::size_t{1} << 16);
    std::size_t position_ = 0;
    std::size_t filled_ = 0;
    std::size_t number_ = 0;
};

}  // namespace

Dataset load_csv(const std::string& path, const std::string& target) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("cannot read '{}'", path));
    LineReader lines(in, path);
    std::string line;
    std::vector<std::string> header;
    while (header.empty() && lines.next(line)) {
        // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first column's name.
        if (lines.number() == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
        if (line.find_first_not_of(" \t\r") != std::string::npos) header = csv_fields(line);
    }
    if (header.empty()) throw Error(fmt::format("{}: the file is empty (a header row naming the columns comes first)", path));
    const auto target_at = std::find(header.begin(), header.end(), target);
    if (target_at == header.end()) {
        std::vector<std::string> names;
        for (const auto& h : header) names.push_back(detail::excerpt(h, 40));
        throw Error(fmt::format("{}: no column '{}' (the columns are {})", path, detail::excerpt(target, 40), fmt::join(names, ", ")));
    }
    const auto target_index = static_cast<std::size_t>(target_at - header.begin());
    if (header.size() < 2) throw Error(fmt::format("{}: besides the target '{}' there is no feature column", path, target));
    std::vector<std::vector<double>> rows;
    std::vector<std::string> targets;
    std::vector<std::size_t> target_lines;
    while (lines.next(line)) {
        const std::size_t line_number = lines.number();
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto fields = csv_fields(line);
        if (fields.size() != header.size()) {
            throw Error(fmt::format("{}:{}: {} fields, but the header names {} columns", path, line_number, fields.size(), header.size()));
        }
        std::vector<double> row;
        for (std::size_t j = 0; j < fields.size(); ++j) {
            if (j == target_index) continue;
            double v = 0;
            if (!detail::parse_finite_number(fields[j], v)) {
                throw Error(fmt::format("{}:{}: column '{}' holds '{}', which is not a finite number", path, line_number,
                                        detail::excerpt(header[j], 40), detail::excerpt(fields[j], 40)));
            }
            row.push_back(v);
        }
        if (fields[target_index].empty()) throw Error(fmt::format("{}:{}: the target '{}' is empty", path, line_number, target));
        rows.push_back(std::move(row));
        targets.push_back(fields[target_index]);
        target_lines.push_back(line_number);
        if (rows.size() > 10'000'000) throw Error(fmt::format("{}: more than 10,000,000 rows", path));
    }
    if (rows.size() < 2)
        throw Error(
            fmt::format("{}: {} example{} after the header; at least 2 are needed", path, rows.size(), rows.size() == 1 ? "" : "s"));

    // Classes, by one rule: when every label reads as a number, the labels are numbers (1 and 1.0 are one class),
    // in numeric order; otherwise they are words, in byte order. A label that reads as NaN or infinity is an error
    // either way: it is a missing value, not a class.
    std::vector<double> numbers(targets.size());
    bool all_numbers = true;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        std::string_view t = targets[i];
        if (t.starts_with('+')) t.remove_prefix(1);
        const auto [end, error] = std::from_chars(t.data(), t.data() + t.size(), numbers[i]);
        const bool is_number = !t.empty() && error == std::errc() && end == t.data() + t.size();
        if (is_number && !std::isfinite(numbers[i])) {
            throw Error(fmt::format("{}:{}: the target '{}' is '{}', a missing value rather than a class", path, target_lines[i], target,
                                    detail::excerpt(targets[i], 40)));
        }
        all_numbers = all_numbers && is_number;
    }
    std::vector<std::int32_t> labels(targets.size());
    std::vector<std::string> classes;
    if (all_numbers) {
        std::vector<double> distinct(numbers);
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        if (distinct.size() <= 1000) {
            for (std::size_t i = 0; i < targets.size(); ++i) {
                labels[i] = static_cast<std::int32_t>(std::lower_bound(distinct.begin(), distinct.end(), numbers[i]) - distinct.begin());
            }
            for (double v : distinct) classes.push_back(fmt::format("{}", v == 0 ? 0.0 : v));  // -0 and 0 are one class: "0"
        } else {
            classes.resize(distinct.size());
        }
    } else {
        classes = targets;
        std::sort(classes.begin(), classes.end());
        classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
        if (classes.size() <= 1000) {
            for (std::size_t i = 0; i < targets.size(); ++i) {
                labels[i] = static_cast<std::int32_t>(std::lower_bound(classes.begin(), classes.end(), targets[i]) - classes.begin());
            }
        }
    }
    if (classes.size() < 2)
        throw Error(fmt::format("{}: the target '{}' has only one value ('{}'): nothing to classify", path, target,
                                detail::excerpt(targets[0], 40)));
    if (classes.size() > 1000)
        throw Error(fmt::format("{}: the target '{}' has {} distinct values; is it a class column?", path, target, classes.size()));
    Dataset d;
    d.name = path;
    d.classes = static_cast<std::int64_t>(classes.size());
    d.class_names = classes;
    for (std::size_t j = 0; j < header.size(); ++j) {
        if (j != target_index) d.feature_names.push_back(header[j]);
    }
    const auto f = static_cast<std::int64_t>(d.feature_names.size());
    d.features = Tensor::zeros({static_cast<std::int64_t>(rows.size()), f});
    for (std::size_t i = 0; i < rows.size(); ++i) {
        for (std::int64_t j = 0; j < f; ++j) d.features.set(static_cast<std::int64_t>(i) * f + j, rows[i][static_cast<std::size_t>(j)]);
    }
    d.labels = std::move(labels);
    return d;
}

std::pair<Dataset, Dataset> split(const Dataset& d, double test_fraction, std::uint64_t seed) {
    if (!(test_fraction > 0 && test_fraction < 1))
        throw Error(fmt::format("the test fraction must be between 0 and 1, got {}", test_fraction));
    std::vector<std::int64_t> order(static_cast<std::size_t>(d.size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
    Random r{seed ^ 0x5eed5eedULL};
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[r.below(i)]);  // Fisher-Yates
    const auto test =
        std::clamp<std::int64_t>(static_cast<std::int64_t>(std::llround(test_fraction * static_cast<double>(d.size()))), 1, d.size() - 1);
    const std::vector<std::int64_t> test_rows(order.begin(), order.begin() + test);
    const std::vector<std::int64_t> train_rows(order.begin() + test, order.end());
    return {d.subset(train_rows), d.subset(test_rows)};
}

Standardizer Standardizer::fit(const Dataset& train) {
    Standardizer s;
    const std::int64_t n = train.size();
    const std::int64_t f = train.features.shape()[1];
    for (std::int64_t j = 0; j < f; ++j) {
        double mean = 0;
        for (std::int64_t i = 0; i < n; ++i) mean += train.features.get(i * f + j);
        mean /= static_cast<double>(n);
        double var = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const double d = train.features.get(i * f + j) - mean;
            var += d * d;
        }
        const double sd = std::sqrt(var / static_cast<double>(n));
        s.mean.push_back(mean);
        s.stddev.push_back(sd > 0 ? sd : 1.0);  // a constant feature stays as it is, centred
    }
    return s;
}

Dataset Standardizer::apply(const Dataset& d) const {
    Dataset out = d;
    out.features = d.features.clone();
    const std::int64_t f = d.features.shape()[1];
    for (std::int64_t i = 0; i < d.size(); ++i) {
        for (std::int64_t j = 0; j < f; ++j) {
            const auto k = static_cast<std::size_t>(j);
            out.features.set(i * f + j, (d.features.get(i * f + j) - mean[k]) / stddev[k]);
        }
    }
    return out;
}

}  // namespace symgrad::data
