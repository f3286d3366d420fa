// The Authorizer over a scripted RowChecker: each channel receives in commit order whichever
// identity's check finishes first, identities never wait for each other, a failing identity is
// checked alone and then row by row so only its failing rows become error rows, timeouts are
// not retried, and a full queue makes submit() wait until the workers drain it.
#include "core/authorization/authorizer.hpp"
#include "core_test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace walcast::core {
namespace {

using namespace testing;
using namespace std::chrono_literals;

struct Harness {
    CheckScript script;
    MetricsRegistry metrics;
    std::mutex mu;
    std::vector<std::uint64_t> finished_tickets;
    std::unique_ptr<Authorizer> authorizer;
    capture::RelationPtr rel = items_relation();

    explicit Harness(AuthorizerOptions o = {}) {
        authorizer = std::make_unique<Authorizer>(
            o, scripted(script),
            [this](std::uint64_t t) {
                std::lock_guard lock(mu);
                finished_tickets.push_back(t);
            },
            metrics);
    }
    ~Harness() {
        // A failed assertion must not leave a worker waiting on a gate forever.
        {
            std::lock_guard lock(script.mu);
            for (auto& [name, gate] : script.gates)
                gate->open();
        }
        authorizer->stop();
    }

    struct Channel {
        std::shared_ptr<RecordingChannel> sink = std::make_shared<RecordingChannel>();
        SubscriptionPtr sub;
    };
    Channel channel(const IdentityPtr& id) {
        Channel c;
        c.sub = std::make_shared<Subscription>("realtime:t", std::vector<Binding>{}, id, c.sink,
                                               sequence_format());
        return c;
    }
    std::map<std::uint64_t, ChangePayloadsPtr> payloads;
    ChangePayloadsPtr change(std::uint64_t seq) {
        auto& p = payloads[seq];
        if (!p) p = std::make_shared<ChangePayloads>(item_change(rel, seq), 1 << 20);
        return p;
    }
    /// One RLS delivery of change seq to channel c (reserving its slot now, in commit order).
    std::pair<IdentityPtr, AuthWork> work(Channel& c, std::uint64_t seq) {
        return {c.sub->identity(), AuthWork{change(seq), {}, c.sub, c.sub->reserve(), {7}, seq}};
    }
    void submit(std::vector<std::pair<IdentityPtr, AuthWork>> w) { authorizer->submit(w); }
    /// Waits until n pieces of work were handed back (delivered or skipped), 10 s at most.
    bool wait_finished(std::size_t n) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (;;) {
            {
                std::lock_guard lock(mu);
                if (finished_tickets.size() >= n) return true;
            }
            if (std::chrono::steady_clock::now() >= until) return false;
            std::this_thread::yield();
        }
    }
    /// Waits until the counter reaches n, 10 s at most.
    bool wait_counter(const std::string& name, double n) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (counter(name) < n) {
            if (std::chrono::steady_clock::now() >= until) return false;
            std::this_thread::yield();
        }
        return true;
    }
    double counter(const std::string& name) {
        const std::string text = metrics.render();
        auto at = text.find("\n" + name + " ");
        return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
    }
};

std::vector<std::string> numbers(std::uint64_t from, std::uint64_t to) {
    std::vector<std::string> out;
    for (auto i = from; i <= to; ++i)
        out.push_back(std::to_string(i));
    return out;
}

TEST(AuthorizerTest, ChannelsReceiveInCommitOrderAndAnIdentityNeverWaitsForAnother) {
    AuthorizerOptions o;
    o.workers = 2;
    o.max_batch_identities = 1; // identities in rounds of their own, on both workers
    o.max_batch_changes = 3;    // several rounds per identity
    Harness h(o);
    Gate a_gate;
    h.script.gates["a"] = &a_gate; // a's checks hang until the test opens the gate
    auto a = h.channel(identity("a"));
    auto b = h.channel(identity("b"));
    h.authorizer->start();
    // Commit order 1..20; each change goes to both channels. Channel a also gets direct
    // deliveries between its checked ones (slots reserved in between, completed at once).
    for (std::uint64_t seq = 1; seq <= 20; ++seq) {
        std::vector<std::pair<IdentityPtr, AuthWork>> w;
        w.push_back(h.work(a, seq));
        w.push_back(h.work(b, seq));
        h.submit(std::move(w));
        if (seq % 5 == 0) {
            DeliveryRound round;
            a.sub->complete(a.sub->reserve(), std::make_shared<const std::string>("direct"), {9},
                            round);
        }
    }
    // b's checks do not wait for a's, which are stuck.
    ASSERT_TRUE(b.sink->wait_for(20));
    EXPECT_EQ(b.sink->received(), numbers(1, 20));
    EXPECT_TRUE(a.sink->received().empty()) << "a's direct deliveries overtook its checked ones";
    a_gate.open();
    ASSERT_TRUE(a.sink->wait_for(24));
    std::vector<std::string> expect;
    for (std::uint64_t seq = 1; seq <= 20; ++seq) {
        expect.push_back(std::to_string(seq));
        if (seq % 5 == 0) expect.push_back("direct");
    }
    EXPECT_EQ(a.sink->received(), expect);
    // Every ticket handed back, once per piece of work.
    ASSERT_TRUE(h.wait_finished(40));
    std::lock_guard lock(h.mu);
    EXPECT_EQ(h.finished_tickets.size(), 40u);
}

