#include "pg/sql_text.hpp"

namespace walcast::pg {

namespace {
std::string quoted(std::string_view s, char quote) {
    std::string out(1, quote);
    for (char c : s) {
        if (c == quote) out += quote;
        out += c;
    }
    out += quote;
    return out;
}
} // namespace

std::string quote_identifier(std::string_view name) {
    return quoted(name, '"');
}

std::string quote_literal(std::string_view text) {
    return quoted(text, '\'');
}

std::string array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

} // namespace walcast::pg
