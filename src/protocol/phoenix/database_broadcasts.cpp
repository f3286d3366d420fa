#include "protocol/phoenix/database_broadcasts.hpp"

#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "protocol/phoenix/broadcast_frames.hpp"

#include <optional>
#include <variant>

namespace walcast::protocol::phoenix {

namespace {

/// bytea's text output (hex format, "\x0a1b…") as bytes; nullopt for anything else (the
/// escape format is not used: bytea_output is 'hex' by default and for replication).
std::optional<std::string> bytea_from_hex(std::string_view text) {
    if (!text.starts_with("\\x") || text.size() % 2 != 0) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve((text.size() - 2) / 2);
    for (std::size_t i = 2; i < text.size(); i += 2) {
        const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi << 4 | lo);
    }
    return out;
}

struct Row {
    std::string topic, event, id, payload;
    bool is_private = false;
    PayloadEncoding encoding = PayloadEncoding::Json;
};

/// The row's fields (spec §7.4.3 step 5), or the name of what is missing.
std::variant<Row, std::string> read_row(const capture::Relation& rel, const pg::Tuple& t) {
    auto text = [&](std::string_view column) -> std::optional<std::string_view> {
        const int i = rel.column_index(column);
        if (i < 0 || static_cast<std::size_t>(i) >= t.size() ||
            t.state(static_cast<std::size_t>(i)) != pg::ValueState::Text)
            return std::nullopt;
        return t.text(static_cast<std::size_t>(i));
    };
    Row row;
    for (const char* required : {"inserted_at", "event", "id", "topic", "private"})
        if (!text(required)) return std::string(required);
    row.topic = *text("topic");
    row.event = *text("event");
    row.id = *text("id");
    row.is_private = *text("private") == "t";
    if (auto bin = text("binary_payload")) {
        auto bytes = bytea_from_hex(*bin);
        if (!bytes) return std::string("binary_payload (not hex bytea output)");
        row.payload = std::move(*bytes);
        row.encoding = PayloadEncoding::Binary;
    } else if (auto json = text("payload")) {
        row.payload = std::string(*json);
    } else {
        return std::string("payload or binary_payload");
    }
    return row;
}

} // namespace

DatabaseBroadcasts::DatabaseBroadcasts(broadcast::Hub& hub, broadcast::RateCounter& events,
                                       BroadcastLimits limits, MetricsRegistry& r)
    : hub_(hub), events_(events), limits_(limits),
      published_(r.counter("walcast_database_broadcasts_total",
                           "rows of realtime.messages published to their topic")),
      dropped_(r.counter("walcast_database_broadcasts_dropped_total",
                         "rows of realtime.messages dropped: a required column missing, payload "
                         "too large, or the tenant's events/s over the limit")) {}

bool DatabaseBroadcasts::is_messages_relation(const capture::Relation& relation) {
    return relation.schema == "realtime" && relation.table.starts_with("messages");
}

void DatabaseBroadcasts::on_change(const capture::ChangePtr& change) {
    if (change->kind != capture::ChangeKind::Insert || !change->relation || !change->new_tuple ||
        !is_messages_relation(*change->relation))
        return;
    auto parsed = read_row(*change->relation, *change->new_tuple);
    if (auto* missing = std::get_if<std::string>(&parsed)) {
        dropped_.inc();
        log::warn("UnableToBroadcastChanges: a row of {}.{} has no {}; it is not broadcast",
                  change->relation->schema, change->relation->table, *missing);
        return;
    }
    const Row& row = std::get<Row>(parsed);
    if (row.payload.size() > limits_.max_payload_bytes) {
        dropped_.inc();
        log::warn("UnableToBroadcastChanges: message {} to {} is {} bytes, over "
                  "MAX_PAYLOAD_SIZE_KB; it is not broadcast",
                  row.id, row.topic, row.payload.size());
        return;
    }
    if (events_.over()) {
        dropped_.inc();
        log::debug("dropping database message {} to {}: {}", row.id, row.topic, events_.message());
        return;
    }
    events_.add(1);
    const std::string channel_topic = "realtime:" + row.topic;
    std::string meta = "{\"id\":";
    json::append_string(meta, row.id);
    meta += '}';
    // 2.0.0: kind 4 with the id in its metadata; 1.0.0: the envelope with "meta" (spec §7.6).
    broadcast::Message msg([&](std::size_t format) {
        return user_broadcast_frame(format, channel_topic, row.event, meta, row.encoding,
                                    row.payload);
    });
    msg.kind = kind_broadcast;
    msg.rate = &events_;
    msg.id = row.id;
    hub_.publish(BroadcastFeatureFactory::hub_topic(channel_topic, row.is_private), msg, nullptr);
    published_.inc();
}

void DatabaseBroadcasts::on_commit(const capture::TransactionInfo&, capture::Position end) {
    confirm_.confirm(end);
}

} // namespace walcast::protocol::phoenix
