#include "core/authorization/log_redaction.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace walcast::core {

namespace {

void collect(const boost::json::value& v, std::vector<std::string>& out) {
    if (v.is_string()) {
        out.emplace_back(v.get_string());
    } else if (v.is_object()) {
        for (const auto& kv : v.get_object())
            collect(kv.value(), out);
    } else if (v.is_array()) {
        for (const auto& e : v.get_array())
            collect(e, out);
    }
}

} // namespace

std::string claim_placeholder(std::string_view value) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : value)
        h = (h ^ c) * 16777619u;
    char buf[24];
    std::snprintf(buf, sizeof buf, "<claim #%08x>", h);
    return buf;
}

std::string redact_claims(std::string_view text, const Identity& identity) {
    std::string out(text);
    boost::system::error_code ec;
    auto claims = boost::json::parse(identity.claims_json, ec);
    if (ec) return out;
    std::vector<std::string> values;
    collect(claims, values);
    // Longest first, so that a value containing another is replaced whole.
    std::sort(values.begin(), values.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& v : values) {
        if (v.size() < 3 || v == identity.role) continue;
        const std::string p = claim_placeholder(v);
        for (auto at = out.find(v); at != std::string::npos; at = out.find(v, at + p.size()))
            out.replace(at, v.size(), p);
    }
    return out;
}

} // namespace walcast::core
