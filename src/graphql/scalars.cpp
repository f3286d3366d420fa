#include "graphql/scalars.hpp"

#include "graphql/printer.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>

namespace walcast::graphql {

namespace json = boost::json;
using Coerced = Result<json::value, std::string>;

boost::json::value literal_to_json(const Value& v) {
    switch (v.kind) {
    case ValueKind::Int: {
        std::int64_t i = 0;
        auto r = std::from_chars(v.text.data(), v.text.data() + v.text.size(), i);
        if (r.ec == std::errc()) return i;
        return std::strtod(v.text.c_str(), nullptr);
    }
    case ValueKind::Float:
        return std::strtod(v.text.c_str(), nullptr);
    case ValueKind::String:
    case ValueKind::Enum:
        return json::value(v.text);
    case ValueKind::Boolean:
        return v.boolean;
    case ValueKind::Null:
    case ValueKind::Variable:
        return nullptr;
    case ValueKind::List: {
        json::array a;
        for (const auto& item : v.list)
            a.push_back(literal_to_json(item));
        return a;
    }
    case ValueKind::Object: {
        json::object o;
        for (const auto& f : v.fields)
            o[f.name.value] = literal_to_json(f.value);
        return o;
    }
    }
    return nullptr;
}

namespace {

bool integral_double(double d) {
    return std::isfinite(d) && std::floor(d) == d;
}

std::optional<double> as_number(const json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double()) return v.get_double();
    return std::nullopt;
}

Coerced int_value(const json::value& v) {
    auto n = as_number(v);
    if (!n || !integral_double(*n)) return "Int cannot represent non-integer value: " + inspect(v);
    if (*n > 2147483647.0 || *n < -2147483648.0) {
        return "Int cannot represent non 32-bit signed integer value: " + inspect(v);
    }
    return json::value(static_cast<std::int64_t>(*n));
}

ScalarCoercion int_coercion() {
    ScalarCoercion c;
    c.parse_value = int_value;
    c.parse_literal = [](const Value& v) -> Coerced {
        if (v.kind != ValueKind::Int) {
            return "Int cannot represent non-integer value: " + print_value(v);
        }
        std::int64_t i = 0;
        auto r = std::from_chars(v.text.data(), v.text.data() + v.text.size(), i);
        if (r.ec != std::errc() || i > 2147483647 || i < -2147483648LL) {
            return "Int cannot represent non 32-bit signed integer value: " + v.text;
        }
        return json::value(i);
    };
    c.serialize = [](const json::value& v) -> Coerced {
        if (v.is_bool()) return json::value(v.get_bool() ? 1 : 0);
        if (v.is_string()) {
            char* end = nullptr;
            const std::string s(v.get_string());
            const double d = std::strtod(s.c_str(), &end);
            if (!s.empty() && end && *end == 0) return int_value(json::value(d));
        }
        return int_value(v);
    };
    return c;
}

ScalarCoercion float_coercion() {
    ScalarCoercion c;
    c.parse_value = [](const json::value& v) -> Coerced {
        auto n = as_number(v);
        if (!n || !std::isfinite(*n)) {
            return "Float cannot represent non numeric value: " + inspect(v);
        }
        return json::value(*n);
    };
    c.parse_literal = [](const Value& v) -> Coerced {
        if (v.kind != ValueKind::Float && v.kind != ValueKind::Int) {
            return "Float cannot represent non numeric value: " + print_value(v);
        }
        const double d = std::strtod(v.text.c_str(), nullptr);
        if (!std::isfinite(d)) return "Float cannot represent non numeric value: " + v.text;
        return json::value(d);
    };
    c.serialize = [](const json::value& v) -> Coerced {
        if (v.is_bool()) return json::value(v.get_bool() ? 1.0 : 0.0);
        if (v.is_string()) {
            char* end = nullptr;
            const std::string s(v.get_string());
            const double d = std::strtod(s.c_str(), &end);
            if (!s.empty() && end && *end == 0 && std::isfinite(d)) return json::value(d);
        }
        auto n = as_number(v);
        if (!n || !std::isfinite(*n)) {
            return "Float cannot represent non numeric value: " + inspect(v);
        }
        return json::value(*n);
    };
    return c;
}

ScalarCoercion string_coercion() {
    ScalarCoercion c;
    c.parse_value = [](const json::value& v) -> Coerced {
        if (!v.is_string()) return "String cannot represent a non string value: " + inspect(v);
        return v;
    };
    c.parse_literal = [](const Value& v) -> Coerced {
        if (v.kind != ValueKind::String) {
            return "String cannot represent a non string value: " + print_value(v);
        }
        return json::value(v.text);
    };
    c.serialize = [](const json::value& v) -> Coerced {
        if (v.is_string()) return v;
        if (v.is_bool()) return json::value(v.get_bool() ? "true" : "false");
        if (v.is_int64() || v.is_uint64() || v.is_double()) {
            return json::value(inspect(v));
        }
        return "String cannot represent value: " + inspect(v);
    };
    return c;
}

ScalarCoercion boolean_coercion() {
    ScalarCoercion c;
    c.parse_value = [](const json::value& v) -> Coerced {
        if (!v.is_bool()) return "Boolean cannot represent a non boolean value: " + inspect(v);
        return v;
    };
    c.parse_literal = [](const Value& v) -> Coerced {
        if (v.kind != ValueKind::Boolean) {
            return "Boolean cannot represent a non boolean value: " + print_value(v);
        }
        return json::value(v.boolean);
    };
    c.serialize = [](const json::value& v) -> Coerced {
        if (v.is_bool()) return v;
        if (auto n = as_number(v); n && std::isfinite(*n)) return json::value(*n != 0);
        if (v.is_string() && (v.get_string() == "t" || v.get_string() == "true"))
            return json::value(true);
        if (v.is_string() && (v.get_string() == "f" || v.get_string() == "false"))
            return json::value(false);
        return "Boolean cannot represent a non boolean value: " + inspect(v);
    };
    return c;
}

ScalarCoercion id_coercion() {
    ScalarCoercion c;
    c.parse_value = [](const json::value& v) -> Coerced {
        if (v.is_string()) return v;
        if (auto n = as_number(v); n && integral_double(*n)) return json::value(inspect(v));
        return "ID cannot represent value: " + inspect(v);
    };
    c.parse_literal = [](const Value& v) -> Coerced {
        if (v.kind != ValueKind::String && v.kind != ValueKind::Int) {
            return "ID cannot represent a non-string and non-integer value: " + print_value(v);
        }
        return json::value(v.text);
    };
    c.serialize = [](const json::value& v) -> Coerced {
        if (v.is_string()) return v;
        if (auto n = as_number(v); n && integral_double(*n)) return json::value(inspect(v));
        return "ID cannot represent value: " + inspect(v);
    };
    return c;
}

// --- walcast's scalars -----------------------------------------------------------------------

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char ch : s) {
        if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
    }
    return true;
}

