// Broadcast from Database (spec §7.4): a consumer of the change stream that turns every row
// inserted into realtime.messages — by realtime.send(), realtime.send_binary(),
// realtime.broadcast_changes() or a plain INSERT; any partition (relations realtime.messages*)
// — into a broadcast to the members of its topic on this node, in commit order: the row's
// `private` column picks the namespace (private members receive it only with broadcast.read),
// every member receives it (no sender). 2.0.0 members get a kind-4 user broadcast with
// metadata {"id": <row id>}, JSON encoding for `payload` (the jsonb as Postgres prints it),
// binary for `binary_payload`; 1.0.0 members the JSON envelope with "meta", binary rows not.
#pragma once

#include "broadcast/hub.hpp"
#include "broadcast/rate_counter.hpp"
#include "capture/change_fanout.hpp"
#include "capture/change_sink.hpp"
#include "common/metrics.hpp"
#include "protocol/phoenix/broadcast_feature.hpp"

namespace walcast::protocol::phoenix {

/// A ChangeFanout consumer; callbacks on the source's thread, where it publishes (the Hub's
/// deliveries never block). Rows without topic, event, id, private, inserted_at or a payload,
/// and payloads over the limit, are dropped and logged (the reference's
/// UnableToBroadcastChanges); while the tenant's events/s are over their limit rows are
/// dropped too (spec §7.4.3 step 6). hub, events and registry must outlive it.
class DatabaseBroadcasts final : public capture::ChangeSink {
public:
    DatabaseBroadcasts(broadcast::Hub& hub, broadcast::RateCounter& events, BroadcastLimits limits,
                       MetricsRegistry& registry);

    /// The fan-out handle to confirm with; set before the source starts.
    void set_confirm(capture::ConfirmHandle confirm) { confirm_ = confirm; }

    void on_change(const capture::ChangePtr& change) override;
    /// Everything of the transaction is published by now: confirmed at once.
    void on_commit(const capture::TransactionInfo& txn, capture::Position end) override;

    /// Whether a relation is a realtime.messages table or partition.
    static bool is_messages_relation(const capture::Relation& relation);

private:
    broadcast::Hub& hub_;
    broadcast::RateCounter& events_;
    const BroadcastLimits limits_;
    Counter& published_;
    Counter& dropped_;
    capture::ConfirmHandle confirm_;
};

} // namespace walcast::protocol::phoenix
