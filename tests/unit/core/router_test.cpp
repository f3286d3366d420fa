// The Router with fake collaborators (access source, filter compiler, row checker): matching
// and delivery in commit order with the source confirmed per transaction, late filter
// compilation outside the index lock, and RLS back-pressure that parks the router without
// holding the index lock a join or a leave needs.
#include "core/routing/router.hpp"
#include "core_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

namespace walcast::core {
namespace {

using namespace testing;
using namespace std::chrono_literals;

// Every role may read every column; RLS applies to the roles listed.
struct FakeAccess final : AccessSource {
    std::set<std::string> rls_roles;
    std::atomic<int> reads{0};
    Result<TableAccess> read_access(const std::string& role, pg::Oid) override {
        ++reads;
        TableAccess a;
        a.role_exists = true;
        a.readable_columns = {"id", "v"};
        a.rls = a.table_rls = rls_roles.count(role) > 0;
        return a;
    }
    Result<PrimaryKey> read_primary_key(pg::Oid) override {
        return PrimaryKey{{"id"}, {"integer"}};
    }
    Result<std::string> read_fingerprint() override { return std::string("fp"); }
};

// Compiles nothing: an empty filter (matches every row); runs a hook while "compiling".
struct FakeCompiler final : FilterCompiler {
    std::function<void()> during;
    std::atomic<int> calls{0};
    std::shared_ptr<const CompiledFilter> compile(const Binding&, const capture::Relation&,
                                                  const std::string&) override {
        ++calls;
        if (during) during();
        return std::make_shared<const CompiledFilter>();
    }
};

struct Harness {
    MetricsRegistry metrics;
    SubscriptionIndex index;
    AccessCache access;
    FakeAccess source;
    FakeCompiler compiler;
    CheckScript script;
    CommitTracker tracker;
    std::mutex mu;
    std::vector<std::uint64_t> confirmed;
    std::unique_ptr<Authorizer> authorizer;
    std::unique_ptr<Router> router;
    capture::RelationPtr rel = items_relation();

