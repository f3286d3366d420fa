#include "graphql/printer.hpp"

#include "common/utf8.hpp"
#include "graphql/lexer.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace walcast::graphql {

std::string print_string(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp;
        std::size_t len = utf8::decode(s, i, cp);
        if (len == 0) len = 1, cp = static_cast<unsigned char>(s[i]);
        switch (cp) {
        case '\b':
            out += "\\b";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\r':
            out += "\\r";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        default:
            if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(cp));
                out += buf;
            } else {
                out.append(s.substr(i, len));
            }
        }
        i += len;
    }
    out += '"';
    return out;
}

std::string print_block_string(std::string_view value) {
    std::string escaped;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value.compare(i, 3, "\"\"\"") == 0) {
            escaped += "\\\"\"\"";
            i += 2;
        } else {
            escaped += value[i];
        }
    }
    std::vector<std::string_view> lines;
    {
        std::string_view rest = escaped;
        std::size_t start = 0;
        for (std::size_t i = 0; i < rest.size(); ++i) {
            if (rest[i] == '\n' || rest[i] == '\r') {
                lines.push_back(rest.substr(start, i - start));
                if (rest[i] == '\r' && i + 1 < rest.size() && rest[i + 1] == '\n') ++i;
                start = i + 1;
            }
        }
        lines.push_back(rest.substr(start));
    }
    const bool single_line = lines.size() == 1;
    bool force_leading = lines.size() > 1;
    for (std::size_t i = 1; i < lines.size() && force_leading; ++i) {
        force_leading = lines[i].empty() || lines[i][0] == ' ' || lines[i][0] == '\t';
    }
    const bool trailing_triple =
        escaped.size() >= 4 && escaped.compare(escaped.size() - 4, 4, "\\\"\"\"") == 0;
    const bool trailing_quote = !value.empty() && value.back() == '"' && !trailing_triple;
    const bool trailing_slash = !value.empty() && value.back() == '\\';
    const bool force_trailing = trailing_quote || trailing_slash;
    // value.length in UTF-16 units
    std::size_t units = 0;
    for (std::size_t i = 0; i < value.size();) {
        char32_t cp;
        std::size_t len = utf8::decode(value, i, cp);
        if (len == 0) len = 1, cp = 0;
        units += cp >= 0x10000 ? 2 : 1;
        i += len;
    }
    const bool multiple =
        !single_line || units > 70 || force_trailing || force_leading || trailing_triple;
    std::string out = "\"\"\"";
    const bool skip_leading =
        single_line && !value.empty() && (value[0] == ' ' || value[0] == '\t');
    if ((multiple && !skip_leading) || force_leading) out += '\n';
    out += escaped;
    if (multiple || force_trailing) out += '\n';
    out += "\"\"\"";
    return out;
}

namespace {

void print_value_to(std::string& out, const Value& v, bool sorted) {
    switch (v.kind) {
    case ValueKind::Variable:
        out += '$' + v.text;
        break;
    case ValueKind::Int:
    case ValueKind::Float:
    case ValueKind::Enum:
        out += v.text;
        break;
    case ValueKind::String:
        out += v.block ? print_block_string(v.text) : print_string(v.text);
        break;
    case ValueKind::Boolean:
        out += v.boolean ? "true" : "false";
        break;
    case ValueKind::Null:
        out += "null";
        break;
    case ValueKind::List:
        out += '[';
        for (std::size_t i = 0; i < v.list.size(); ++i) {
            if (i) out += ", ";
            print_value_to(out, v.list[i], sorted);
        }
        out += ']';
        break;
    case ValueKind::Object: {
        std::vector<const ObjectField*> fields;
        for (const auto& f : v.fields)
            fields.push_back(&f);
        if (sorted) {
            std::stable_sort(fields.begin(), fields.end(),
                             [](auto* a, auto* b) { return a->name.value < b->name.value; });
        }
        out += '{';
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i) out += ", ";
            out += fields[i]->name.value + ": ";
            print_value_to(out, fields[i]->value, sorted);
        }
        out += '}';
        break;
    }
    }
}

void inspect_to(std::string& out, const boost::json::value& v, int depth) {
    switch (v.kind()) {
    case boost::json::kind::null:
        out += "null";
        break;
    case boost::json::kind::bool_:
        out += v.get_bool() ? "true" : "false";
        break;
    case boost::json::kind::int64:
        out += std::to_string(v.get_int64());
        break;
    case boost::json::kind::uint64:
        out += std::to_string(v.get_uint64());
        break;
    case boost::json::kind::double_:
        out += js_number(v.get_double());
        break;
    case boost::json::kind::string:
        out += boost::json::serialize(v);
        break;
    case boost::json::kind::array: {
        const auto& a = v.get_array();
        if (a.empty()) {
            out += "[]";
            break;
        }
        if (depth >= 2) {
            out += "[Array]";
            break;
        }
        out += '[';
        const std::size_t n = std::min<std::size_t>(a.size(), 10);
        for (std::size_t i = 0; i < n; ++i) {
            if (i) out += ", ";
            inspect_to(out, a[i], depth + 1);
        }
        if (a.size() > 10) out += ", ... " + std::to_string(a.size() - 10) + " more items";
        out += ']';
        break;
    }
    case boost::json::kind::object: {
        const auto& o = v.get_object();
        if (o.empty()) {
            out += "{}";
            break;
        }
        if (depth >= 2) {
            out += "[Object]";
            break;
        }
        out += "{ ";
        bool first = true;
        for (const auto& kv : o) {
            if (!first) out += ", ";
            first = false;
            out += std::string(kv.key()) + ": ";
            inspect_to(out, kv.value(), depth + 1);
        }
        out += " }";
        break;
    }
    }
}

} // namespace

std::string print_value(const Value& v) {
    std::string out;
    print_value_to(out, v, false);
    return out;
}

std::string print_value_sorted(const Value& v) {
    std::string out;
    print_value_to(out, v, true);
    return out;
}

std::string print_type(const TypeRef& t) {
    switch (t.kind) {
    case TypeRef::Kind::Named:
        return t.name.value;
    case TypeRef::Kind::List:
        return "[" + print_type(t.of.front()) + "]";
    case TypeRef::Kind::NonNull:
        return print_type(t.of.front()) + "!";
    }
    return {};
}

std::string js_number(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    if (d == 0) return "0";
    // Shortest round-trip digits, then JavaScript's Number::toString layout.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    // sci: [-]d[.ddd]e[+-]xx
    bool neg = sci[0] == '-';
    if (neg) sci.erase(0, 1);
    const auto epos = sci.find('e');
    std::string digits = sci.substr(0, epos);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exp = std::stoi(sci.substr(epos + 1));
    const int k = static_cast<int>(digits.size());
    const int n = exp + 1;
    std::string out;
    if (k <= n && n <= 21) {
        out = digits + std::string(n - k, '0');
    } else if (0 < n && n <= 21) {
        out = digits.substr(0, n) + "." + digits.substr(n);
    } else if (-6 < n && n <= 0) {
        out = "0." + std::string(-n, '0') + digits;
    } else {
        const int e = n - 1;
        out = digits.substr(0, 1);
        if (k > 1) out += "." + digits.substr(1);
        out += e >= 0 ? "e+" + std::to_string(e) : "e-" + std::to_string(-e);
    }
    return neg ? "-" + out : out;
}

std::string inspect(const boost::json::value& v) {
    std::string out;
    inspect_to(out, v, 0);
    return out;
}

} // namespace walcast::graphql