TEST(AuthorizerTest, SubscribersSharingAnIdentityShareOneCheckPerChange) {
    Harness h;
    auto id = identity("shared");
    auto x = h.channel(id), y = h.channel(id), z = h.channel(id);
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
        h.submit({h.work(x, seq), h.work(y, seq), h.work(z, seq)});
    h.authorizer->start();
    ASSERT_TRUE(z.sink->wait_for(3));
    ASSERT_TRUE(x.sink->wait_for(3));
    ASSERT_TRUE(y.sink->wait_for(3));
    // One round, one request, each change once.
    EXPECT_EQ(h.script.all_rounds(), (std::vector<std::vector<std::string>>{{"shared:1,2,3"}}));
    EXPECT_EQ(h.counter("walcast_rls_rows_checked_total"), 3);
}

TEST(AuthorizerTest, AFailingIdentityIsCheckedAloneThenRowByRowAndOnlyItsFailingRowFails) {
    AuthorizerOptions o;
    o.workers = 1;
    Harness h(o);
    h.script.raising = {{"b", 2}};
    h.script.hidden["c"] = {3};
    auto a = h.channel(identity("a"));
    auto b = h.channel(identity("b"));
    auto c = h.channel(identity("c"));
    // Queued before the worker starts: one round takes all three identities.
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
        h.submit({h.work(a, seq), h.work(b, seq), h.work(c, seq)});
    h.authorizer->start();
    ASSERT_TRUE(a.sink->wait_for(3));
    ASSERT_TRUE(b.sink->wait_for(3));
    ASSERT_TRUE(c.sink->wait_for(2));
    ASSERT_TRUE(h.wait_finished(9)); // c's hidden row is handed back after its deliveries

    EXPECT_EQ(a.sink->received(), numbers(1, 3));
    EXPECT_EQ(b.sink->received(), (std::vector<std::string>{"1", "error:2", "3"}));
    EXPECT_EQ(c.sink->received(), (std::vector<std::string>{"1", "2"})); // 3 hidden
    EXPECT_EQ(h.script.all_rounds(),
              (std::vector<std::vector<std::string>>{{"a:1,2,3", "b:1,2,3", "c:1,2,3"}, // fails
                                                     {"a:1,2,3"}, // alone: fine
                                                     {"b:1,2,3"}, // alone: fails
                                                     {"b:1"},     // row by row
                                                     {"b:2"},
                                                     {"b:3"},
                                                     {"c:1,2,3"}}));
    EXPECT_EQ(h.counter("walcast_rls_check_errors_total"), 1);
    EXPECT_EQ(h.counter("walcast_rls_hidden_total"), 1);
    EXPECT_EQ(h.counter("walcast_rls_visible_total"), 7);
}

TEST(AuthorizerTest, ATimedOutRoundIsNotRetriedAndEveryRowBecomesAnErrorRow) {
    AuthorizerOptions o;
    o.workers = 1;
    Harness h(o);
    h.script.raising = {{"a", 1}};
    h.script.failure_status = RowChecker::Status::TimedOut;
    auto a = h.channel(identity("a"));
    auto b = h.channel(identity("b"));
    h.submit({h.work(a, 1), h.work(b, 1)});
    h.authorizer->start();
    ASSERT_TRUE(a.sink->wait_for(1));
    ASSERT_TRUE(b.sink->wait_for(1));
    EXPECT_EQ(a.sink->received(), std::vector<std::string>{"error:1"});
    EXPECT_EQ(b.sink->received(), std::vector<std::string>{"error:1"});
    EXPECT_EQ(h.script.all_rounds().size(), 1u);
}

TEST(AuthorizerTest, SubmitWaitsWhileTheQueueIsFullAndResumesAsWorkersDrainIt) {
    AuthorizerOptions o;
    o.workers = 1;
    o.max_pending = 2;
    Harness h(o);
    Gate gate;
    h.script.gates["a"] = &gate;
    auto a = h.channel(identity("a"));
    h.authorizer->start();
    h.submit({h.work(a, 1), h.work(a, 2)}); // fills the queue; the worker hangs on the gate
    std::atomic<bool> returned{false};
    std::thread router([&] {
        h.submit({h.work(a, 3)}); // must wait for space
        returned = true;
    });
    // The third submit finds the queue full and waits (it counts the wait before blocking);
    // it stays blocked while the gate holds the worker.
    ASSERT_TRUE(h.wait_counter("walcast_rls_submit_waits_total", 1));
    EXPECT_FALSE(returned);
    EXPECT_EQ(h.authorizer->pending(), 2u);
    gate.open();
    router.join();
    EXPECT_TRUE(returned);
    ASSERT_TRUE(a.sink->wait_for(3));
    EXPECT_EQ(a.sink->received(), numbers(1, 3));
    EXPECT_EQ(h.counter("walcast_rls_submit_waits_total"), 1);
}

