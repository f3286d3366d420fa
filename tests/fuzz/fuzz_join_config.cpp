// Fuzz target: the phx_join `config` parser (protocol::phoenix::parse_join_config, spec §3.1,
// §3.2, §7.1.1, §7.2.1, §7.3.1, §7.6.1) on arbitrary join payloads. Input: JSON text; what is
// not a JSON object is skipped (the session refuses it before the parser). Properties beyond
// "no crash":
//  - postgres_changes.bindings are exactly the object elements of config.postgres_changes, in
//    the client's order and unchanged (they are echoed in the join reply);
//  - `wait` is config.postgres_changes_options.wait when that is a boolean, else false;
//  - broadcast.raw is config.broadcast as sent when it is an object, else empty;
//  - ack, self, private, replication_ready and presence.enabled are RT's flexible booleans:
//    true exactly for `true` and the string "true";
//  - a replay is kept exactly when config.broadcast.replay.since is an integer (or a finite
//    double within ±9e18, truncated) and then holds that value; its limit likewise or nullopt;
//  - presence.key is nullopt for absent, null and "", the string for a string, and the
//    serialized JSON for any other value;
//  - parsing the same payload twice gives the same config (no hidden state).
// The rules are written out here from the spec, independently of join_config.cpp.
#include "fuzz_support.hpp"
#include "protocol/phoenix/join_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using walcast::fuzz::check;
using namespace walcast::protocol::phoenix;

const boost::json::value* member(const boost::json::object* o, std::string_view key) {
    return o ? o->if_contains(key) : nullptr;
}

const boost::json::object* object_member(const boost::json::object* o, std::string_view key) {
    const auto* v = member(o, key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

bool flexible(const boost::json::object* o, std::string_view key) {
    const auto* v = member(o, key);
    return v && ((v->is_bool() && v->get_bool()) || (v->is_string() && v->get_string() == "true"));
}

std::optional<std::int64_t> expected_integer(const boost::json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) {
        if (v->get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
        return static_cast<std::int64_t>(v->get_uint64());
    }
    if (v->is_double()) {
        const double d = v->get_double();
        if (!std::isfinite(d) || std::fabs(d) >= 9.0e18) return std::nullopt;
        return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
}

bool has_non_finite_number(const boost::json::value& v) {
    if (v.is_double()) return !std::isfinite(v.get_double());
    if (v.is_array()) {
        for (const auto& e : v.get_array())
            if (has_non_finite_number(e)) return true;
    } else if (v.is_object()) {
        for (const auto& kv : v.get_object())
            if (has_non_finite_number(kv.value())) return true;
    }
    return false;
}

bool same(const JoinConfig& a, const JoinConfig& b) {
    const auto replay = [](const JoinConfig& c) {
        return c.broadcast.replay ? std::optional(std::pair(c.broadcast.replay->since_ms,
                                                            c.broadcast.replay->limit))
                                  : std::nullopt;
    };
    return a.postgres_changes.bindings == b.postgres_changes.bindings &&
           a.postgres_changes.wait == b.postgres_changes.wait &&
           a.broadcast.ack == b.broadcast.ack && a.broadcast.self == b.broadcast.self &&
           a.broadcast.raw == b.broadcast.raw && replay(a) == replay(b) &&
           a.presence.key == b.presence.key && a.presence.enabled == b.presence.enabled &&
           a.is_private == b.is_private && a.replication_ready == b.replication_ready;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(text, ec);
    if (ec || !doc.is_object() || has_non_finite_number(doc)) return 0;
    const boost::json::object& payload = doc.get_object();
    const JoinConfig c = parse_join_config(payload);
    const boost::json::object* cfg = object_member(&payload, "config");

    // Postgres Changes.
    std::size_t next = 0;
    if (const auto* pc = member(cfg, "postgres_changes"); pc && pc->is_array()) {
        for (const auto& b : pc->get_array()) {
            if (!b.is_object()) continue;
            check(next < c.postgres_changes.bindings.size(), "a binding object was dropped");
            check(c.postgres_changes.bindings[next] == b.get_object(),
                  "a binding differs from the one sent, or is out of order");
            ++next;
        }
    }
    check(next == c.postgres_changes.bindings.size(), "a binding that was not sent");
    const auto* wait = member(object_member(cfg, "postgres_changes_options"), "wait");
    check(c.postgres_changes.wait == (wait && wait->is_bool() && wait->get_bool()),
          "postgres_changes_options.wait misread");

    // Broadcast.
    const boost::json::object* broadcast = object_member(cfg, "broadcast");
    check(broadcast ? c.broadcast.raw == *broadcast : c.broadcast.raw.empty(),
          "broadcast.raw is not config.broadcast as sent");
    check(c.broadcast.ack == flexible(broadcast, "ack"), "broadcast.ack is not a flexible boolean");
    check(c.broadcast.self == flexible(broadcast, "self"),
          "broadcast.self is not a flexible boolean");
    const boost::json::object* replay = object_member(broadcast, "replay");
    const auto since = expected_integer(member(replay, "since"));
    check(c.broadcast.replay.has_value() == since.has_value(),
          "a replay kept without an integer since, or dropped with one");
    if (since) {
        check(c.broadcast.replay->since_ms == *since, "replay.since misread");
        check(c.broadcast.replay->limit == expected_integer(member(replay, "limit")),
              "replay.limit misread");
    }

    // Presence.
    const boost::json::object* presence = object_member(cfg, "presence");
    check(c.presence.enabled == flexible(presence, "enabled"),
          "presence.enabled is not a flexible boolean");
    std::optional<std::string> key;
    if (const auto* k = member(presence, "key"); k && !k->is_null()) {
        std::string s = k->is_string() ? std::string(k->get_string()) : boost::json::serialize(*k);
        if (!s.empty()) key = std::move(s);
    }
    check(c.presence.key == key, "presence.key misread");

    // Channel flags.
    check(c.is_private == flexible(cfg, "private"), "private is not a flexible boolean");
    check(c.replication_ready == flexible(cfg, "replication_ready"),
          "replication_ready is not a flexible boolean");

    check(same(c, parse_join_config(payload)), "the same payload parsed to another config");
    return 0;
}
