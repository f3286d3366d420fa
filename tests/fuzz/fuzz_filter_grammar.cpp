// Fuzz target: Supabase's Postgres Changes filter grammar (protocol::supabase::parse_filter,
// spec §5.2) on arbitrary filter strings. Properties beyond "no crash":
//  - an error is Errc::InvalidInput and starts with "Error parsing `filter` params: " (the
//    text sent to the client, spec §5.4);
//  - there are at most as many conditions as top-level commas plus one, each column comes from
//    the input and holds no '=', and an `in` value is an array literal `{…}`;
//  - written back in the grammar (column=[not.]op."value" with backslash escapes, in.(…)), the
//    conditions parse to the same conditions, whenever the columns and `in` lists hold none of
//    the characters that steer splitting (`,()"\` in a column, `()"` in a list).
#include "fuzz_support.hpp"
#include "protocol/supabase/filter_grammar.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using walcast::core::FilterCondition;
using walcast::core::FilterOp;
using walcast::fuzz::check;
using walcast::protocol::supabase::parse_filter;

// Characters that change how a column or an `in` list (already inside parentheses, where
// commas do not split) is split into segments.
bool steers_splitting(std::string_view s, bool in_parentheses) {
    return s.find_first_of(in_parentheses ? "()\"" : ",()\"\\") != std::string_view::npos;
}

std::string quoted(std::string_view v) {
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view filter(reinterpret_cast<const char*>(data), size);
    auto parsed = parse_filter(filter);
    if (!parsed) {
        check(parsed.error().code == walcast::Errc::InvalidInput, "error is not InvalidInput");
        check(parsed.error().message.starts_with("Error parsing `filter` params: "),
              "error lacks the spec's prefix");
        return 0;
    }
    const auto& conditions = *parsed;
    const auto commas = static_cast<std::size_t>(std::count(filter.begin(), filter.end(), ','));
    check(conditions.size() <= commas + 1, "more conditions than segments");

    bool writable = true;
    std::string written;
    for (const FilterCondition& c : conditions) {
        check(c.column.find('=') == std::string::npos, "column holds '='");
        check(filter.find(c.column) != std::string_view::npos, "column not from the input");
        if (c.op == FilterOp::In)
            check(c.value.size() >= 2 && c.value.front() == '{' && c.value.back() == '}',
                  "in value is not an array literal");
        if (steers_splitting(c.column, false)) writable = false;
        if (!written.empty()) written += ',';
        written += c.column + '=' + (c.negate ? "not." : "") + std::string(to_string(c.op)) + '.';
        if (c.op == FilterOp::In) {
            std::string_view list = std::string_view(c.value).substr(1, c.value.size() - 2);
            if (steers_splitting(list, true)) writable = false;
            written += '(' + std::string(list) + ')';
        } else {
            written += quoted(c.value);
        }
    }
    if (!writable || conditions.empty()) return 0;
    auto again = parse_filter(written);
    check(again.ok(), "written-back filter does not parse");
    check(*again == conditions, "written-back filter parses to other conditions");
    return 0;
}
