// broadcast::Hub: generic fan-out of messages to the members of a topic. A message is encoded
// at most once per wire format, by the first member of that format, and the bytes are shared
// by every member of the format. The publishing thread delivers, in one DeliveryRound, so each
// member's outbox is flushed once per message and a sender's messages reach every member in
// the order it published them. Knows no protocol: formats are small integers the protocol
// assigns (Phoenix: one per serializer version).
#pragma once

#include "broadcast/rate_counter.hpp"
#include "common/delivery_round.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace walcast::broadcast {

/// Wire formats a Hub distinguishes (indices 0 … max_formats-1).
inline constexpr std::size_t max_formats = 4;

/// One encoded message: a WebSocket text or binary frame's payload, shared.
struct Frame {
    bool binary = false;
    std::shared_ptr<const std::string> bytes;
};

/// A message on its way to a topic's members. The encoder runs at most once per format, on the
/// publishing thread; nullopt = not deliverable in that format (a binary payload to a JSON-only
/// client), and the member is skipped. Not thread-safe: one publish at a time.
class Message {
public:
    using Encoder = std::function<std::optional<Frame>(std::size_t format)>;
    explicit Message(Encoder encoder) : encoder_(std::move(encoder)) {}

    /// The frame for format (< max_formats), encoded on first use.
    const std::optional<Frame>& frame(std::size_t format);
    /// How many formats were encoded so far (for tests and metrics).
    std::size_t encodings() const { return encodings_; }

    /// What the message is, in the publisher's terms (Phoenix: broadcast or presence), for
    /// members that receive only some kinds (private channels' read permissions).
    std::uint8_t kind = 0;
    /// The tenant counter its deliveries count against (null: none). The Hub adds the
    /// number of deliveries after the round; members ask over() to shut themselves down.
    RateCounter* rate = nullptr;
    /// The message's id when it has one (database messages: the realtime.messages row id),
    /// for members that already received it by replay.
    std::string id;

private:
    Encoder encoder_;
    std::array<std::optional<Frame>, max_formats> frames_;
    std::array<bool, max_formats> done_{};
    std::size_t encodings_ = 0;
};

/// A receiver of a topic's messages (a channel of a connection).
class Member {
public:
    virtual ~Member() = default;
    /// The member's wire format (< max_formats); constant for its lifetime.
    virtual std::size_t format() const = 0;
    /// Queue frame (msg's frame in this member's format) into the round (publishing thread;
    /// must not block or call the Hub). Returns false when the member skipped it (not counted).
    virtual bool deliver(const Frame& frame, const Message& msg, DeliveryRound& round) = 0;
};

/// Topic → members. Thread-safe; the member lists are copy-on-write, so a publish holds the
/// lock only to take the current list and delivers outside it. Topics are opaque keys: the
/// caller puts namespaces (public / private) into them.
class Hub {
public:
    /// Adds m to topic (a member joins a topic at most once). Any thread.
    void join(const std::string& topic, std::shared_ptr<Member> m);
    /// Removes m from topic; no-op if absent. After it returns no new publish reaches m (one
    /// running concurrently still may). Any thread.
    void leave(const std::string& topic, const Member* m);
    /// Delivers msg to every member of topic except `except` (null: all), in join order, in one
    /// DeliveryRound on the calling thread. Returns the number of members it was delivered to;
    /// that many events are added to msg.rate when set.
    std::size_t publish(const std::string& topic, Message& msg, const Member* except);
    /// Members of topic now. Any thread.
    std::size_t members(const std::string& topic) const;

private:
    using List = std::vector<std::shared_ptr<Member>>;
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<const List>> topics_;
};

} // namespace walcast::broadcast
