#include "graphql/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

namespace walcast::graphql {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<std::size_t> lexical_distance(std::string_view input, const std::string& input_lower,
                                            std::string_view option, std::size_t threshold) {
    if (input == option) return 0;
    const std::string option_lower = lower(option);
    if (input_lower == option_lower) return 1;
    std::string_view a = option_lower, b = input_lower;
    if (a.size() < b.size()) std::swap(a, b);
    const std::size_t a_len = a.size(), b_len = b.size();
    if (a_len - b_len > threshold) return std::nullopt;
    std::vector<std::size_t> rows[3];
    for (auto& r : rows)
        r.assign(b_len + 1, 0);
    for (std::size_t j = 0; j <= b_len; ++j)
        rows[0][j] = j;
    for (std::size_t i = 1; i <= a_len; ++i) {
        auto& up = rows[(i - 1) % 3];
        auto& cur = rows[i % 3];
        std::size_t smallest = cur[0] = i;
        for (std::size_t j = 1; j <= b_len; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            std::size_t cell = std::min({up[j] + 1, cur[j - 1] + 1, up[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                cell = std::min(cell, rows[(i - 2) % 3][j - 2] + 1);
            }
            smallest = std::min(smallest, cell);
            cur[j] = cell;
        }
        if (smallest > threshold) return std::nullopt;
    }
    const std::size_t d = rows[a_len % 3][b_len];
    if (d <= threshold) return d;
    return std::nullopt;
}

} // namespace

int natural_compare(std::string_view a, std::string_view b) {
    std::size_t i = 0, j = 0;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    while (i < a.size() && j < b.size()) {
        char ca = a[i], cb = b[j];
        if (digit(ca) && digit(cb)) {
            unsigned long long na = 0, nb = 0;
            do {
                ++i;
                na = na * 10 + (ca - '0');
                ca = i < a.size() ? a[i] : 0;
            } while (digit(ca) && na > 0);
            do {
                ++j;
                nb = nb * 10 + (cb - '0');
                cb = j < b.size() ? b[j] : 0;
            } while (digit(cb) && nb > 0);
            if (na < nb) return -1;
            if (na > nb) return 1;
        } else {
            if (ca < cb) return -1;
            if (ca > cb) return 1;
            ++i, ++j;
        }
    }
    return static_cast<int>(a.size()) - static_cast<int>(b.size());
}

std::vector<std::string> suggestion_list(std::string_view input,
                                         const std::vector<std::string>& options) {
    const std::string input_lower = lower(input);
    const std::size_t threshold = input.size() * 4 / 10 + 1;
    std::map<std::string, std::size_t> by_distance;
    for (const auto& option : options) {
        if (auto d = lexical_distance(input, input_lower, option, threshold)) {
            by_distance[option] = *d;
        }
    }
    std::vector<std::string> out;
    for (const auto& [name, d] : by_distance)
        out.push_back(name);
    std::stable_sort(out.begin(), out.end(), [&](const std::string& x, const std::string& y) {
        const auto dx = by_distance[x], dy = by_distance[y];
        if (dx != dy) return dx < dy;
        return natural_compare(x, y) < 0;
    });
    return out;
}

std::string did_you_mean(const std::vector<std::string>& suggestions,
                         std::string_view sub_message) {
    if (suggestions.empty()) return {};
    std::string message = " Did you mean ";
    if (!sub_message.empty()) message += std::string(sub_message) + " ";
    auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
    if (suggestions.size() == 1) return message + quoted(suggestions[0]) + "?";
    if (suggestions.size() == 2) {
        return message + quoted(suggestions[0]) + " or " + quoted(suggestions[1]) + "?";
    }
    const std::size_t n = std::min<std::size_t>(suggestions.size(), 5);
    for (std::size_t i = 0; i + 1 < n; ++i)
        message += quoted(suggestions[i]) + ", ";
    return message + "or " + quoted(suggestions[n - 1]) + "?";
}

} // namespace walcast::graphql
