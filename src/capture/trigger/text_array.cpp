#include "capture/trigger/text_array.hpp"

#include <string>

namespace walcast::capture::trigger {

namespace {

Error bad(std::size_t at, const char* what) {
    return make_error(Errc::InvalidInput,
                      std::string("malformed text[] at byte ") + std::to_string(at) + ": " + what);
}

} // namespace

Result<std::size_t> append_text_array(std::string_view text, pg::Tuple& tuple) {
    if (text.size() < 2 || text.front() != '{') return bad(0, "expected '{'");
    std::size_t i = 1;
    std::size_t count = 0;
    if (text[i] == '}') {
        if (text.size() != 2) return bad(2, "bytes after the closing brace");
        return count;
    }
    std::string value;
    for (;;) {
        if (i >= text.size()) return bad(i, "unterminated array");
        value.clear();
        if (text[i] == '"') {
            ++i;
            for (;;) {
                if (i >= text.size()) return bad(i, "unterminated quoted element");
                char c = text[i++];
                if (c == '"') break;
                if (c == '\\') {
                    if (i >= text.size()) return bad(i, "backslash at the end");
                    c = text[i++];
                }
                value += c;
            }
            tuple.push_value(value);
        } else {
            const std::size_t start = i;
            while (i < text.size() && text[i] != ',' && text[i] != '}') {
                if (text[i] == '{' || text[i] == '"' || text[i] == '\\')
                    return bad(i, "unexpected character in an unquoted element");
                ++i;
            }
            std::string_view word = text.substr(start, i - start);
            if (word.empty()) return bad(start, "empty unquoted element");
            if (word == "NULL")
                tuple.push_null();
            else
                tuple.push_value(word);
        }
        ++count;
        if (i >= text.size()) return bad(i, "unterminated array");
        if (text[i] == ',') {
            ++i;
            continue;
        }
        if (text[i] != '}') return bad(i, "expected ',' or '}' after an element");
        if (i + 1 != text.size()) return bad(i + 1, "bytes after the closing brace");
        return count;
    }
}

} // namespace walcast::capture::trigger
