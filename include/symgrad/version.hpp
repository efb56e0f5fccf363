#pragma once

namespace symgrad {

inline constexpr const char* version = "0.1.0";

}  // namespace symgrad
