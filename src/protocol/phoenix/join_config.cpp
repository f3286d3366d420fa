#include "protocol/phoenix/join_config.hpp"

#include <boost/json/serialize.hpp>

#include <cmath>

namespace walcast::protocol::phoenix {

namespace {

/// RT's flexible boolean (RT:`lib/realtime_web/channels/payloads/flexible_boolean.ex`).
bool flexible_bool(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return false;
    if (v->is_bool()) return v->get_bool();
    if (v->is_string()) return v->get_string() == "true";
    return false;
}

const boost::json::object* object_at(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

std::optional<std::int64_t> integer(const boost::json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get_uint64());
    if (v.is_double() && std::isfinite(v.get_double()) && std::abs(v.get_double()) < 9.0e18)
        return static_cast<std::int64_t>(v.get_double());
    return std::nullopt;
}

} // namespace

JoinConfig parse_join_config(const boost::json::object& join_payload) {
    JoinConfig c;
    const auto* cfg = object_at(join_payload, "config");
    if (!cfg) return c;

    if (const auto* pc = cfg->if_contains("postgres_changes"); pc && pc->is_array())
        for (const auto& b : pc->get_array())
            if (b.is_object()) c.postgres_changes.bindings.push_back(b.get_object());
    if (const auto* opts = object_at(*cfg, "postgres_changes_options"))
        if (const auto* w = opts->if_contains("wait"); w && w->is_bool())
            c.postgres_changes.wait = w->get_bool();

    if (const auto* b = object_at(*cfg, "broadcast")) {
        c.broadcast.raw = *b;
        c.broadcast.ack = flexible_bool(*b, "ack");
        c.broadcast.self = flexible_bool(*b, "self");
        if (const auto* r = object_at(*b, "replay")) {
            const auto* since = r->if_contains("since");
            if (auto s = since ? integer(*since) : std::nullopt) {
                ReplayConfig replay{*s, std::nullopt};
                if (const auto* l = r->if_contains("limit")) replay.limit = integer(*l);
                c.broadcast.replay = replay;
            }
        }
    }

    if (const auto* p = object_at(*cfg, "presence")) {
        c.presence.enabled = flexible_bool(*p, "enabled");
        if (const auto* k = p->if_contains("key"); k && !k->is_null()) {
            std::string key =
                k->is_string() ? std::string(k->get_string()) : boost::json::serialize(*k);
            if (!key.empty()) c.presence.key = std::move(key);
        }
    }

    c.is_private = flexible_bool(*cfg, "private");
    c.replication_ready = flexible_bool(*cfg, "replication_ready");
    return c;
}

} // namespace walcast::protocol::phoenix
