#include "protocol/supabase/filter_grammar.hpp"

#include "protocol/supabase/elixir_inspect.hpp"

namespace walcast::protocol::supabase {

using core::filter_op_from_string;
using core::FilterCondition;
using core::FilterOp;

namespace {

constexpr std::string_view error_prefix = "Error parsing `filter` params: ";

Error parse_error(std::string reason) {
    return make_error(Errc::InvalidInput, std::string(error_prefix) + reason);
}

/// `inspect/1` of a list of strings, as RT reports a segment it could not split.
std::string inspect_parts(std::initializer_list<std::string_view> parts) {
    std::vector<elixir::Term> items;
    for (auto p : parts)
        items.push_back(elixir::Term::string(p));
    return elixir::inspect(elixir::Term::list(std::move(items)));
}

/// Length of the Unicode whitespace code point at s[i], or 0. Elixir's String.trim/1 set:
/// Unicode White_Space without the non-breaking spaces U+00A0, U+2007 and U+202F.
std::size_t whitespace_at(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
    unsigned c = b(i);
    if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return 1;
    if (c == 0xC2 && b(i + 1) == 0x85) return 2;                     // U+0085
    if (c == 0xE1 && b(i + 1) == 0x9A && b(i + 2) == 0x80) return 3; // U+1680
    if (c == 0xE2 && b(i + 1) == 0x80) {
        unsigned d = b(i + 2);
        if ((d >= 0x80 && d <= 0x8A && d != 0x87) || d == 0xA8 || d == 0xA9) return 3;
    }
    if (c == 0xE2 && b(i + 1) == 0x81 && b(i + 2) == 0x9F) return 3; // U+205F
    if (c == 0xE3 && b(i + 1) == 0x80 && b(i + 2) == 0x80) return 3; // U+3000
    return 0;
}

/// Splits on commas outside parentheses and quoted runs (RT `split_top_level/6`, byte-wise).
std::vector<std::string_view> split_top_level(std::string_view s) {
    std::vector<std::string_view> parts;
    int depth = 0;
    bool quoted = false;
    char prev = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (quoted) {
            if (c == '\\' && i + 1 < s.size()) {
                prev = s[i + 1];
                ++i;
            } else if (c == '"') {
                quoted = false;
                prev = c;
            } else {
                prev = c;
            }
            continue;
        }
        if (c == '"' && (prev == '.' || prev == '(' || prev == ',')) {
            quoted = true;
            prev = c;
        } else if (c == '(') {
            ++depth;
            prev = c;
        } else if (c == ')') {
            depth = depth > 0 ? depth - 1 : 0;
            prev = c;
        } else if (c == ',' && depth == 0) {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
            prev = 0;
        } else {
            prev = c;
        }
    }
    parts.push_back(s.substr(start));
    return parts;
}

/// A value starting with `"` that is exactly one quoted string is unquoted (`\x` → `x`);
/// anything else is kept verbatim (RT `unquote_value/1`).
std::string unquote_value(std::string_view v) {
    if (v.empty() || v.front() != '"') return std::string(v);
    std::string out;
    std::size_t i = 1;
    while (i < v.size()) {
        char c = v[i];
        if (c == '"') {
            if (i + 1 == v.size()) return out;
            return std::string(v); // characters after the closing quote
        }
        if (c == '\\' && i + 1 < v.size()) {
            out += v[i + 1];
            i += 2;
            continue;
        }
        out += c;
        ++i;
    }
    return std::string(v); // unterminated
}

Result<FilterCondition> parse_segment(std::string_view segment) {
    std::string_view trimmed = elixir_trim(segment);
    if (trimmed.empty())
        return parse_error("filter must not contain empty segments (check for extra commas)");
    auto eq = trimmed.find('=');
    if (eq == std::string_view::npos) return parse_error(inspect_parts({trimmed}));
    FilterCondition c;
    c.column = std::string(trimmed.substr(0, eq));
    std::string_view rest = trimmed.substr(eq + 1);
    if (rest.substr(0, 4) == "not.") {
        c.negate = true;
        rest.remove_prefix(4);
    }
    auto dot = rest.find('.');
    if (dot == std::string_view::npos) return parse_error(inspect_parts({rest}));
    std::string_view op_text = rest.substr(0, dot);
    std::string_view value = rest.substr(dot + 1);
    auto op = filter_op_from_string(op_text);
    if (!op) return parse_error(inspect_parts({op_text, value}));
    c.op = *op;
    if (c.op == FilterOp::In) {
        if (value.size() < 2 || value.front() != '(' || value.back() != ')')
            return parse_error("`in` filter value must be wrapped by parentheses");
        c.value = "{" + std::string(value.substr(1, value.size() - 2)) + "}";
    } else {
        c.value = unquote_value(value);
    }
    return c;
}

} // namespace

std::string_view elixir_trim(std::string_view s) {
    std::size_t begin = 0;
    while (begin < s.size()) {
        std::size_t n = whitespace_at(s, begin);
        if (n == 0) break;
        begin += n;
    }
    std::size_t end = s.size();
    while (end > begin) {
        // Find the start of the last code point and test it.
        std::size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
            --start;
        std::size_t n = whitespace_at(s, start);
        if (n == 0 || start + n != end) break;
        end = start;
    }
    return s.substr(begin, end - begin);
}

Result<std::vector<FilterCondition>> parse_filter(std::string_view filter) {
    std::vector<FilterCondition> out;
    std::string_view trimmed = elixir_trim(filter);
    if (trimmed.empty()) return out;
    for (auto segment : split_top_level(trimmed)) {
        auto c = parse_segment(segment);
        if (!c) return std::move(c).error();
        out.push_back(std::move(c).value());
    }
    return out;
}

} // namespace walcast::protocol::supabase
