#include "protocol/phoenix/channel_permissions.hpp"

#include "common/logging.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>

namespace walcast::protocol::phoenix {

namespace {
constexpr std::string_view attachment_name = "permissions";
}

std::string channel_subtopic(const ChannelHandle& ch) {
    constexpr std::string_view prefix = "realtime:";
    std::string_view t = ch.topic();
    if (t.starts_with(prefix)) t.remove_prefix(prefix.size());
    return std::string(t);
}

broadcast::TopicAuthContext topic_auth_context(const ChannelHandle& ch) {
    broadcast::TopicAuthContext ctx;
    ctx.topic = channel_subtopic(ch);
    if (const auto& c = ch.claims()) {
        ctx.role = c->role;
        ctx.claims_json = c->json;
        ctx.sub = c->sub;
    }
    ctx.headers_json = ch.request_headers_json();
    return ctx;
}

std::string request_headers_json(const HeaderWalk& walk, bool x_only) {
    boost::json::object headers;
    if (walk)
        walk([&](std::string_view name, std::string_view value) {
            std::string lower(name);
            for (char& c : lower)
                c = char(std::tolower(static_cast<unsigned char>(c)));
            if (x_only && !lower.starts_with("x-")) return;
            headers[lower] = value;
        });
    return boost::json::serialize(headers);
}

std::shared_ptr<ChannelPermissions> ChannelPermissions::of(ChannelHandle& ch,
                                                           broadcast::TopicPolicies* policies) {
    auto& slot = ch.attachment(attachment_name);
    if (!slot) slot = std::make_shared<ChannelPermissions>(ch, policies);
    return std::static_pointer_cast<ChannelPermissions>(slot);
}

ChannelPermissions::ChannelPermissions(ChannelHandle& ch, broadcast::TopicPolicies* policies)
    : private_(ch.config().is_private), policies_(private_ ? policies : nullptr), ch_(&ch),
      io_(ch.io()) {
    if (!private_) {
        broadcast_read = broadcast_write = presence_read = presence_write = true;
    } else {
        deliver_broadcast_ = false;
        deliver_presence_ = false;
    }
}

void ChannelPermissions::set_gates() {
    deliver_broadcast_.store(broadcast_read.value_or(false), std::memory_order_release);
    deliver_presence_.store(presence_read.value_or(false), std::memory_order_release);
}

void ChannelPermissions::evaluate_reads(bool presence, bool broadcast_too,
                                        std::function<void(std::optional<CheckFailure>)> then) {
    if (closed_) return;
    if (!policies_) {
        if (!private_) return then(std::nullopt);
        return then(CheckFailure{broadcast::PolicyFailure::Unavailable,
                                 "no database to check private channel policies"});
    }
    policies_->check_read(
        topic_auth_context(*ch_), presence,
        [weak = weak_from_this(), io = io_, epoch = epoch_, presence, broadcast_too,
         then = std::move(then)](broadcast::PolicyOutcome<broadcast::ReadVerdict> out) mutable {
            auto conn = io.lock();
            if (!conn) return;
            conn->post([weak, epoch, presence, broadcast_too, then = std::move(then),
                        out = std::move(out)]() mutable {
                auto self = weak.lock();
                if (!self || self->closed_ || epoch != self->epoch_) return;
                if (!out.verdict) return then(CheckFailure{out.failure, std::move(out.error)});
                if (broadcast_too) self->broadcast_read = out.verdict->broadcast;
                if (presence) self->presence_read = out.verdict->presence;
                self->set_gates();
                then(std::nullopt);
            });
        });
}

bool ChannelPermissions::when_writes_known(std::function<void()> then) {
    if (closed_) return false;
    if (broadcast_write && presence_write) {
        then();
        return true;
    }
    if (write_waiters_.size() >= max_waiting) return false;
    write_waiters_.push_back(std::move(then));
    if (write_in_flight_) return true;
    if (!policies_) {
        // Nothing to ask: every waiter sees the writes unevaluated (= not allowed).
        auto waiters = std::move(write_waiters_);
        write_waiters_.clear();
        for (auto& w : waiters)
            if (!closed_) w();
        return true;
    }
    write_in_flight_ = true;
    policies_->check_write(topic_auth_context(*ch_),
                           [weak = weak_from_this(), io = io_,
                            epoch = epoch_](broadcast::PolicyOutcome<broadcast::WriteVerdict> out) {
                               auto conn = io.lock();
                               if (!conn) return;
                               conn->post([weak, epoch, out = std::move(out)] {
                                   auto self = weak.lock();
                                   if (!self || self->closed_) return;
                                   self->write_in_flight_ = false;
                                   if (epoch != self->epoch_) {
                                       // A refresh came in between: ask again for the new token.
                                       if (self->write_waiters_.empty()) return;
                                       auto waiters = std::move(self->write_waiters_);
                                       self->write_waiters_.clear();
                                       for (auto& w : waiters)
                                           if (!self->when_writes_known(std::move(w))) break;
                                       return;
                                   }
                                   if (out.verdict) {
                                       self->broadcast_write = out.verdict->broadcast;
                                       self->presence_write = out.verdict->presence;
                                   } else {
                                       log::info("private channel {}: the write check failed: {}",
                                                 channel_subtopic(*self->ch_), out.error);
                                   }
                                   auto waiters = std::move(self->write_waiters_);
                                   self->write_waiters_.clear();
                                   for (auto& w : waiters) {
                                       if (self->closed_) return;
                                       w();
                                   }
                               });
                           });
    return true;
}

void ChannelPermissions::reset() {
    if (!private_) return;
    ++epoch_;
    broadcast_read.reset();
    broadcast_write.reset();
    presence_read.reset();
    presence_write.reset();
}

void ChannelPermissions::close() {
    closed_ = true;
    write_waiters_.clear();
    deliver_broadcast_ = false;
    deliver_presence_ = false;
}

} // namespace walcast::protocol::phoenix