TEST(AuthorizerTest, PerSubscriberChecksEverySubscriberOfAChangeInOneRoundChangeAfterChange) {
    AuthorizerOptions o;
    o.strategy = RlsStrategy::PerSubscriber;
    o.workers = 1;
    Harness h(o);
    h.script.hidden["y"] = {2};
    auto x = h.channel(identity("x"));
    auto y = h.channel(identity("y"));
    for (std::uint64_t seq = 1; seq <= 2; ++seq)
        h.submit({h.work(x, seq), h.work(y, seq)});
    h.authorizer->start();
    ASSERT_TRUE(x.sink->wait_for(2));
    ASSERT_TRUE(y.sink->wait_for(1));
    ASSERT_TRUE(h.wait_finished(4));
    EXPECT_EQ(x.sink->received(), numbers(1, 2));
    EXPECT_EQ(y.sink->received(), numbers(1, 1));
    // One round per change, one request per subscriber.
    EXPECT_EQ(h.script.all_rounds(),
              (std::vector<std::vector<std::string>>{{"x:1", "y:1"}, {"x:2", "y:2"}}));
}

/// The sequence, and " old-omitted" when the variant hides the UPDATE's old_record.
struct OldRecordFormat final : PayloadFormat {
    std::string render(const capture::Change& c, const PayloadVariant& v, bool) const override {
        return (v.error != ErrorRow::None ? "error:" : "") + std::to_string(c.sequence) +
               (v.old_record_omitted ? " old-omitted" : "");
    }
};

/// Change seq under REPLICA IDENTITY FULL whose new row has id new_id and old row id old_id
/// (the scripted checker decides rows by their id).
ChangePayloadsPtr full_change(const capture::RelationPtr& rel, std::uint64_t seq,
                              capture::ChangeKind kind, std::uint64_t new_id,
                              std::uint64_t old_id) {
    auto c = std::const_pointer_cast<capture::Change>(item_change(rel, seq, kind));
    pg::Tuple old;
    old.push_value(std::to_string(old_id));
    old.push_value("old");
    c->old_tuple = std::move(old);
    c->old_is_full = true;
    if (kind == capture::ChangeKind::Update) {
        pg::Tuple t;
        t.push_value(std::to_string(new_id));
        t.push_value("new");
        c->new_tuple = std::move(t);
    }
    return std::make_shared<ChangePayloads>(c, 1 << 20);
}

TEST(AuthorizerTest, OldVersionsDecideDeletesAndWhetherAnUpdateShowsItsOldRecord) {
    static const OldRecordFormat format;
    for (const bool old_versions : {true, false}) {
        SCOPED_TRACE(old_versions ? "old versions decided" : "new rows only (baselines)");
        AuthorizerOptions o;
        o.old_versions = old_versions;
        Harness h(o);
        h.script.hidden["a"] = {101, 3, 105};
        auto sink = std::make_shared<RecordingChannel>();
        auto sub = std::make_shared<Subscription>("realtime:t", std::vector<Binding>{},
                                                  identity("a"), sink, format);
        using K = capture::ChangeKind;
        const std::vector<ChangePayloadsPtr> changes = {
            full_change(h.rel, 1, K::Update, 1, 101), // old version hidden
            full_change(h.rel, 2, K::Update, 2, 102), // both visible
            full_change(h.rel, 3, K::Delete, 0, 3),   // deleted row hidden
            full_change(h.rel, 4, K::Delete, 0, 4),   // deleted row visible
            full_change(h.rel, 5, K::Update, 105, 5), // new version hidden, old visible
        };
        std::vector<std::pair<IdentityPtr, AuthWork>> w;
        for (std::size_t i = 0; i < changes.size(); ++i) {
            // Without old versions the router does not route DELETEs here.
            if (!old_versions && changes[i]->change().kind == K::Delete) continue;
            w.push_back(
                {sub->identity(), AuthWork{changes[i], {}, sub, sub->reserve(), {7}, i + 1}});
        }
        const std::size_t n = w.size();
        h.submit(std::move(w));
        h.authorizer->start();
        ASSERT_TRUE(h.wait_finished(n));
        if (old_versions) {
            EXPECT_EQ(sink->received(), (std::vector<std::string>{"1 old-omitted", "2", "4"}));
            EXPECT_EQ(h.script.all_rounds(),
                      (std::vector<std::vector<std::string>>{{"a:1,101,2,102,3,4,105,5"}}));
        } else {
            EXPECT_EQ(sink->received(), (std::vector<std::string>{"1", "2"}));
            EXPECT_EQ(h.script.all_rounds(),
                      (std::vector<std::vector<std::string>>{{"a:1,2,105"}}));
        }
    }
}

} // namespace
} // namespace walcast::core
