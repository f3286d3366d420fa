#include "core/subscription/channel_registry.hpp"

#include "common/json_writer.hpp"
#include "common/logging.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace walcast::core {

std::string ChannelRecord::key() const {
    std::string k = topic;
    k += '\0';
    for (auto id : binding_ids)
        k += std::to_string(id) + ",";
    k += '\0';
    k += role;
    k += '\0';
    k += sub;
    return k;
}

ChannelRecord ChannelRecord::of(const Subscription& s) {
    ChannelRecord r;
    r.topic = s.topic();
    for (const auto& b : s.bindings()) {
        r.binding_ids.push_back(b.id);
        r.tables.push_back(b.spec.schema + "." + b.spec.table);
    }
    if (auto id = s.identity()) {
        r.role = id->role;
        boost::system::error_code ec;
        auto claims = boost::json::parse(id->claims_json, ec);
        if (!ec && claims.is_object())
            if (const auto* sub = claims.as_object().if_contains("sub"); sub && sub->is_string())
                r.sub = std::string(sub->as_string());
    }
    return r;
}

namespace {

std::string render(const std::vector<const ChannelRecord*>& records) {
    std::string out = "[";
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& r = *records[i];
        if (i) out += ",\n ";
        out += "{\"topic\":";
        json::append_string(out, r.topic);
        out += ",\"binding_ids\":[";
        for (std::size_t k = 0; k < r.binding_ids.size(); ++k)
            out += (k ? "," : "") + std::to_string(r.binding_ids[k]);
        out += "],\"tables\":[";
        for (std::size_t k = 0; k < r.tables.size(); ++k) {
            if (k) out += ',';
            json::append_string(out, r.tables[k]);
        }
        out += "],\"role\":";
        json::append_string(out, r.role);
        out += ",\"sub\":";
        json::append_string(out, r.sub);
        out += '}';
    }
    out += "]\n";
    return out;
}

Error io_error(const std::string& what, const std::filesystem::path& p) {
    return make_error(Errc::Config, what + " " + p.string() + ": " + std::strerror(errno) +
                                        " (STATE_DIR must be a writable directory)");
}

} // namespace

ChannelRegistry::ChannelRegistry(std::filesystem::path path, std::chrono::milliseconds interval)
    : path_(std::move(path)), interval_(interval) {}

ChannelRegistry::~ChannelRegistry() {
    freeze();
}

Result<std::vector<ChannelRecord>> ChannelRegistry::load() const {
    std::vector<ChannelRecord> out;
    std::ifstream in(path_);
    if (!in) return out; // first run
    std::stringstream ss;
    ss << in.rdbuf();
    boost::system::error_code ec;
    auto v = boost::json::parse(ss.str(), ec);
    if (ec || !v.is_array())
        return make_error(Errc::InvalidInput,
                          "the channel registry " + path_.string() +
                              " is not a JSON array (remove it to start without resuming)");
    for (const auto& e : v.as_array()) {
        if (!e.is_object()) continue;
        const auto& o = e.as_object();
        ChannelRecord r;
        auto str = [&](const char* k) {
            const auto* x = o.if_contains(k);
            return x && x->is_string() ? std::string(x->as_string()) : std::string();
        };
        r.topic = str("topic");
        r.role = str("role");
        r.sub = str("sub");
        if (const auto* ids = o.if_contains("binding_ids"); ids && ids->is_array())
            for (const auto& id : ids->as_array())
                if (id.is_int64()) r.binding_ids.push_back(id.as_int64());
        if (const auto* t = o.if_contains("tables"); t && t->is_array())
            for (const auto& x : t->as_array())
                if (x.is_string()) r.tables.emplace_back(x.as_string());
        if (!r.topic.empty()) out.push_back(std::move(r));
    }
    return out;
}

Status ChannelRegistry::write(const std::string& text) const {
    const auto tmp = std::filesystem::path(path_.string() + ".tmp");
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("cannot write the channel registry", tmp);
    std::size_t off = 0;
    while (off < text.size()) {
        auto n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            return io_error("cannot write the channel registry", tmp);
        }
        off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        ::close(fd);
        return io_error("cannot fsync the channel registry", tmp);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path_.c_str()) != 0)
        return io_error("cannot rename the channel registry to", path_);
    if (int dir = ::open(path_.parent_path().empty() ? "." : path_.parent_path().c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dir >= 0) {
        (void)::fsync(dir);
        ::close(dir);
    }
    return {};
}

void ChannelRegistry::start() {
    std::error_code ec;
    if (!path_.parent_path().empty()) std::filesystem::create_directories(path_.parent_path(), ec);
    writer_ = std::thread([this] { writer_loop(); });
}

void ChannelRegistry::writer_loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return dirty_ || stopping_; });
        if (!dirty_ && stopping_) return;
        // Coalesce a burst of joins into one write.
        if (!stopping_) cv_.wait_for(lock, interval_, [this] { return stopping_; });
        std::vector<const ChannelRecord*> records;
        for (const auto& [id, r] : live_)
            records.push_back(&r);
        std::string text = render(records);
        dirty_ = false;
        lock.unlock();
        if (auto st = write(text); !st)
            log::warn("{}; channels will not be resumed after a restart", st.error().message);
        lock.lock();
        if (stopping_ && !dirty_) return;
    }
}

void ChannelRegistry::freeze() {
    {
        std::lock_guard lock(mu_);
        if (frozen_) return;
        frozen_ = true;
        stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
}

void ChannelRegistry::on_added(const Subscription& s) {
    auto r = ChannelRecord::of(s);
    {
        std::lock_guard lock(mu_);
        if (frozen_) return;
        live_[s.id()] = std::move(r);
        dirty_ = true;
    }
    cv_.notify_all();
}

void ChannelRegistry::on_removed(const Subscription& s) {
    {
        std::lock_guard lock(mu_);
        if (frozen_) return;
        if (live_.erase(s.id()) == 0) return;
        dirty_ = true;
    }
    cv_.notify_all();
}

ResumeGate::ResumeGate(std::vector<ChannelRecord> expected, std::chrono::milliseconds grace)
    : deadline_(std::chrono::steady_clock::now() + grace) {
    for (auto& r : expected) {
        auto k = r.key();
        awaited_.emplace(std::move(k), std::move(r));
    }
    released_ = awaited_.empty();
}

void ResumeGate::on_added(const Subscription& s) {
    {
        std::lock_guard lock(mu_);
        if (released_) return;
        auto it = awaited_.find(ChannelRecord::of(s).key());
        if (it == awaited_.end()) return;
        awaited_.erase(it);
    }
    cv_.notify_all();
}

std::optional<std::vector<ChannelRecord>> ResumeGate::wait() {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline_, [this] { return awaited_.empty() || cancelled_; });
    released_ = true;
    if (cancelled_) return std::nullopt;
    std::vector<ChannelRecord> missed;
    for (auto& [k, r] : awaited_)
        missed.push_back(std::move(r));
    awaited_.clear();
    return missed;
}

void ResumeGate::cancel() {
    {
        std::lock_guard lock(mu_);
        cancelled_ = true;
    }
    cv_.notify_all();
}

std::size_t ResumeGate::awaited() const {
    std::lock_guard lock(mu_);
    return awaited_.size();
}

bool ResumeGate::released() const {
    std::lock_guard lock(mu_);
    return released_;
}

} // namespace walcast::core