std::optional<std::string> canonical_bigint(std::string_view s) {
    std::string_view digits = s;
    bool neg = false;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
        neg = digits[0] == '-';
        digits.remove_prefix(1);
    }
    if (!all_digits(digits) || digits.size() > 19) return std::nullopt;
    // int8 range: -9223372036854775808 … 9223372036854775807
    std::int64_t v = 0;
    std::string text = (neg ? "-" : "") + std::string(digits);
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
    return std::to_string(v);
}

const std::regex& numeric_re() {
    static const std::regex re(
        R"(^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^(NaN|[+-]?Infinity)$)");
    return re;
}

ScalarCoercion string_form_scalar(std::string type_name, std::string what,
                                  std::function<std::optional<std::string>(std::string_view)> check,
                                  bool accept_numbers) {
    ScalarCoercion c;
    auto from_text = [type_name, what, check](std::string_view text,
                                              const std::string& shown) -> Coerced {
        if (auto canonical = check(text)) return json::value(*canonical);
        return type_name + " cannot represent " + shown + ": expected " + what + ".";
    };
    c.parse_value = [from_text, accept_numbers, type_name, what](const json::value& v) -> Coerced {
        if (v.is_string()) return from_text(v.get_string(), inspect(v));
        if (accept_numbers && (v.is_int64() || v.is_uint64()))
            return from_text(inspect(v), inspect(v));
        if (accept_numbers && v.is_double()) return from_text(inspect(v), inspect(v));
        return type_name + " cannot represent " + inspect(v) + ": expected " + what + ".";
    };
    c.parse_literal = [from_text, accept_numbers, type_name, what](const Value& v) -> Coerced {
        if (v.kind == ValueKind::String) return from_text(v.text, print_value(v));
        if (accept_numbers && (v.kind == ValueKind::Int || v.kind == ValueKind::Float)) {
            return from_text(v.text, v.text);
        }
        return type_name + " cannot represent " + print_value(v) + ": expected " + what + ".";
    };
    c.serialize = [](const json::value& v) -> Coerced {
        if (v.is_string()) return v;
        if (v.is_int64() || v.is_uint64() || v.is_double()) return json::value(inspect(v));
        return "cannot serialize " + inspect(v) + " as a string";
    };
    return c;
}

} // namespace

