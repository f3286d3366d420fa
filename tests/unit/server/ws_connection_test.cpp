// WsConnection and its Outbox over a socketpair, with a recording protocol session: messages
// reach the session, pings are answered, partial writes arrive whole and in order, a slow
// client is cut off at the hard limit and after the soft limit's grace period, both close
// handshakes, round deliveries wait for the round, and sends racing teardown stop cleanly.
#include "common/delivery_round.hpp"
#include "common/metrics.hpp"
#include "server/ws_connection.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace walcast::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Records what the connection hands its protocol session.
struct RecordingSession : protocol::ProtocolSession {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> texts, binaries;
    int closed = 0;
    void on_text(std::string_view p) override {
        std::lock_guard lock(mu);
        texts.emplace_back(p);
        cv.notify_all();
    }
    void on_binary(std::string_view p) override {
        std::lock_guard lock(mu);
        binaries.emplace_back(p);
        cv.notify_all();
    }
    void on_sweep(std::chrono::steady_clock::time_point, std::int64_t) override {}
    bool sweep_due(std::int64_t) const override { return false; }
    void on_closed() override {
        std::lock_guard lock(mu);
        ++closed;
        cv.notify_all();
    }
    template <class Pred> bool wait(Pred pred, std::chrono::milliseconds deadline = 5s) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, deadline, pred);
    }
};

// One connection over a socketpair; the test thread is the client on `peer`.
struct Fixture {
    // Declared before the io_context: its pending handlers hold the connection, which updates
    // these when it is destroyed with them.
    MetricsRegistry registry;
    Gauge& connections = registry.gauge("connections", "");
    Counter& delivered = registry.counter("delivered", "");
    Counter& dropped = registry.counter("dropped", "");
    Counter& slow = registry.counter("slow", "");
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread runner;
    std::shared_ptr<WsConnection> conn;
    RecordingSession* session = nullptr;
    int peer = -1;
    WebSocketFrameParser parser{FrameRole::Client};
    std::string unparsed;

    explicit Fixture(OutboxLimits limits = {}, int socket_buffer_bytes = 0) {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        if (socket_buffer_bytes > 0) {
            ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &socket_buffer_bytes, sizeof(int));
            ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &socket_buffer_bytes, sizeof(int));
        }
        peer = fds[1];
        WsConnection::socket_type socket(asio::make_strand(io),
                                         asio::generic::stream_protocol(AF_UNIX, 0), fds[0]);
        ConnectionOptions o;
        o.limits = limits;
        o.close_grace = 2000ms;
        o.metrics = {&connections, &delivered, &dropped, &slow};
        conn = std::make_shared<WsConnection>(std::move(socket), std::move(o), "");
        conn->start([this](const std::shared_ptr<protocol::ConnectionIo>&) {
            auto s = std::make_unique<RecordingSession>();
            session = s.get();
            return s;
        });
        runner = std::thread([this] { io.run(); });
    }
    ~Fixture() {
        work.reset();
        if (conn) conn->close(close_code::going_away, "test over");
        conn.reset();
        if (peer >= 0) ::close(peer);
        io.stop();
        runner.join();
    }

    void send_frame(Opcode op, std::string_view payload) {
        const std::string f = encode_client_frame(op, payload, MaskKey{1, 2, 3, 4});
        ASSERT_EQ(::write(peer, f.data(), f.size()), static_cast<ssize_t>(f.size()));
    }

    // The next server message (or nullopt at EOF / deadline). Close frames come back with
    // kind Close; payload = reason.
    struct Frame {
        WebSocketMessage::Kind kind;
        std::string payload;
        std::uint16_t close_code = 0;
    };
    std::optional<Frame> read_frame(std::chrono::milliseconds deadline = 5s) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            if (!unparsed.empty()) {
                std::span<std::uint8_t> in(reinterpret_cast<std::uint8_t*>(unparsed.data()),
                                           unparsed.size());
                auto r = parser.parse(in);
                if (!r) return std::nullopt;
                std::optional<Frame> out;
                if (r->message)
                    out = Frame{r->message->kind, std::string(r->message->payload),
                                r->message->close_code};
                unparsed.erase(0, r->consumed);
                if (out) return out;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{peer, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
            char buf[65536];
            const ssize_t n = ::read(peer, buf, sizeof buf);
            if (n <= 0) return std::nullopt;
            unparsed.append(buf, static_cast<std::size_t>(n));
        }
    }
    // True when the server closed its end (EOF) within the deadline, after what is unread.
    bool eof(std::chrono::milliseconds deadline = 5s) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{peer, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
            char buf[65536];
            const ssize_t n = ::read(peer, buf, sizeof buf);
            if (n == 0) return true;
            if (n < 0) return errno == ECONNRESET;
        }
    }
};

