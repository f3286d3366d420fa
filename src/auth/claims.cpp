#include "auth/claims.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <vector>

namespace walcast::auth {
namespace {

void append_canonical(std::string& out, const boost::json::value& v);

void append_object(std::string& out, const boost::json::object& o, std::string_view skip_key) {
    std::vector<const boost::json::key_value_pair*> members;
    members.reserve(o.size());
    for (const auto& kv : o)
        if (skip_key.empty() || kv.key() != skip_key) members.push_back(&kv);
    std::sort(members.begin(), members.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out += '{';
    bool first = true;
    for (const auto* kv : members) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string_view(kv->key()));
        out += ':';
        append_canonical(out, kv->value());
    }
    out += '}';
}

void append_canonical(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::object:
        append_object(out, v.get_object(), {});
        break;
    case boost::json::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& e : v.get_array()) {
            if (!first) out += ',';
            first = false;
            append_canonical(out, e);
        }
        out += ']';
        break;
    }
    default:
        out += boost::json::serialize(v);
        break;
    }
}

} // namespace

std::string canonical_json(const boost::json::value& v) {
    std::string out;
    append_canonical(out, v);
    return out;
}

Claims Claims::from_object(boost::json::object object, std::string role, std::int64_t exp) {
    Claims c;
    c.role = std::move(role);
    c.exp = exp;
    if (const auto* sub = object.if_contains("sub"); sub && sub->is_string())
        c.sub = std::string(sub->get_string());
    c.json = boost::json::serialize(object);
    append_object(c.identity_key, object, "exp");
    c.object = std::move(object);
    return c;
}

} // namespace walcast::auth
