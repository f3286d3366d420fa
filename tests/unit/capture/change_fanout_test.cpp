// ChangeFanout: every consumer sees every callback in order, and the source is confirmed only
// to the minimum over consumers of what each confirmed.
#include "capture/change_fanout.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace walcast::capture {
namespace {

// Records the callbacks it gets, as text.
struct RecordingSink : ChangeSink {
    explicit RecordingSink(std::string name, std::vector<std::string>& log)
        : name_(std::move(name)), log_(log) {}
    void on_begin(const TransactionInfo& t) override {
        log_.push_back(name_ + " begin " + std::to_string(t.commit_position.value));
    }
    void on_change(const ChangePtr& c) override {
        log_.push_back(name_ + " change " + std::to_string(c->sequence));
    }
    void on_commit(const TransactionInfo&, Position end) override {
        log_.push_back(name_ + " commit " + std::to_string(end.value));
    }
    void on_relation(const RelationPtr& r) override {
        log_.push_back(name_ + " relation " + r->table);
    }
    void on_idle() override { log_.push_back(name_ + " idle"); }
    void on_stream_state(bool up, const std::string& reason) override {
        log_.push_back(name_ + (up ? " up " : " down ") + reason);
    }
    std::string name_;
    std::vector<std::string>& log_;
};

struct Upstream {
    std::mutex mu;
    std::vector<std::uint64_t> confirmed;
    std::function<void(Position)> fn() {
        return [this](Position p) {
            std::lock_guard lock(mu);
            confirmed.push_back(p.value);
        };
    }
};

TEST(ChangeFanoutTest, HandsEveryCallbackToEachConsumerInOrder) {
    std::vector<std::string> log;
    RecordingSink a("a", log), b("b", log);
    ChangeFanout fanout(nullptr);
    fanout.add(a);
    fanout.add(b);

    auto rel = std::make_shared<Relation>();
    rel->table = "t";
    auto change = std::make_shared<Change>();
    change->sequence = 7;
    TransactionInfo txn;
    txn.commit_position = Position{40};
    fanout.on_stream_state(true, "streaming");
    fanout.on_relation(rel);
    fanout.on_begin(txn);
    fanout.on_change(change);
    fanout.on_commit(txn, Position{48});
    fanout.on_idle();

    EXPECT_EQ(log, (std::vector<std::string>{"a up streaming", "b up streaming", "a relation t",
                                             "b relation t", "a begin 40", "b begin 40",
                                             "a change 7", "b change 7", "a commit 48",
                                             "b commit 48", "a idle", "b idle"}));
}

TEST(ChangeFanoutTest, ConfirmsTheMinimumOverConsumersOnlyOnceEachHasConfirmed) {
    std::vector<std::string> log;
    RecordingSink a("a", log), b("b", log);
    Upstream up;
    ChangeFanout fanout(up.fn());
    auto ha = fanout.add(a);
    auto hb = fanout.add(b);

    ha.confirm(Position{10});
    EXPECT_TRUE(up.confirmed.empty()); // b has confirmed nothing: nothing may be confirmed
    hb.confirm(Position{5});
    EXPECT_EQ(up.confirmed, (std::vector<std::uint64_t>{5}));
    hb.confirm(Position{30}); // b is ahead now; a holds at 10
    EXPECT_EQ(up.confirmed, (std::vector<std::uint64_t>{5, 10}));
    ha.confirm(Position{20});
    EXPECT_EQ(up.confirmed, (std::vector<std::uint64_t>{5, 10, 20}));
    ha.confirm(Position{15}); // lower than before: ignored
    hb.confirm(Position{30}); // the same again: nothing new
    EXPECT_EQ(up.confirmed, (std::vector<std::uint64_t>{5, 10, 20}));
    EXPECT_EQ(fanout.confirmed(), Position{20});
}

TEST(ChangeFanoutTest, OneConsumerIsConfirmedAsItConfirms) {
    std::vector<std::string> log;
    RecordingSink a("a", log);
    Upstream up;
    ChangeFanout fanout(up.fn());
    auto ha = fanout.add(a);
    ha(Position{3});
    ha(Position{9});
    EXPECT_EQ(up.confirmed, (std::vector<std::uint64_t>{3, 9}));
}

TEST(ChangeFanoutTest, ConcurrentConfirmsEndAtTheMinimumOfTheLastValues) {
    std::vector<std::string> log;
    RecordingSink a("a", log), b("b", log);
    Upstream up;
    ChangeFanout fanout(up.fn());
    auto ha = fanout.add(a);
    auto hb = fanout.add(b);
    std::thread ta([&] {
        for (std::uint64_t i = 1; i <= 20'000; ++i)
            ha.confirm(Position{i});
    });
    std::thread tb([&] {
        for (std::uint64_t i = 1; i <= 15'000; ++i)
            hb.confirm(Position{i * 2});
    });
    ta.join();
    tb.join();
    EXPECT_EQ(fanout.confirmed(), Position{20'000});
    std::lock_guard lock(up.mu);
    ASSERT_FALSE(up.confirmed.empty());
    // The largest value passed upstream is the final minimum (two racing threads may pass an
    // older minimum after a newer one; the source's confirm is monotone).
    std::uint64_t max = 0;
    for (auto v : up.confirmed)
        max = std::max(max, v);
    EXPECT_EQ(max, 20'000u);
}

} // namespace
} // namespace walcast::capture
