#include "server/upgrade_dispatcher.hpp"

#include <algorithm>

namespace walcast::server {

void UpgradeDispatcher::add(std::vector<std::string> paths, std::vector<std::string> subprotocols,
                            protocol::UpgradeHandler handler) {
    routes_.push_back({std::move(paths), std::move(subprotocols), std::move(handler)});
}

UpgradeDispatcher::Match UpgradeDispatcher::match(std::string_view path,
                                                  const std::vector<std::string>& offered) const {
    for (const auto& r : routes_) {
        if (std::find(r.paths.begin(), r.paths.end(), path) == r.paths.end()) continue;
        if (r.subprotocols.empty()) return Match{&r.handler, {}};
        for (const auto& mine : r.subprotocols)
            if (std::find(offered.begin(), offered.end(), mine) != offered.end())
                return Match{&r.handler, mine};
    }
    return {};
}

bool UpgradeDispatcher::serves(std::string_view path) const {
    for (const auto& r : routes_)
        if (std::find(r.paths.begin(), r.paths.end(), path) != r.paths.end()) return true;
    return false;
}

std::vector<std::string> parse_subprotocols(std::string_view header) {
    std::vector<std::string> out;
    while (!header.empty()) {
        auto comma = header.find(',');
        std::string_view token = header.substr(0, comma);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
            token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
            token.remove_suffix(1);
        if (!token.empty()) out.emplace_back(token);
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    return out;
}

} // namespace walcast::server
