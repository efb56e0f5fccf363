// Text helpers for error messages, shared by the parser and the command-line tool: quoting user text as a
// bounded excerpt that never cuts a UTF-8 character in half and stays on one line, and the nearest known name
// to a misspelt one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace symgrad::detail {

// True for the bytes 10xxxxxx that continue a multi-byte UTF-8 character.
inline bool utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The largest offset <= pos that does not fall inside a character (at most 3 bytes back: a longer run of
// continuation bytes is not UTF-8, and then the cut is as good as any).
inline std::size_t utf8_floor(std::string_view text, std::size_t pos) {
    if (pos >= text.size()) return text.size();
    for (int back = 0; back < 3 && pos > 0 && utf8_continuation(text[pos]); ++back) --pos;
    return pos;
}

// The smallest offset >= pos that does not fall inside a character.
inline std::size_t utf8_ceil(std::string_view text, std::size_t pos) {
    for (int ahead = 0; ahead < 3 && pos < text.size() && utf8_continuation(text[pos]); ++ahead) ++pos;
    return pos < text.size() ? pos : text.size();
}

// The number of characters (code points) in text[0, bytes): what a terminal column counts.
inline std::size_t utf8_columns(std::string_view text, std::size_t bytes) {
    std::size_t columns = 0;
    for (std::size_t i = 0; i < bytes && i < text.size(); ++i) columns += utf8_continuation(text[i]) ? 0 : 1;
    return columns;
}

// At most about max_bytes of text, cut on a character boundary and marked "..." with the full length when
// cut; control characters (newline, tab, escape, ...) are written as \n, \t, \x1b so the excerpt stays on
// one line and cannot move a terminal's cursor.
inline std::string excerpt(std::string_view text, std::size_t max_bytes = 60) {
    const bool cut = text.size() > max_bytes;
    const std::size_t end = cut ? utf8_floor(text, max_bytes) : text.size();
    std::string out;
    out.reserve(end + 24);
    for (std::size_t i = 0; i < end; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c == 0x7F) {
            constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (cut) out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

// Levenshtein distance (insertions, deletions, substitutions), in bytes.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The candidate nearest to name, if it is near enough to be a likely misspelling: up to one edit for short
// names, a third of the name for longer ones ("sigmoidd", "grad_ouput"). Empty when none is.
template <class Names> std::string nearest_name(std::string_view name, const Names& candidates) {
    if (name.size() > 256) return {};  // not a misspelling, and the distance would cost its square
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(1, name.size() / 3) + 1;
    for (const auto& candidate : candidates) {
        const std::size_t d = edit_distance(name, candidate);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(candidate);
        }
    }
    return best;
}

}  // namespace symgrad::detail
