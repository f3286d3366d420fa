// The typed request and outcome of subscribing a channel to changes: what a protocol hands the
// subscription service (bindings already parsed, ids chosen, the payload format its sink
// wants) and what comes back — a live Subscription or a typed error the protocol words.
#pragma once

#include "core/filter/filter.hpp"
#include "core/identity.hpp"
#include "core/subscription/binding_spec.hpp"
#include "core/subscription/channel_sink.hpp"
#include "core/subscription/payload.hpp"
#include "core/subscription/subscription.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace walcast::core {

/// One binding of a request: its id (echoed to the client, listed in each delivery) and spec.
struct BindingRequest {
    std::int64_t id = 0;
    BindingSpec spec;
};

/// A channel's request to receive changes.
struct SubscribeRequest {
    /// Whose request (a socket; 0 = none): requests of one source are validated one at a
    /// time in order, sources in turn (SubscriptionService).
    std::uintptr_t source = 0;
    std::string topic;                     ///< the channel (for logs and the subscription)
    std::vector<BindingRequest> bindings;  ///< in the client's order; at least one
    IdentityPtr identity;                  ///< the channel token's role and claims
    std::weak_ptr<ChannelSink> sink;       ///< where matching changes go
    const PayloadFormat* format = nullptr; ///< how the sink wants payloads (static lifetime)
};

/// Why a request failed. All bindings of a channel succeed or fail together.
struct SubscribeError {
    enum class Kind : unsigned char {
        Unreachable, ///< the database could not be reached (message)
        QueryFailed, ///< a catalog question failed (message)
        UnknownRole, ///< the identity's role does not exist (role)
        /// walcast's database user may not SET ROLE to the identity's role (role, user), so
        /// row-level security cannot be checked as it; `fix` is the GRANT that allows it
        CannotAssumeRole,
        /// the identity's role is a superuser or has BYPASSRLS (attribute: "SUPERUSER" or
        /// "BYPASSRLS") and is not in JWT_ALLOWED_ROLES: it would see every row (role)
        PrivilegedRole,
        NoTable,       ///< no table of the publication matches bindings[binding]
        InvalidFilter, ///< bindings[binding]'s filter does not compile (filter)
        InvalidSelect, ///< bindings[binding] selects a column it may not (column)
        /// the join would pass a binding limit (setting: MAX_BINDINGS_PER_CHANNEL or
        /// MAX_BINDINGS_PER_CLIENT; limit; requested: this join's bindings; in_use: the
        /// source's bindings on its other channels)
        TooManyBindings,
    };
    Kind kind = Kind::QueryFailed;
    std::size_t binding = 0;   ///< which binding (NoTable, InvalidFilter, InvalidSelect)
    std::string message;       ///< Unreachable, QueryFailed: what failed, with the server's words
    std::string role;          ///< UnknownRole, CannotAssumeRole, PrivilegedRole
    std::string attribute;     ///< PrivilegedRole: "SUPERUSER" or "BYPASSRLS"
    std::string user;          ///< CannotAssumeRole: walcast's database user (session_user)
    std::string fix;           ///< CannotAssumeRole: the SQL that fixes it
    std::string column;        ///< InvalidSelect
    FilterError filter;        ///< InvalidFilter
    std::string setting;       ///< TooManyBindings
    std::size_t limit = 0;     ///< TooManyBindings
    std::size_t requested = 0; ///< TooManyBindings
    std::size_t in_use = 0;    ///< TooManyBindings
};

/// A table of a successful request that the identity's role may not read at all: none of its
/// changes will reach the channel (a protocol tells the subscriber).
struct UnreadableTable {
    std::string schema;
    std::string table;
    bool schema_usage = true; ///< false: the role lacks USAGE on the schema as well
    std::string fix;          ///< the GRANT statement(s) that let the role read it, with ';'
};

/// What became of a SubscribeRequest.
struct SubscribeOutcome {
    /// The live subscription; null on error. Every change committed after subscribe()
    /// reported it is matched against it.
    SubscriptionPtr subscription;
    std::optional<SubscribeError> error;
    /// On success: the tables the bindings name that the role may not read (each once).
    std::vector<UnreadableTable> unreadable;
};

} // namespace walcast::core
