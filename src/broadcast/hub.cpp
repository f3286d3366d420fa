#include "broadcast/hub.hpp"

#include <algorithm>

namespace walcast::broadcast {

const std::optional<Frame>& Message::frame(std::size_t format) {
    if (!done_[format]) {
        done_[format] = true;
        frames_[format] = encoder_(format);
        ++encodings_;
    }
    return frames_[format];
}

void Hub::join(const std::string& topic, std::shared_ptr<Member> m) {
    std::lock_guard lock(mu_);
    auto& cur = topics_[topic];
    auto next = cur ? std::make_shared<List>(*cur) : std::make_shared<List>();
    next->push_back(std::move(m));
    cur = std::move(next);
}

void Hub::leave(const std::string& topic, const Member* m) {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return;
    const List& cur = *it->second;
    auto pos = std::find_if(cur.begin(), cur.end(), [m](const auto& p) { return p.get() == m; });
    if (pos == cur.end()) return;
    if (cur.size() == 1) {
        topics_.erase(it);
        return;
    }
    auto next = std::make_shared<List>();
    next->reserve(cur.size() - 1);
    for (const auto& p : cur)
        if (p.get() != m) next->push_back(p);
    it->second = std::move(next);
}

std::size_t Hub::publish(const std::string& topic, Message& msg, const Member* except) {
    std::shared_ptr<const List> list;
    {
        std::lock_guard lock(mu_);
        auto it = topics_.find(topic);
        if (it == topics_.end()) return 0;
        list = it->second;
    }
    std::size_t n = 0;
    DeliveryRound round;
    for (const auto& m : *list) {
        if (m.get() == except) continue;
        const auto& f = msg.frame(m->format());
        if (!f) continue;
        if (m->deliver(*f, msg, round)) ++n;
    }
    round.close();
    if (msg.rate && n > 0) msg.rate->add(n);
    return n;
}

std::size_t Hub::members(const std::string& topic) const {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    return it == topics_.end() ? 0 : it->second->size();
}

} // namespace walcast::broadcast