ScalarCoercion builtin_scalar_coercion(std::string_view name) {
    if (name == "Int") return int_coercion();
    if (name == "Float") return float_coercion();
    if (name == "String") return string_coercion();
    if (name == "Boolean") return boolean_coercion();
    if (name == "ID") return id_coercion();
    return {};
}

std::vector<NamedType> walcast_scalars() {
    std::vector<NamedType> out;
    auto add = [&](std::string name, std::string description, std::optional<std::string> url,
                   ScalarCoercion c) {
        NamedType t;
        t.kind = TypeKind::Scalar;
        t.name = std::move(name);
        t.description = std::move(description);
        t.specified_by_url = std::move(url);
        t.coercion = std::move(c);
        out.push_back(std::move(t));
    };
    add("BigInt",
        "A 64-bit integer (Postgres int8), serialized as a string so JavaScript loses no "
        "precision; accepts an integer or a string of digits.",
        std::nullopt,
        string_form_scalar("BigInt", "an integer between -2^63 and 2^63 - 1", canonical_bigint,
                           true));
    add("BigFloat",
        "An arbitrary-precision decimal (Postgres numeric), serialized as a string; accepts a "
        "number or a numeric string.",
        std::nullopt,
        string_form_scalar(
            "BigFloat", "a decimal number",
            [](std::string_view s) -> std::optional<std::string> {
                if (std::regex_match(s.begin(), s.end(), numeric_re())) {
                    return std::string(s);
                }
                return std::nullopt;
            },
            true));
    add("UUID", "A UUID (Postgres uuid) in its canonical hyphenated form.",
        "https://www.rfc-editor.org/rfc/rfc4122",
        string_form_scalar(
            "UUID", "a UUID such as \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"",
            [](std::string_view s) -> std::optional<std::string> {
                static const std::regex re(
                    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                    "[0-9a-fA-F]{12}$");
                if (!std::regex_match(s.begin(), s.end(), re)) return std::nullopt;
                std::string lower(s);
                for (auto& ch : lower) {
                    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                }
                return lower;
            },
            false));
    add("DateTime",
        "A date and time (Postgres timestamp or timestamptz) in ISO 8601 / RFC 3339 form, e.g. "
        "\"2026-11-21T09:21:44.403Z\".",
        "https://www.rfc-editor.org/rfc/rfc3339",
        string_form_scalar(
            "DateTime", "an ISO 8601 date and time such as \"2026-11-21T09:21:44Z\"",
            [](std::string_view s) -> std::optional<std::string> {
                static const std::regex re(
                    R"(^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$)");
                if (!std::regex_match(s.begin(), s.end(), re)) return std::nullopt;
                return std::string(s);
            },
            false));
    add("Date", "A calendar date (Postgres date) as \"YYYY-MM-DD\".",
        "https://www.rfc-editor.org/rfc/rfc3339",
        string_form_scalar(
            "Date", "a date such as \"2026-11-21\"",
            [](std::string_view s) -> std::optional<std::string> {
                static const std::regex re(R"(^\d{4}-\d{2}-\d{2}$)");
                if (!std::regex_match(s.begin(), s.end(), re)) return std::nullopt;
                return std::string(s);
            },
            false));
    add("Time", "A time of day (Postgres time or timetz) as \"HH:MM[:SS[.ffffff]][offset]\".",
        std::nullopt,
        string_form_scalar(
            "Time", "a time such as \"09:21:44\"",
            [](std::string_view s) -> std::optional<std::string> {
                static const std::regex re(
                    R"(^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$)");
                if (!std::regex_match(s.begin(), s.end(), re)) return std::nullopt;
                return std::string(s);
            },
            false));
    ScalarCoercion any_json;
    any_json.parse_value = [](const json::value& v) -> Coerced { return v; };
    any_json.parse_literal = [](const Value& v) -> Coerced { return literal_to_json(v); };
    any_json.serialize = [](const json::value& v) -> Coerced { return v; };
    add("JSON", "Any JSON value (Postgres json or jsonb).",
        "https://www.rfc-editor.org/rfc/rfc8259", std::move(any_json));
    return out;
}

} // namespace walcast::graphql
