// Broadcast fan-out cost: a message encoded once per wire format and shared by every member
// (broadcast::Hub + broadcast::Message, what walcast does) against the same message encoded
// for each member (the baseline), in the same run, interleaved round by round. Members stand
// for channels: each copies the frame it is handed into its own buffer, as a connection's
// outbox does; half are 1.0.0 (JSON text), half 2.0.0 (binary kind 4).
//
//   build/release/bench/broadcast_encode [members=1000] [messages=2000] [rounds=7] [payload=200]
//
// Prints per round the deliveries/s of both sides and their ratio, then the median ratio.
#include "broadcast/hub.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace walcast;
using protocol::phoenix::PayloadEncoding;
using protocol::phoenix::Vsn;

namespace {

/// A channel's outbox, reduced to the copy.
class Sink final : public broadcast::Member {
public:
    explicit Sink(std::size_t format) : format_(format) {}
    std::size_t format() const override { return format_; }
    bool deliver(const broadcast::Frame& f, const broadcast::Message&, DeliveryRound&) override {
        append(*f.bytes);
        return true;
    }
    void append(const std::string& bytes) {
        buffer.append(bytes);
        if (buffer.size() > (1u << 20)) buffer.clear(); // "written"
        ++count;
    }
    std::string buffer;
    std::size_t count = 0;

private:
    std::size_t format_;
};

std::optional<broadcast::Frame> encode(std::size_t format, const std::string& topic,
                                       const std::string& payload) {
    if (format == 0) {
        std::string envelope =
            "{\"event\":\"cursor\",\"payload\":" + payload + ",\"type\":\"broadcast\"}";
        return broadcast::Frame{
            false, std::make_shared<const std::string>(
                       protocol::phoenix::encode_broadcast(Vsn::V1, topic, "broadcast", envelope))};
    }
    auto bytes = protocol::phoenix::encode_user_broadcast(topic, "cursor", "",
                                                          PayloadEncoding::Json, payload);
    return broadcast::Frame{true, std::make_shared<const std::string>(std::move(*bytes))};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
    const std::size_t members = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000;
    const std::size_t messages = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2000;
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 7;
    const std::size_t payload_bytes = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 200;

    const std::string topic = "realtime:room1";
    std::string payload = "{\"x\":1,\"text\":\"" + std::string(payload_bytes, 'a') + "\"}";

    broadcast::Hub hub;
    std::vector<std::shared_ptr<Sink>> sinks;
    for (std::size_t i = 0; i < members; ++i) {
        sinks.push_back(std::make_shared<Sink>(i % 2));
        hub.join("public:room1", sinks.back());
    }

    std::printf("members=%zu messages=%zu payload=%zu bytes\n", members, messages, payload.size());
    std::printf("%-6s %18s %18s %8s\n", "round", "shared deliv/s", "per-member deliv/s", "ratio");
    std::vector<double> ratios;
    std::size_t check = 0;
    for (int r = 0; r < rounds; ++r) {
        // Which side goes first alternates, so drift in machine load hits both alike.
        double shared_s = 0, per_member_s = 0;
        for (int side = 0; side < 2; ++side) {
            const bool shared = (side == 0) == (r % 2 == 0);
            auto t0 = std::chrono::steady_clock::now();
            for (std::size_t m = 0; m < messages; ++m) {
                if (shared) {
                    broadcast::Message msg(
                        [&](std::size_t format) { return encode(format, topic, payload); });
                    check += hub.publish("public:room1", msg, nullptr);
                } else {
                    for (auto& s : sinks) {
                        auto f = encode(s->format(), topic, payload);
                        s->append(*f->bytes);
                        ++check;
                    }
                }
            }
            (shared ? shared_s : per_member_s) = seconds_since(t0);
        }
        const double deliveries = static_cast<double>(members * messages);
        const double ratio = per_member_s / shared_s;
        ratios.push_back(ratio);
        std::printf("%-6d %18.0f %18.0f %8.2f\n", r + 1, deliveries / shared_s,
                    deliveries / per_member_s, ratio);
    }
    std::sort(ratios.begin(), ratios.end());
    std::printf("median ratio (shared / per-member deliveries per second): %.2f\n",
                ratios[ratios.size() / 2]);
    std::size_t total = 0;
    for (auto& s : sinks)
        total += s->count;
    // Every delivery of both sides reached its sink.
    return total == check && check == 2 * members * messages * static_cast<std::size_t>(rounds) ? 0
                                                                                                : 1;
}
