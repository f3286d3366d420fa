// Resume after restart, the parts without Postgres: the channel registry records live channels
// durably (topic, binding ids, role, sub — never the token) and keeps them through a shutdown's
// unsubscribes; the resume gate releases once every recorded channel re-joined, or at the
// grace deadline with the ones that did not.
#include "core/subscription/channel_registry.hpp"
#include "protocol/supabase/postgres_changes_data.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace walcast::core {
namespace {

SubscriptionPtr channel(const std::string& topic, std::vector<std::int64_t> ids,
                        const std::string& claims) {
    std::vector<Binding> bindings;
    for (auto id : ids) {
        Binding b;
        b.id = id;
        b.spec.schema = "public";
        b.spec.table = "items";
        bindings.push_back(std::move(b));
    }
    auto identity = std::make_shared<const Identity>(
        Identity{"authenticated", claims, "authenticated" + claims});
    return std::make_shared<Subscription>(topic, std::move(bindings), identity,
                                          std::weak_ptr<ChannelSink>(),
                                          protocol::supabase::postgres_changes_format());
}

std::filesystem::path temp_file(const char* name) {
    auto dir =
        std::filesystem::temp_directory_path() / ("walcast-registry-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto p = dir / name;
    std::filesystem::remove(p);
    return p;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ChannelRegistryTest, RecordsLiveChannelsAndKeepsThemThroughAShutdown) {
    const auto path = temp_file("a.json");
    const std::string claims = R"({"role":"authenticated","sub":"user-1","exp":99})";
    {
        SubscriptionIndex index;
        ChannelRegistry reg(path, std::chrono::milliseconds(1));
        index.add_observer(&reg);
        reg.start();
        auto a = channel("realtime:a", {11, 12}, claims);
        auto b = channel("realtime:b", {13}, claims);
        index.add(a);
        index.add(b);
        index.remove(b);
        reg.freeze();    // shutdown begins…
        index.remove(a); // …and its unsubscribes are not recorded
    }
    const auto text = slurp(path);
    EXPECT_EQ(text.find("exp"), std::string::npos) << "only role and sub are kept: " << text;
    ChannelRegistry again(path);
    auto loaded = again.load();
    ASSERT_TRUE(loaded) << loaded.error().message;
    ASSERT_EQ(loaded->size(), 1u) << text;
    const auto& r = (*loaded)[0];
    EXPECT_EQ(r.topic, "realtime:a");
    EXPECT_EQ(r.binding_ids, (std::vector<std::int64_t>{11, 12}));
    EXPECT_EQ(r.tables, (std::vector<std::string>{"public.items", "public.items"}));
    EXPECT_EQ(r.role, "authenticated");
    EXPECT_EQ(r.sub, "user-1");
}

TEST(ChannelRegistryTest, NoFileIsAnEmptyRecordAndATornFileIsAnErrorNamingTheFix) {
    const auto path = temp_file("b.json");
    ChannelRegistry reg(path);
    auto none = reg.load();
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    std::ofstream(path) << "[{\"topic\":";
    auto bad = reg.load();
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("remove it to start without resuming"), std::string::npos);
}

TEST(ResumeGateTest, ReleasesOnceEveryRecordedChannelHasReJoined) {
    const std::string claims = R"({"role":"authenticated","sub":"u"})";
    auto a = channel("realtime:a", {1}, claims);
    auto b = channel("realtime:b", {2}, claims);
    ResumeGate gate({ChannelRecord::of(*a), ChannelRecord::of(*b)}, std::chrono::seconds(60));
    EXPECT_EQ(gate.awaited(), 2u);
    // Another identity on the same topic is not the same channel.
    auto other = channel("realtime:a", {1}, R"({"role":"authenticated","sub":"v"})");
    gate.on_added(*other);
    gate.on_added(*channel("realtime:a", {1}, R"({"role":"authenticated","sub":"u","exp":5})"));
    EXPECT_EQ(gate.awaited(), 1u) << "a refreshed token (new exp) is still the same identity";
    std::thread t([&] { gate.on_added(*b); });
    const auto started = std::chrono::steady_clock::now();
    auto missed = gate.wait();
    t.join();
    ASSERT_TRUE(missed);
    EXPECT_TRUE(missed->empty());
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
    EXPECT_TRUE(gate.released());
}

TEST(ResumeGateTest, AtTheGraceDeadlineReturnsTheChannelsThatDidNotReJoin) {
    auto a = channel("realtime:a", {1}, "{}");
    ResumeGate gate({ChannelRecord::of(*a)}, std::chrono::milliseconds(20));
    auto missed = gate.wait();
    ASSERT_TRUE(missed);
    ASSERT_EQ(missed->size(), 1u);
    EXPECT_EQ((*missed)[0].topic, "realtime:a");
}

TEST(ResumeGateTest, CancelEndsTheWaitWithoutAResult) {
    auto a = channel("realtime:a", {1}, "{}");
    ResumeGate gate({ChannelRecord::of(*a)}, std::chrono::seconds(60));
    std::thread t([&] { gate.cancel(); });
    EXPECT_FALSE(gate.wait().has_value());
    t.join();
}

} // namespace
} // namespace walcast::core
