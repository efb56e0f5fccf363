// Small helpers shared by the SVG pictures of the tool (plot, train --plot, train --boundary).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace symgrad::cli::svg {

// Tick positions at 1, 2 or 5 times a power of ten, about five across [lo, hi].
inline std::vector<double> ticks(double lo, double hi) {
    const double span = hi - lo;
    const double raw = span / 5.0;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
        if (raw <= m * magnitude) {
            step = m * magnitude;
            break;
        }
    }
    std::vector<double> result;
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) result.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    return result;
}

inline std::string escape_xml(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

inline constexpr const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
// The same hues, light, for filled regions.
inline constexpr const char* light_colours[] = {"#c6dbef", "#fcc5c0", "#c7e9c0", "#dadaeb", "#fdd0a2", "#b3e5ec", "#d9c4b8", "#f5c6e3"};

}  // namespace symgrad::cli::svg
