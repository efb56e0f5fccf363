// The lesson's HTML page: the graph (SVG from Graphviz) and a panel, with a small script that steps through the
// recorded steps (JSON). One file, no network: the style and the script are inline, and nothing is fetched.
#pragma once

#include <string>
#include <string_view>

namespace symgrad::cli {

// The page, with `svg` drawn in it and `steps_json` (the lesson's data) embedded; `title` is escaped.
std::string lesson_page(std::string_view title, std::string_view svg, std::string_view steps_json);

}  // namespace symgrad::cli