std::string message(int i, std::size_t bytes) {
    std::string s = std::to_string(i) + ":";
    s.resize(bytes, static_cast<char>('a' + i % 26));
    return s;
}

TEST(WsConnectionTest, HandsMessagesToTheSessionAndAnswersPings) {
    Fixture f;
    f.send_frame(Opcode::Text, "hello");
    f.send_frame(Opcode::Binary, std::string("\x00\x01", 2));
    f.send_frame(Opcode::Ping, "are you there");
    ASSERT_TRUE(f.session->wait([&] { return f.session->binaries.size() == 1; }));
    EXPECT_EQ(f.session->texts, std::vector<std::string>{"hello"});
    EXPECT_EQ(f.session->binaries, std::vector<std::string>{std::string("\x00\x01", 2)});
    auto pong = f.read_frame();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->kind, WebSocketMessage::Kind::Pong);
    EXPECT_EQ(pong->payload, "are you there");
}

TEST(WsConnectionTest, PingsFromAPeerThatDoesNotReadQueueOneCoalescedPong) {
    Fixture f({}, 8192); // small kernel buffers: pongs one per ping would pile up in the outbox
    constexpr int pings = 5000;
    std::string burst;
    for (int i = 1; i <= pings; ++i)
        burst += encode_client_frame(Opcode::Ping, message(i, 100), MaskKey{9, 8, 7, 6});
    burst += encode_client_frame(Opcode::Text, "after the pings", MaskKey{1, 2, 3, 4});
    std::size_t off = 0;
    while (off < burst.size()) { // the server reads as fast as it can; we write everything
        const ssize_t n = ::write(f.peer, burst.data() + off, burst.size() - off);
        ASSERT_GT(n, 0);
        off += static_cast<std::size_t>(n);
    }
    ASSERT_TRUE(f.session->wait([&] { return f.session->texts.size() == 1; }));
    // Every ping was handled and nothing was read: at most one pong pending, one in flight.
    EXPECT_LE(f.conn->queued_bytes(), 2 * (2 + max_control_payload_bytes));
    std::vector<int> answered;
    for (;;) {
        auto fr = f.read_frame(500ms);
        if (!fr) break;
        ASSERT_EQ(fr->kind, WebSocketMessage::Kind::Pong);
        answered.push_back(std::stoi(fr->payload));
        if (answered.back() == pings) break;
    }
    ASSERT_FALSE(answered.empty());
    EXPECT_EQ(answered.back(), pings) << "the last ping was not answered";
    EXPECT_LT(answered.size(), static_cast<std::size_t>(pings / 10)) << "pongs were not coalesced";
    EXPECT_TRUE(std::is_sorted(answered.begin(), answered.end()));
    EXPECT_EQ(f.slow.value(), 0u);
}