    explicit Harness(AuthorizerOptions o = {}) {
        auto confirm = [this](capture::Position p) {
            std::lock_guard lock(mu);
            confirmed.push_back(p.value);
        };
        authorizer = std::make_unique<Authorizer>(
            o, scripted(script),
            [this, confirm](std::uint64_t t) {
                if (auto p = tracker.finish(t); p.valid()) confirm(p);
            },
            metrics);
        authorizer->start();
        router = std::make_unique<Router>(RouterOptions{}, index, access, source, compiler,
                                          *authorizer, tracker, confirm, metrics);
    }
    ~Harness() {
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
    /// A channel with one binding per spec (ids 1, 2, …), live in the index.
    Channel join(const IdentityPtr& id, std::vector<BindingSpec> specs, bool compile_now = true) {
        Channel c;
        c.sink->with_ids = true;
        std::vector<Binding> bindings;
        for (std::size_t i = 0; i < specs.size(); ++i) {
            Binding b;
            b.id = static_cast<std::int64_t>(i + 1);
            b.spec = std::move(specs[i]);
            b.select_group = 0;
            if (compile_now && !b.spec.filters.empty())
                b.compiled.emplace(rel->oid, std::make_shared<const CompiledFilter>());
            bindings.push_back(std::move(b));
        }
        c.sub = std::make_shared<Subscription>("realtime:t", std::move(bindings), id, c.sink,
                                               sequence_format());
        index.add(c.sub);
        return c;
    }
    /// One transaction with one change; returns after the router handed it on.
    void commit(std::uint64_t seq, capture::ChangeKind kind = capture::ChangeKind::Insert) {
        auto change = item_change(rel, seq, kind);
        router->on_begin(change->txn);
        router->on_change(change);
        router->on_commit(change->txn, capture::Position{seq * 100 + 10});
        router->on_idle();
    }
    std::vector<std::uint64_t> confirmations() {
        std::lock_guard lock(mu);
        return confirmed;
    }
};

/// Waits until the source was confirmed up to `position`, 10 s at most.
bool wait_confirmed(Harness& h, std::uint64_t position) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
        auto c = h.confirmations();
        if (!c.empty() && c.back() >= position) return true;
        std::this_thread::yield();
    }
    return false;
}

BindingSpec spec(EventFilter event, std::vector<FilterCondition> filters = {}) {
    BindingSpec s;
    s.event = event;
    s.schema = "public";
    s.table = "items";
    s.filters = std::move(filters);
    return s;
}

TEST(RouterTest, DeliversEachChangeToTheChannelsThatWantItInCommitOrderAndConfirmsIt) {
    Harness h;
    auto inserts = h.join(identity("a"), {spec(EventFilter::Insert)});
    auto both = h.join(identity("b"), {spec(EventFilter::All), spec(EventFilter::Delete)});
    h.commit(1);
    h.commit(2, capture::ChangeKind::Update);
    h.commit(3, capture::ChangeKind::Delete);
    EXPECT_EQ(inserts.sink->received(), (std::vector<std::string>{"1 ids=1"}));
    // One message per channel listing every matching binding (spec §4.1).
    EXPECT_EQ(both.sink->received(), (std::vector<std::string>{"1 ids=1", "2 ids=1", "3 ids=1,2"}));
    // No check pending: each transaction is confirmed as it commits.
    EXPECT_EQ(h.confirmations(), (std::vector<std::uint64_t>{110, 210, 310}));
    // Access was read once per role and table (both identities have role authenticated),
    // then cached.
    EXPECT_EQ(h.source.reads.load(), 1);
}

TEST(RouterTest, ChecksUnderRlsGoThroughTheAuthorizerAndTheSourceWaitsForThem) {
    Harness h;
    h.source.rls_roles = {"authenticated"};
    Gate gate;
    h.script.gates["a"] = &gate;
    h.script.hidden["a"] = {2};
    auto a = h.join(identity("a"), {spec(EventFilter::All)});
    h.commit(1);
    h.commit(2);
    h.commit(3, capture::ChangeKind::Delete); // DELETEs are not checked: delivered at once
    EXPECT_TRUE(h.confirmations().empty());   // 1 and 2 wait for their checks
    EXPECT_TRUE(a.sink->received().empty());  // and 3 waits for them, in order
    gate.open();
    ASSERT_TRUE(a.sink->wait_for(2));
    EXPECT_EQ(a.sink->received(), (std::vector<std::string>{"1 ids=1", "3 ids=1"}));
    // Each finished check confirms as far as nothing waits any more: 110 when change 1's
    // check finishes first, then 310 (the DELETE needed no check) — never past a pending one.
    ASSERT_TRUE(wait_confirmed(h, 310));
    const auto confirmed = h.confirmations();
    EXPECT_TRUE(std::is_sorted(confirmed.begin(), confirmed.end()));
    EXPECT_EQ(confirmed.back(), 310u);
    for (auto p : confirmed)
        EXPECT_TRUE(p == 110 || p == 310) << p;
}

TEST(RouterTest, CompilesAFilterForATableItFirstSeesOutsideTheIndexLock) {
    Harness h;
    auto late = h.join(identity("a"), {spec(EventFilter::All, {{"id", FilterOp::Gt, "0", false}})},
                       /*compile_now=*/false);
    auto other = h.join(identity("b"), {spec(EventFilter::All)});
    // While the router compiles, a leave on another thread (an exclusive index lock) must not
    // wait for it.
    std::atomic<bool> leave_done_while_compiling{false};
    h.compiler.during = [&] {
        auto leave = std::async(std::launch::async, [&] { h.index.remove(other.sub); });
        leave_done_while_compiling = leave.wait_for(5s) == std::future_status::ready;
    };
    h.commit(1);
    EXPECT_TRUE(leave_done_while_compiling);
    EXPECT_EQ(h.compiler.calls.load(), 1);
    EXPECT_EQ(late.sink->received(), (std::vector<std::string>{"1 ids=1"}));
    EXPECT_TRUE(other.sink->received().empty()); // it left before the change was matched again
    h.commit(2);                                 // compiled once per binding and relation
    EXPECT_EQ(h.compiler.calls.load(), 1);
    EXPECT_EQ(late.sink->received().size(), 2u);
}

TEST(RouterTest, BackPressureFromAFullRlsQueueParksTheRouterButNotJoinsOrLeaves) {
    AuthorizerOptions o;
    o.workers = 1;
    o.max_pending = 1;
    Harness h(o);
    h.source.rls_roles = {"authenticated"};
    Gate gate;
    h.script.gates["a"] = &gate;
    auto a = h.join(identity("a"), {spec(EventFilter::All)});
    auto b = h.join(identity("b"), {spec(EventFilter::All)});
    // The router's thread: change 1's checks fill the queue (the worker hangs on the gate) and
    // change 2's submit waits for room.
    std::atomic<int> routed{0};
    std::thread capture([&] {
        for (std::uint64_t seq = 1; seq <= 3; ++seq) {
            h.commit(seq);
            ++routed;
        }
    });
    // Wait until the router is parked in submit() (it counts the wait before blocking).
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until &&
           h.metrics.render().find("\nwalcast_rls_submit_waits_total 1\n") == std::string::npos)
        std::this_thread::yield();
    ASSERT_NE(h.metrics.render().find("\nwalcast_rls_submit_waits_total 1\n"), std::string::npos)
        << "the router never waited: the queue was not full";
    EXPECT_LT(routed.load(), 3);
    // Meanwhile an I/O thread joins a channel and another leaves: neither waits for the router.
    auto joined = std::async(std::launch::async, [&] {
        auto c = h.join(identity("c"), {spec(EventFilter::Insert)});
        h.index.remove(b.sub);
        return c;
    });
    ASSERT_EQ(joined.wait_for(5s), std::future_status::ready) << "a join or leave was parked";
    gate.open();
    capture.join();
    ASSERT_TRUE(a.sink->wait_for(3));
    EXPECT_EQ(a.sink->received(), (std::vector<std::string>{"1 ids=1", "2 ids=1", "3 ids=1"}));
}

} // namespace
} // namespace walcast::core
