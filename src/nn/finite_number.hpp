// Reading a number a user wrote (a parameter spec, a CSV field): surrounding spaces ignored, a leading '+'
// allowed, the whole text a finite number. Shared by nn.cpp and data.cpp, which word their own errors.
#pragma once

#include <charconv>
#include <cmath>
#include <string_view>

namespace symgrad::detail {

inline bool parse_finite_number(std::string_view text, double& value) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return false;
    text = text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
    if (text.front() == '+') text.remove_prefix(1);
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return !text.empty() && error == std::errc() && end == text.data() + text.size() && std::isfinite(value);
}

}  // namespace symgrad::detail
