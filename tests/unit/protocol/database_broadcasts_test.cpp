#include "protocol/phoenix/database_broadcasts.hpp"

#include "protocol/phoenix/encoder.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace walcast::protocol::phoenix {
namespace {

/// A Hub member of one format recording the frames it is handed.
class Recorder final : public broadcast::Member {
public:
    explicit Recorder(std::size_t format) : format_(format) {}
    std::size_t format() const override { return format_; }
    bool deliver(const broadcast::Frame& f, const broadcast::Message&, DeliveryRound&) override {
        frames.push_back(f);
        return true;
    }
    std::vector<broadcast::Frame> frames;

private:
    std::size_t format_;
};

/// realtime.messages as db init creates it, published under a partition's name.
capture::RelationPtr messages_partition(std::string table = "messages_2026_12_02") {
    auto rel = std::make_shared<capture::Relation>();
    rel->schema = "realtime";
    rel->table = std::move(table);
    for (const char* name : {"topic", "extension", "payload", "event", "private", "updated_at",
                             "inserted_at", "id", "binary_payload"})
        rel->columns.push_back(capture::Column{name, {}, -1, false, false, ""});
    return rel;
}

struct Values {
    std::optional<std::string> topic = "room1", payload = R"({"id": "m1", "x": 1})",
                               event = "db_evt", is_private = "f", id = "m1", binary;
};

capture::ChangePtr insert(const capture::RelationPtr& rel, const Values& v,
                          capture::ChangeKind kind = capture::ChangeKind::Insert) {
    auto c = std::make_shared<capture::Change>();
    c->kind = kind;
    c->relation = rel;
    pg::Tuple t;
    auto put = [&](const std::optional<std::string>& s) {
        if (s)
            t.push_value(*s);
        else
            t.push_null();
    };
    put(v.topic);
    put(std::string("broadcast"));
    put(v.payload);
    put(v.event);
    put(v.is_private);
    put(std::string("2026-12-02 00:00:00"));
    put(std::string("2026-12-02 00:00:00"));
    put(v.id);
    put(v.binary);
    c->new_tuple = std::move(t);
    return c;
}

struct Fixture {
    MetricsRegistry registry;
    broadcast::Hub hub;
    broadcast::RateCounter events{0, "Too many messages per second"};
    DatabaseBroadcasts db{hub, events, BroadcastLimits{100}, registry};
    std::shared_ptr<Recorder> v1 = std::make_shared<Recorder>(0);
    std::shared_ptr<Recorder> v2 = std::make_shared<Recorder>(1);
    std::shared_ptr<Recorder> private_v2 = std::make_shared<Recorder>(1);
    Fixture() {
        hub.join("public:room1", v1);
        hub.join("public:room1", v2);
        hub.join("private:room1", private_v2);
    }
};

} // namespace

TEST(DatabaseBroadcastsTest, AnInsertReachesBothSerializersWithTheRowIdAsMeta) {
    Fixture f;
    f.db.on_change(insert(messages_partition(), {}));
    ASSERT_EQ(f.v1->frames.size(), 1u);
    EXPECT_FALSE(f.v1->frames[0].binary);
    // A V1 broadcast whose payload is the envelope, meta included (the encoder's own tests
    // pin the V1 message layout).
    EXPECT_EQ(*f.v1->frames[0].bytes,
              encode_broadcast(Vsn::V1, "realtime:room1", "broadcast",
                               R"({"event":"db_evt","meta":{"id":"m1"},)"
                               R"("payload":{"id": "m1", "x": 1},"type":"broadcast"})"));
    ASSERT_EQ(f.v2->frames.size(), 1u);
    ASSERT_TRUE(f.v2->frames[0].binary);
    // Kind 4: topic, event, metadata lengths, JSON encoding, then the bytes.
    const std::string& b = *f.v2->frames[0].bytes;
    const std::string topic = "realtime:room1", meta = R"({"id":"m1"})";
    ASSERT_GE(b.size(), 5u);
    EXPECT_EQ(b[0], 4);
    EXPECT_EQ(static_cast<unsigned char>(b[1]), topic.size());
    EXPECT_EQ(static_cast<unsigned char>(b[2]), 6u);
    EXPECT_EQ(static_cast<unsigned char>(b[3]), meta.size());
    EXPECT_EQ(b[4], 1);
    EXPECT_EQ(b.substr(5), topic + "db_evt" + meta + R"({"id": "m1", "x": 1})");
    // The private namespace is another topic.
    EXPECT_TRUE(f.private_v2->frames.empty());
}

