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
    if (!std::isfinite(step) || !(step > 0)) return result;  // a span of no finite width, or none
    // Counted, not accumulated: where a step is below the doubles' spacing (1e16 to 1e16 + 2), t + step == t.
    const double first = std::ceil(lo / step);
    for (int k = 0; k < 12; ++k) {
        const double t = (first + k) * step;
        if (!(t <= hi + step * 1e-9)) break;
        const double tick = std::fabs(t) < step * 1e-9 ? 0.0 : t;
        if (result.empty() || tick != result.back()) result.push_back(tick);
    }
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
