// JoinConfig: the `config` object of a phx_join, parsed once into one typed part per channel
// feature (Postgres Changes, Broadcast, Presence, private channels). Features read their part;
// nothing downstream re-parses the join payload.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace walcast::protocol::phoenix {

/// `config.postgres_changes` and `config.postgres_changes_options` (protocol spec §3.1, §3.2).
struct PostgresChangesConfig {
    /// The binding objects in the client's order, unchanged (they are echoed in the reply).
    /// Non-object elements are skipped.
    std::vector<boost::json::object> bindings;
    /// `postgres_changes_options.wait`: a binding error fails the join instead of being
    /// reported as a `system` push after it.
    bool wait = false;
};

/// `config.broadcast.replay` (spec §7.6.1): messages sent from the database since `since_ms`.
struct ReplayConfig {
    std::int64_t since_ms = 0;         ///< Unix epoch milliseconds
    std::optional<std::int64_t> limit; ///< as sent; the feature clamps it
};

/// `config.broadcast` (spec §7.1.1). Missing keys take RT's defaults (false).
struct BroadcastConfig {
    bool ack = false;  ///< reply to each broadcast push
    bool self = false; ///< the sending channel receives its own broadcasts
    std::optional<ReplayConfig> replay;
    /// The whole `config.broadcast` object as sent, for features that extend it with keys of
    /// their own (live queries read `config.broadcast.live_query`). Empty when absent.
    boost::json::object raw;
};

/// `config.presence` (spec §7.2.1).
struct PresenceConfig {
    /// The presence key as text; nullopt when the client sent none, null or "" (the feature
    /// then makes a fresh key per join). Non-string JSON values are serialized, as RT groups
    /// them by their string form.
    std::optional<std::string> key;
    bool enabled = false; ///< `presence.enabled` as sent
};

/// The typed `config` of one phx_join.
struct JoinConfig {
    PostgresChangesConfig postgres_changes;
    BroadcastConfig broadcast;
    PresenceConfig presence;
    bool is_private = false;        ///< `config.private` (spec §7.3.1)
    bool replication_ready = false; ///< `config.replication_ready` (protocol spec §3.3)
};

/// Parses a phx_join payload's `config` (the whole payload object is passed; a missing or
/// non-object `config` gives the defaults). Like RT, wrong types are not an error: `ack`,
/// `self`, `private` and `replication_ready` are "flexible booleans" (true/false or the
/// strings "true"/"false"), anything else counts as false; a `replay` without a numeric
/// `since` is dropped. Pure function, any thread.
JoinConfig parse_join_config(const boost::json::object& join_payload);

} // namespace walcast::protocol::phoenix