TEST(DatabaseBroadcastsTest, ThePrivateColumnChoosesThePrivateNamespace) {
    Fixture f;
    Values v;
    v.is_private = "t";
    f.db.on_change(insert(messages_partition(), v));
    EXPECT_EQ(f.private_v2->frames.size(), 1u);
    EXPECT_TRUE(f.v1->frames.empty());
    EXPECT_TRUE(f.v2->frames.empty());
}

TEST(DatabaseBroadcastsTest, BinaryPayloadsAreDecodedFromHexAndNotSentTo1_0_0) {
    Fixture f;
    Values v;
    v.payload.reset();
    v.binary = "\\x0102ff";
    f.db.on_change(insert(messages_partition(), v));
    EXPECT_TRUE(f.v1->frames.empty());
    ASSERT_EQ(f.v2->frames.size(), 1u);
    const std::string& b = *f.v2->frames[0].bytes;
    EXPECT_EQ(b[4], 0); // binary encoding
    EXPECT_EQ(b.substr(b.size() - 3), std::string("\x01\x02\xff", 3));
}

TEST(DatabaseBroadcastsTest, RowsMissingARequiredColumnOrTooLargeAreDropped) {
    Fixture f;
    Values no_event;
    no_event.event.reset();
    Values no_payload;
    no_payload.payload.reset();
    Values bad_hex;
    bad_hex.payload.reset();
    bad_hex.binary = "\\x0g";
    Values too_large;
    too_large.payload = "{\"x\":\"" + std::string(200, 'a') + "\"}";
    for (const auto& v : {no_event, no_payload, bad_hex, too_large})
        f.db.on_change(insert(messages_partition(), v));
    EXPECT_TRUE(f.v1->frames.empty());
    EXPECT_TRUE(f.v2->frames.empty());
    EXPECT_NE(f.registry.render().find("walcast_database_broadcasts_dropped_total 4"),
              std::string::npos)
        << f.registry.render();
}

TEST(DatabaseBroadcastsTest, OnlyInsertsIntoRealtimeMessagesCount) {
    Fixture f;
    f.db.on_change(insert(messages_partition(), {}, capture::ChangeKind::Update));
    f.db.on_change(insert(messages_partition("messagesx"), {}, capture::ChangeKind::Delete));
    auto other = messages_partition("todos");
    f.db.on_change(insert(other, {}));
    auto public_messages = messages_partition("messages");
    const_cast<capture::Relation&>(*public_messages).schema = "public";
    f.db.on_change(insert(public_messages, {}));
    EXPECT_TRUE(f.v2->frames.empty());
    // The unpartitioned table itself counts too (an app's own realtime.messages).
    f.db.on_change(insert(messages_partition("messages"), {}));
    EXPECT_EQ(f.v2->frames.size(), 1u);
}

TEST(DatabaseBroadcastsTest, RowsAreDroppedWhileTheTenantIsOverItsEventsLimit) {
    MetricsRegistry registry;
    broadcast::Hub hub;
    broadcast::RateCounter events{1, "Too many messages per second"};
    DatabaseBroadcasts db{hub, events, BroadcastLimits{1000}, registry};
    auto m = std::make_shared<Recorder>(1);
    hub.join("public:room1", m);
    events.add(1000);
    db.on_change(insert(messages_partition(), {}));
    EXPECT_TRUE(m->frames.empty());
}

} // namespace walcast::protocol::phoenix
