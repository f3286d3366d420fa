#include "graphql/lexer.hpp"

#include "common/utf8.hpp"

#include <cstdio>
#include <vector>

namespace walcast::graphql {

namespace {

bool is_digit(int c) {
    return c >= '0' && c <= '9';
}
bool is_name_start(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_continue(int c) {
    return is_name_start(c) || is_digit(c);
}
bool is_scalar_value(std::int64_t cp) {
    return cp >= 0 && cp <= utf8::max_code_point &&
           utf8::is_scalar_value(static_cast<char32_t>(cp));
}
int hex_digit(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

} // namespace

std::string token_kind_description(TokenKind kind) {
    switch (kind) {
    case TokenKind::Sof:
        return "<SOF>";
    case TokenKind::Eof:
        return "<EOF>";
    case TokenKind::Bang:
        return "\"!\"";
    case TokenKind::Dollar:
        return "\"$\"";
    case TokenKind::Amp:
        return "\"&\"";
    case TokenKind::ParenL:
        return "\"(\"";
    case TokenKind::ParenR:
        return "\")\"";
    case TokenKind::Spread:
        return "\"...\"";
    case TokenKind::Colon:
        return "\":\"";
    case TokenKind::Equals:
        return "\"=\"";
    case TokenKind::At:
        return "\"@\"";
    case TokenKind::BracketL:
        return "\"[\"";
    case TokenKind::BracketR:
        return "\"]\"";
    case TokenKind::BraceL:
        return "\"{\"";
    case TokenKind::Pipe:
        return "\"|\"";
    case TokenKind::BraceR:
        return "\"}\"";
    case TokenKind::Name:
        return "Name";
    case TokenKind::Int:
        return "Int";
    case TokenKind::Float:
        return "Float";
    case TokenKind::String:
        return "String";
    case TokenKind::BlockString:
        return "BlockString";
    }
    return "?";
}

SourceLocation Lexer::location_at(std::uint32_t offset) const {
    std::uint32_t line = 1, line_start = 0;
    for (std::uint32_t i = 0; i < offset && i < src_.size(); ++i) {
        if (src_[i] == '\n') {
            ++line, line_start = i + 1;
        } else if (src_[i] == '\r') {
            if (i + 1 < src_.size() && src_[i + 1] == '\n') ++i;
            ++line, line_start = i + 1;
        }
    }
    std::uint32_t units = 0;
    for (std::uint32_t i = line_start; i < offset && i < src_.size();) {
        char32_t cp;
        std::size_t len = utf8::decode(src_, i, cp);
        if (len == 0) len = 1, cp = 0;
        units += cp >= 0x10000 ? 2 : 1;
        i += len;
    }
    return {line, units + 1};
}

SourceLocation Lexer::token_location(std::uint32_t start) {
    if (col_line_start_ != line_start_ || start < col_offset_) {
        col_line_start_ = line_start_;
        col_offset_ = line_start_;
        col_units_ = 0;
    }
    while (col_offset_ < start && col_offset_ < src_.size()) {
        char32_t cp;
        std::size_t len = utf8::decode(src_, col_offset_, cp);
        if (len == 0) len = 1, cp = 0;
        col_units_ += cp >= 0x10000 ? 2 : 1;
        col_offset_ += len;
    }
    return {line_, col_units_ + 1};
}

bool Lexer::fail(GraphQLError& err, std::uint32_t at, std::string message) const {
    err.message = "Syntax Error: " + std::move(message);
    err.locations = {location_at(at)};
    err.path.clear();
    return false;
}

std::string Lexer::describe_char_at(std::uint32_t at) const {
    if (at >= src_.size()) return "<EOF>";
    char32_t cp;
    if (utf8::decode(src_, at, cp) == 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "invalid UTF-8 byte 0x%02X",
                      static_cast<unsigned>(static_cast<unsigned char>(src_[at])));
        return buf;
    }
    if (cp >= 0x20 && cp <= 0x7E) {
        if (cp == '"') return "'\"'";
        return std::string("\"") + static_cast<char>(cp) + "\"";
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
    return buf;
}

bool Lexer::next(Token& out, GraphQLError& err) {
    const std::uint32_t size = static_cast<std::uint32_t>(src_.size());
    std::uint32_t pos = pos_;
    while (pos < size) {
        const auto c = static_cast<unsigned char>(src_[pos]);
        auto punct = [&](TokenKind kind, std::uint32_t len) {
            out.kind = kind;
            out.start = pos;
            out.end = pos + len;
            out.loc = token_location(pos);
            out.value.clear();
            pos_ = pos + len;
            return true;
        };
        switch (c) {
        case '\t':
        case ' ':
        case ',':
            ++pos;
            continue;
        case '\n':
            ++pos;
            ++line_;
            line_start_ = pos;
            continue;
        case '\r':
            pos += (pos + 1 < size && src_[pos + 1] == '\n') ? 2 : 1;
            ++line_;
            line_start_ = pos;
            continue;
        case 0xEF: // U+FEFF byte order mark
            if (pos + 2 < size && static_cast<unsigned char>(src_[pos + 1]) == 0xBB &&
                static_cast<unsigned char>(src_[pos + 2]) == 0xBF) {
                pos += 3;
                continue;
            }
            break;
        case '#':
            while (pos < size && src_[pos] != '\n' && src_[pos] != '\r')
                ++pos;
            continue;
        case '!':
            return punct(TokenKind::Bang, 1);
        case '$':
            return punct(TokenKind::Dollar, 1);
        case '&':
            return punct(TokenKind::Amp, 1);
        case '(':
            return punct(TokenKind::ParenL, 1);
        case ')':
            return punct(TokenKind::ParenR, 1);
        case '.':
            if (pos + 2 < size && src_[pos + 1] == '.' && src_[pos + 2] == '.') {
                return punct(TokenKind::Spread, 3);
            }
            break;
        case ':':
            return punct(TokenKind::Colon, 1);
        case '=':
            return punct(TokenKind::Equals, 1);
        case '@':
            return punct(TokenKind::At, 1);
        case '[':
            return punct(TokenKind::BracketL, 1);
        case ']':
            return punct(TokenKind::BracketR, 1);
        case '{':
            return punct(TokenKind::BraceL, 1);
        case '|':
            return punct(TokenKind::Pipe, 1);
        case '}':
            return punct(TokenKind::BraceR, 1);
        case '"':
            if (pos + 2 < size && src_[pos + 1] == '"' && src_[pos + 2] == '"') {
                return read_block_string(out, err, pos);
            }
            return read_string(out, err, pos);
        default:
            break;
        }
        if (is_digit(c) || c == '-') return read_number(out, err, pos);
        if (is_name_start(c)) {
            std::uint32_t end = pos + 1;
            while (end < size && is_name_continue(static_cast<unsigned char>(src_[end])))
                ++end;
            out.kind = TokenKind::Name;
            out.start = pos;
            out.end = end;
            out.loc = token_location(pos);
            out.value.assign(src_.substr(pos, end - pos));
            pos_ = end;
            return true;
        }
        if (c == '\'') {
            return fail(err, pos,
                        "Unexpected single quote character ('), did you mean to use a double "
                        "quote (\")?");
        }
        char32_t cp;
        if (utf8::decode(src_, pos, cp) == 0) {
            return fail(err, pos, "Invalid character: " + describe_char_at(pos) + ".");
        }
        return fail(err, pos, "Unexpected character: " + describe_char_at(pos) + ".");
    }
    pos_ = size;
    out.kind = TokenKind::Eof;
    out.start = out.end = size;
    out.loc = token_location(size);
    out.value.clear();
    return true;
}

bool Lexer::read_digits(GraphQLError& err, std::uint32_t& pos) {
    if (pos >= src_.size() || !is_digit(src_[pos])) {
        return fail(err, pos,
                    "Invalid number, expected digit but got: " + describe_char_at(pos) + ".");
    }
    while (pos < src_.size() && is_digit(src_[pos]))
        ++pos;
    return true;
}

bool Lexer::read_number(Token& out, GraphQLError& err, std::uint32_t start) {
    std::uint32_t pos = start;
    bool is_float = false;
    auto at = [&](std::uint32_t p) -> int { return p < src_.size() ? src_[p] : -1; };
    if (at(pos) == '-') ++pos;
    if (at(pos) == '0') {
        ++pos;
        if (is_digit(at(pos))) {
            return fail(err, pos,
                        "Invalid number, unexpected digit after 0: " + describe_char_at(pos) + ".");
        }
    } else if (!read_digits(err, pos)) {
        return false;
    }
    if (at(pos) == '.') {
        is_float = true;
        ++pos;
        if (!read_digits(err, pos)) return false;
    }
    if (at(pos) == 'e' || at(pos) == 'E') {
        is_float = true;
        ++pos;
        if (at(pos) == '+' || at(pos) == '-') ++pos;
        if (!read_digits(err, pos)) return false;
    }
    if (at(pos) == '.' || is_name_start(at(pos))) {
        return fail(err, pos,
                    "Invalid number, expected digit but got: " + describe_char_at(pos) + ".");
    }
    out.kind = is_float ? TokenKind::Float : TokenKind::Int;
    out.start = start;
    out.end = pos;
    out.loc = token_location(start);
    out.value.assign(src_.substr(start, pos - start));
    pos_ = pos;
    return true;
}

bool Lexer::read_escape(std::string& value, GraphQLError& err, std::uint32_t& pos) {
    const std::uint32_t size = static_cast<std::uint32_t>(src_.size());
    auto at = [&](std::uint32_t p) -> int {
        return p < size ? static_cast<unsigned char>(src_[p]) : -1;
    };
    auto slice = [&](std::uint32_t from, std::uint32_t len) {
        std::size_t end = std::min<std::size_t>(from + len, size);
        end = utf8::next_boundary(src_, end);
        return std::string(src_.substr(from, end - from));
    };
    const int e = at(pos + 1);
    if (e == 'u' && at(pos + 2) == '{') {
        std::int32_t point = 0;
        std::uint32_t len = 3;
        while (len < 12) {
            const int c = at(pos + len++);
            if (c == '}') {
                if (len < 5 || !is_scalar_value(point)) break;
                utf8::append(value, static_cast<char32_t>(point));
                pos += len;
                return true;
            }
            const int h = c < 0 ? -1 : hex_digit(c);
            if (h < 0) break;
            point = static_cast<std::int32_t>((static_cast<std::uint32_t>(point) << 4) |
                                              static_cast<std::uint32_t>(h));
            if (point < 0) break;
        }
        return fail(err, pos, "Invalid Unicode escape sequence: \"" + slice(pos, len) + "\".");
    }
    if (e == 'u') {
        auto read16 = [&](std::uint32_t p) -> std::int32_t {
            std::int32_t v = 0;
            for (int k = 0; k < 4; ++k) {
                const int c = at(p + k);
                const int h = c < 0 ? -1 : hex_digit(c);
                if (h < 0) return -1;
                v = (v << 4) | h;
            }
            return v;
        };
        const std::int32_t code = read16(pos + 2);
        if (is_scalar_value(code)) {
            utf8::append(value, static_cast<char32_t>(code));
            pos += 6;
            return true;
        }
        if (code >= 0xD800 && code <= 0xDBFF && at(pos + 6) == '\\' && at(pos + 7) == 'u') {
            const std::int32_t trail = read16(pos + 8);
            if (trail >= 0xDC00 && trail <= 0xDFFF) {
                utf8::append(value, 0x10000 + ((static_cast<char32_t>(code) - 0xD800) << 10) +
                                        (static_cast<char32_t>(trail) - 0xDC00));
                pos += 12;
                return true;
            }
        }
        return fail(err, pos, "Invalid Unicode escape sequence: \"" + slice(pos, 6) + "\".");
    }
    char decoded = 0;
    switch (e) {
    case '"':
        decoded = '"';
        break;
    case '\\':
        decoded = '\\';
        break;
    case '/':
        decoded = '/';
        break;
    case 'b':
        decoded = '\b';
        break;
    case 'f':
        decoded = '\f';
        break;
    case 'n':
        decoded = '\n';
        break;
    case 'r':
        decoded = '\r';
        break;
    case 't':
        decoded = '\t';
        break;
    default:
        return fail(err, pos, "Invalid character escape sequence: \"" + slice(pos, 2) + "\".");
    }
    value += decoded;
    pos += 2;
    return true;
}

bool Lexer::read_string(Token& out, GraphQLError& err, std::uint32_t start) {
    const std::uint32_t size = static_cast<std::uint32_t>(src_.size());
    std::uint32_t pos = start + 1;
    std::uint32_t chunk = pos;
    std::string value;
    while (pos < size) {
        const auto c = static_cast<unsigned char>(src_[pos]);
        if (c == '"') {
            value.append(src_.substr(chunk, pos - chunk));
            out.kind = TokenKind::String;
            out.start = start;
            out.end = pos + 1;
            out.loc = token_location(start);
            out.value = std::move(value);
            pos_ = pos + 1;
            return true;
        }
        if (c == '\\') {
            value.append(src_.substr(chunk, pos - chunk));
            if (!read_escape(value, err, pos)) return false;
            chunk = pos;
            continue;
        }
        if (c == '\n' || c == '\r') break;
        char32_t cp;
        const std::size_t len = utf8::decode(src_, pos, cp);
        if (len == 0) {
            return fail(err, pos,
                        "Invalid character within String: " + describe_char_at(pos) + ".");
        }
        pos += len;
    }
    return fail(err, pos, "Unterminated string.");
}

bool Lexer::read_block_string(Token& out, GraphQLError& err, std::uint32_t start) {
    const std::uint32_t size = static_cast<std::uint32_t>(src_.size());
    std::uint32_t pos = start + 3;
    std::uint32_t chunk = pos;
    std::uint32_t line_start = line_start_;
    std::string current;
    std::vector<std::string> lines;
    while (pos < size) {
        const auto c = static_cast<unsigned char>(src_[pos]);
        if (c == '"' && pos + 2 < size && src_[pos + 1] == '"' && src_[pos + 2] == '"') {
            current.append(src_.substr(chunk, pos - chunk));
            lines.push_back(std::move(current));
            out.kind = TokenKind::BlockString;
            out.start = start;
            out.end = pos + 3;
            out.loc = token_location(start);
            // Dedent (spec: BlockStringValue): common indentation of all lines but the
            // first, then leading and trailing blank lines removed.
            auto indent_of = [](const std::string& l) {
                std::size_t i = 0;
                while (i < l.size() && (l[i] == ' ' || l[i] == '\t'))
                    ++i;
                return i;
            };
            std::size_t common = SIZE_MAX;
            std::size_t first = SIZE_MAX, last = 0;
            bool any = false;
            for (std::size_t i = 0; i < lines.size(); ++i) {
                const std::size_t ind = indent_of(lines[i]);
                if (ind == lines[i].size()) continue;
                if (!any) first = i;
                any = true;
                last = i;
                if (i != 0 && ind < common) common = ind;
            }
            std::string value;
            if (any) {
                for (std::size_t i = first; i <= last; ++i) {
                    if (i != first) value += '\n';
                    const std::string& l = lines[i];
                    if (i == 0 || common == SIZE_MAX) {
                        value += l;
                    } else if (common < l.size()) {
                        value.append(l, common, std::string::npos);
                    }
                }
            }
            out.value = std::move(value);
            line_ += static_cast<std::uint32_t>(lines.size() - 1);
            line_start_ = line_start;
            pos_ = pos + 3;
            return true;
        }
        if (c == '\\' && pos + 3 < size && src_[pos + 1] == '"' && src_[pos + 2] == '"' &&
            src_[pos + 3] == '"') {
            current.append(src_.substr(chunk, pos - chunk));
            chunk = pos + 1;
            pos += 4;
            continue;
        }
        if (c == '\n' || c == '\r') {
            current.append(src_.substr(chunk, pos - chunk));
            lines.push_back(std::move(current));
            current.clear();
            pos += (c == '\r' && pos + 1 < size && src_[pos + 1] == '\n') ? 2 : 1;
            chunk = pos;
            line_start = pos;
            continue;
        }
        char32_t cp;
        const std::size_t len = utf8::decode(src_, pos, cp);
        if (len == 0) {
            return fail(err, pos,
                        "Invalid character within String: " + describe_char_at(pos) + ".");
        }
        pos += len;
    }
    return fail(err, pos, "Unterminated string.");
}

} // namespace walcast::graphql
