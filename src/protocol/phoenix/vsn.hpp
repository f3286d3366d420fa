// The serializer version a socket negotiated with the `vsn` query parameter (spec §1.2).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace walcast::protocol::phoenix {

/// V1: JSON objects; V2: JSON arrays plus binary broadcast frames (spec §2.1, §2.2).
enum class Vsn { V1, V2 };

/// Maps a `vsn` query value to a serializer: missing/empty = 1.0.0; "~> 1.0.0" matches 1.0.x,
/// "~> 2.0.0" matches 2.0.x (Phoenix's Version.match?). nullopt = unsupported, which the server
/// answers with HTTP 403 and an empty body (spec §1.2).
std::optional<Vsn> parse_vsn(std::optional<std::string_view> value);

/// The broadcast::Hub format index of a serializer (a Member's format(); a Message encodes once
/// per index): 0 = 1.0.0, 1 = 2.0.0.
constexpr std::size_t format_of(Vsn v) {
    return v == Vsn::V1 ? 0 : 1;
}
/// The serializer of a broadcast::Hub format index (inverse of format_of).
constexpr Vsn vsn_of(std::size_t format) {
    return format == 0 ? Vsn::V1 : Vsn::V2;
}

} // namespace walcast::protocol::phoenix