TEST(WsConnectionTest, ATextMessageThatIsNotUtf8ClosesWith1007) {
    Fixture f;
    f.send_frame(Opcode::Text, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e");
    f.send_frame(Opcode::Text, "bad \xc3\x28 byte");
    f.send_frame(Opcode::Text, "after the bad one");
    auto fr = f.read_frame();
    ASSERT_TRUE(fr);
    EXPECT_EQ(fr->kind, WebSocketMessage::Kind::Close);
    EXPECT_EQ(fr->close_code, close_code::invalid_payload);
    // Only the valid message reached the session; nothing after the bad one.
    EXPECT_EQ(f.session->texts,
              std::vector<std::string>{"h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e"});
}

TEST(WsConnectionTest, PartialWritesArriveWholeAndInOrder) {
    Fixture f({}, 8192); // small kernel buffers: most of the data waits in the outbox
    constexpr int n = 300;
    DeliveryRound round;
    for (int i = 0; i < n; ++i) {
        const std::string m = message(i, 4000);
        // Alternate the two ways in: at once (kicked) and through a delivering thread's round.
        ASSERT_TRUE(i % 2 ? f.conn->send_text({m}, &round, true) : f.conn->send_text({m}));
        if (i % 10 == 9) round.close();
    }
    round.close();
    // Nothing has been read: the kernel holds a little, the outbox the rest.
    EXPECT_GT(f.conn->queued_bytes(), 100'000u);
    for (int i = 0; i < n; ++i) {
        auto fr = f.read_frame();
        ASSERT_TRUE(fr) << "message " << i << " missing";
        EXPECT_EQ(fr->kind, WebSocketMessage::Kind::Text);
        ASSERT_EQ(fr->payload, message(i, 4000)) << "message " << i;
    }
    EXPECT_EQ(f.delivered.value(), static_cast<std::uint64_t>(n / 2)); // data_frame ones
    EXPECT_TRUE(f.session->wait([&] { return true; }));
}

TEST(WsConnectionTest, OverTheHardLimitTheClientIsCutOffWith1008AndDropsAreCounted) {
    OutboxLimits limits;
    limits.soft_bytes = 1u << 30;
    limits.hard_bytes = 64 * 1024;
    Fixture f(limits, 8192);
    // A delivering thread's round held open: its appends wait for the round's flush, so no
    // write takes them off the pending queue and every accepted frame is still there at the
    // cut-off (the outcome does not depend on when the I/O thread runs).
    DeliveryRound round;
    int accepted = 0;
    for (int i = 0; i < 1000; ++i) {
        if (!f.conn->send_text({message(i, 1000)}, &round, true)) break;
        ++accepted;
    }
    ASSERT_LT(accepted, 1000) << "never cut off";
    EXPECT_EQ(accepted, 66); // 66 framed messages of 1,004 bytes are the first over 64 KiB
    EXPECT_EQ(f.slow.value(), 1u);
    EXPECT_EQ(f.delivered.value(), static_cast<std::uint64_t>(accepted));
    EXPECT_EQ(f.dropped.value(), static_cast<std::uint64_t>(accepted));
    round.close(); // the flush finds the output closed: nothing more is sent
    EXPECT_FALSE(f.conn->send_text({"late"}, nullptr, true));
    // The client gets the close frame and nothing of what was dropped.
    auto fr = f.read_frame();
    ASSERT_TRUE(fr);
    EXPECT_EQ(fr->kind, WebSocketMessage::Kind::Close);
    EXPECT_EQ(fr->close_code, slow_client_close_code);
    EXPECT_EQ(fr->payload, "client too slow: 66264 bytes queued, over the hard limit of 65536");
}

TEST(WsConnectionTest, CutOffWhileWritingTheClientGetsWhatReachedTheSocketInOrderThenThe1008) {
    OutboxLimits limits;
    limits.soft_bytes = 1u << 30;
    limits.hard_bytes = 64 * 1024;
    Fixture f(limits, 8192);
    int accepted = 0;
    for (int i = 0; i < 1000; ++i) {
        if (!f.conn->send_text({message(i, 1000)}, nullptr, true)) break;
        ++accepted;
    }
    ASSERT_LT(accepted, 1000) << "never cut off";
    EXPECT_EQ(f.slow.value(), 1u);
    EXPECT_EQ(f.delivered.value(), static_cast<std::uint64_t>(accepted));
    // Writes ran on the I/O thread meanwhile: what a write had taken from the pending queue
    // belongs to the kernel and still arrives; only what was pending at the cut-off is dropped.
    // How much that is depends on when the I/O thread ran (it may be nothing: a write can
    // take the last frame between its append and the cut-off), so only the sum is asserted.
    int received = 0;
    std::optional<Fixture::Frame> fr;
    while ((fr = f.read_frame()) && fr->kind == WebSocketMessage::Kind::Text) {
        EXPECT_EQ(fr->payload, message(received, 1000));
        ++received;
    }
    ASSERT_TRUE(fr);
    EXPECT_EQ(fr->kind, WebSocketMessage::Kind::Close);
    EXPECT_EQ(fr->close_code, slow_client_close_code);
    EXPECT_EQ(fr->payload.rfind("client too slow: ", 0), 0u) << fr->payload;
    EXPECT_EQ(received + static_cast<int>(f.dropped.value()), accepted);
}

TEST(WsConnectionTest, AboveTheSoftLimitForItsGracePeriodTheClientIsCutOff) {
    OutboxLimits limits;
    limits.soft_bytes = 16 * 1024;
    limits.soft_seconds = 1;
    limits.hard_bytes = 1u << 30;
    Fixture f(limits, 8192);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i)
        ASSERT_TRUE(f.conn->send_text({message(i, 1000)}, nullptr, true));
    ASSERT_GT(f.conn->queued_bytes(), limits.soft_bytes);
    f.conn->sweep(start - 1s, 0); // well inside the grace period
    EXPECT_EQ(f.slow.value(), 0u);
    f.conn->sweep(start + 2s, 0); // past it
    EXPECT_EQ(f.slow.value(), 1u);
    std::optional<Fixture::Frame> fr;
    while ((fr = f.read_frame()) && fr->kind == WebSocketMessage::Kind::Text) {
    }
    ASSERT_TRUE(fr);
    EXPECT_EQ(fr->close_code, slow_client_close_code);
    EXPECT_EQ(fr->payload, "client too slow: outgoing queue above 16384 bytes for 1 s");
    EXPECT_FALSE(f.conn->send_text({"late"}));
}

TEST(WsConnectionTest, APeersCloseIsAnsweredAndTheConnectionTornDown) {
    Fixture f;
    const std::string body = close_payload(close_code::normal, "bye");
    f.send_frame(Opcode::Close, body);
    auto fr = f.read_frame();
    ASSERT_TRUE(fr);
    EXPECT_EQ(fr->kind, WebSocketMessage::Kind::Close);
    EXPECT_EQ(fr->close_code, close_code::normal);
    EXPECT_TRUE(f.eof());
    ASSERT_TRUE(f.session->wait([&] { return f.session->closed == 1; }));
    EXPECT_FALSE(f.conn->send_text({"after close"}));
}

TEST(WsConnectionTest, AServerCloseWaitsForThePeersCloseFrameThenTearsDown) {
    Fixture f;
    f.conn->close(close_code::going_away, "server shutting down");
    auto fr = f.read_frame();
    ASSERT_TRUE(fr);
    EXPECT_EQ(fr->kind, WebSocketMessage::Kind::Close);
    EXPECT_EQ(fr->close_code, close_code::going_away);
    EXPECT_EQ(fr->payload, "server shutting down");
    EXPECT_FALSE(f.conn->send_text({"nothing after the close frame"}));
    // Still open for the peer's answer (the server shut only its sending side).
    {
        std::lock_guard lock(f.session->mu);
        EXPECT_EQ(f.session->closed, 0);
    }
    f.send_frame(Opcode::Close, close_payload(close_code::going_away, ""));
    ASSERT_TRUE(f.session->wait([&] { return f.session->closed == 1; }));
}

TEST(WsConnectionTest, AServerCloseThePeerNeverAnswersEndsAtTheGraceDeadline) {
    Fixture f;
    f.conn->close(close_code::normal, "bye");
    ASSERT_TRUE(f.read_frame());
    f.conn->sweep(std::chrono::steady_clock::now() + 1s, 0); // inside close_grace: still open
    {
        std::lock_guard lock(f.session->mu);
        EXPECT_EQ(f.session->closed, 0);
    }
    f.conn->sweep(std::chrono::steady_clock::now() + 3s, 0); // past it
    ASSERT_TRUE(f.session->wait([&] { return f.session->closed == 1; }));
    EXPECT_TRUE(f.eof());
}

TEST(WsConnectionTest, RoundDeliveriesWaitForTheRoundThenGoOutInOneSend) {
    Fixture f;
    DeliveryRound round;
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(f.conn->send_text({message(i, 100)}, &round, true));
    EXPECT_EQ(round.size(), 1u);                       // the connection joined once
    EXPECT_EQ(f.conn->queued_bytes(), 5u * (100 + 2)); // held until the round closes
    round.close();
    EXPECT_EQ(f.conn->queued_bytes(), 0u); // one non-blocking send took it all
    EXPECT_TRUE(round.empty());
    for (int i = 0; i < 5; ++i) {
        auto fr = f.read_frame();
        ASSERT_TRUE(fr);
        EXPECT_EQ(fr->payload, message(i, 100));
    }
}

TEST(WsConnectionTest, SendsRacingTeardownStopCleanlyOnceTheConnectionIsGone) {
    Fixture f({}, 8192);
    std::atomic<bool> refused{false};
    std::thread sender([&] {
        DeliveryRound round;
        for (int i = 0; i < 1'000'000 && !refused; ++i) {
            const bool ok = i % 3 ? f.conn->send_text({message(i, 200)}, &round, true)
                                  : f.conn->send_text({message(i, 200)});
            if (i % 7 == 0) round.close();
            if (!ok) refused = true;
        }
        round.close(); // after teardown: must not touch the closed descriptor
    });
    // The client reads a little, then vanishes without a close handshake.
    ASSERT_TRUE(f.read_frame());
    ::shutdown(f.peer, SHUT_RDWR);
    ::close(f.peer);
    f.peer = -1;
    ASSERT_TRUE(f.session->wait([&] { return f.session->closed == 1; }));
    sender.join();
    EXPECT_TRUE(refused);
    EXPECT_FALSE(f.conn->send_text({"gone"}));
    EXPECT_EQ(f.conn->queued_bytes(), 0u);
}

std::int64_t zero_ms() {
    return 0;
}

TEST(OutboxTest, FramesOfAnUnfinishedWriteAreCountedAsDroppedAtTeardown) {
    Outbox o(OutboxLimits{});
    for (int i = 0; i < 3; ++i)
        (void)o.append(Opcode::Text, {"x"}, true, false, zero_ms);
    ASSERT_NE(o.take_for_write(false), nullptr); // a write of 3 frames starts and never ends
    for (int i = 0; i < 2; ++i)
        (void)o.append(Opcode::Text, {"y"}, true, false, zero_ms);
    EXPECT_EQ(o.close(slow_client_close_code, "slow", true, 0).dropped_frames, 2u); // pending
    EXPECT_EQ(o.shut(), 3u); // the unfinished write's frames are lost with the socket

    Outbox done(OutboxLimits{});
    (void)done.append(Opcode::Text, {"x"}, true, false, zero_ms);
    ASSERT_NE(done.take_for_write(false), nullptr);
    (void)done.written();
    EXPECT_EQ(done.shut(), 0u); // a finished write lost nothing
}

// A round member counting its flushes.
struct CountingMember : RoundMember {
    int flushes = 0;
    void flush_round() override { ++flushes; }
};

TEST(DeliveryRoundTest, EveryMemberIsFlushedOnceWhenTheRoundClosesAndTheRoundIsReusable) {
    auto a = std::make_shared<CountingMember>();
    auto b = std::make_shared<CountingMember>();
    {
        DeliveryRound round;
        round.join(a);
        round.join(b);
        EXPECT_EQ(a->flushes, 0);
        round.close();
        EXPECT_EQ(a->flushes, 1);
        EXPECT_EQ(b->flushes, 1);
        round.close(); // empty: nothing again
        EXPECT_EQ(a->flushes, 1);
        round.join(a); // reusable
    }                  // destroyed open: closed
    EXPECT_EQ(a->flushes, 2);
    EXPECT_EQ(b->flushes, 1);
}

} // namespace
} // namespace walcast::server
