#include "graphql/catalog/naming.hpp"

#include <vector>

namespace walcast::graphql::catalog {

namespace {

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
char upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}
char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::vector<std::string_view> words(std::string_view name) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < name.size()) {
        while (i < name.size() && !is_alnum(name[i]))
            ++i;
        std::size_t start = i;
        while (i < name.size() && is_alnum(name[i]))
            ++i;
        if (i > start) out.push_back(name.substr(start, i - start));
    }
    return out;
}

std::string join(std::string_view name, bool first_upper) {
    std::string out;
    bool first = true;
    for (auto w : words(name)) {
        std::string word(w);
        word[0] = (first && !first_upper) ? lower(word[0]) : upper(word[0]);
        out += word;
        first = false;
    }
    if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(0, "_");
    return out;
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

} // namespace

std::string camel_case(std::string_view name) {
    return join(name, false);
}

std::string pascal_case(std::string_view name) {
    return join(name, true);
}

std::string singular(std::string_view name) {
    std::string s(name);
    std::string low;
    for (char c : s)
        low += lower(c);
    auto cut = [&](std::size_t n, std::string_view add) {
        return s.substr(0, s.size() - n) + std::string(add);
    };
    if (low.size() > 3 && ends_with(low, "ies")) return cut(3, ends_with(s, "IES") ? "Y" : "y");
    if (ends_with(low, "sses") || ends_with(low, "xes") || ends_with(low, "ches") ||
        ends_with(low, "shes") || ends_with(low, "zzes"))
        return cut(2, "");
    if (ends_with(low, "ss") || ends_with(low, "us") || ends_with(low, "is")) return s;
    if (low.size() > 1 && ends_with(low, "s")) return cut(1, "");
    return s;
}

bool is_graphql_name(std::string_view name) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

} // namespace walcast::graphql::catalog
