#include "app/auto_source.hpp"

#include "capture/trigger/trigger_source.hpp"
#include "common/logging.hpp"
#include "pg/lsn.hpp"

namespace walcast::app {

AutoSource::AutoSource(pg::ConnectParams params,
                       std::function<std::unique_ptr<capture::Source>(const std::string&)> make,
                       bool fatal)
    : params_(std::move(params)), make_(std::move(make)), fatal_(fatal) {}

AutoSource::~AutoSource() {
    stop();
}

capture::Source* AutoSource::inner() const {
    return inner_ptr_.load(std::memory_order_acquire);
}

std::string_view AutoSource::kind() const {
    auto* s = inner();
    return s ? s->kind() : std::string_view("auto");
}

void AutoSource::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void AutoSource::run() {
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (stopping_) return;
        }
        auto conn = pg::Connection::connect(params_);
        Result<capture::CaptureChoice> chosen = make_error(Errc::Unavailable, "no connection");
        if (!conn) {
            chosen = std::move(conn).error();
        } else {
            auto support = capture::probe_capture(*conn);
            if (!support)
                chosen = std::move(support).error();
            else
                chosen = capture::choose_capture("auto", *support);
        }
        if (chosen) {
            auto source = make_(chosen->mode);
            std::unique_lock lock(mutex_);
            if (stopping_) return;
            log::info("capture: {} ({})", chosen->mode, chosen->reason);
            choice_ = *chosen;
            inner_ = std::move(source);
            inner_ptr_.store(inner_.get(), std::memory_order_release);
            inner_->start();
            cv_.notify_all();
            return;
        }
        std::unique_lock lock(mutex_);
        waiting_for_ = "CAPTURE=auto could not check the database yet: " + chosen.error().message;
        if (chosen.error().code == Errc::Config) {
            waiting_for_ = chosen.error().message;
            if (fatal_) {
                failed_ = true;
                log::error("{}", waiting_for_);
                cv_.notify_all();
                return;
            }
        }
        log::warn("{}; retrying in {} ms", waiting_for_, backoff.count());
        if (cv_.wait_for(lock, backoff, [this] { return stopping_; })) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
}

void AutoSource::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (auto* s = inner()) s->stop();
}

void AutoSource::confirm(capture::Position end) {
    if (auto* s = inner()) s->confirm(end);
}

capture::SourceHealth AutoSource::health() const {
    if (auto* s = inner()) return s->health();
    std::lock_guard lock(mutex_);
    capture::SourceHealth h;
    h.reason = waiting_for_;
    h.finished = failed_ || stopping_;
    h.fatal = failed_;
    return h;
}

capture::SourceStats AutoSource::stats() const {
    if (auto* s = inner()) return s->stats();
    return {};
}

std::string AutoSource::format_position(capture::Position p) const {
    if (auto* s = inner()) return s->format_position(p);
    return std::to_string(p.value);
}

std::optional<capture::Position> AutoSource::parse_position(std::string_view text) const {
    if (auto* s = inner()) return s->parse_position(text);
    // Before the choice (tail --until-lsn is parsed before start): by its syntax — an LSN
    // ("16/B374D848") for logical, "batch.ordinal" for trigger.
    if (text.find('/') != std::string_view::npos) {
        if (auto lsn = pg::Lsn::parse(text)) return capture::Position{lsn->value};
        return std::nullopt;
    }
    return capture::trigger::TriggerSource::parse_position_text(text);
}

std::optional<capture::CaptureChoice> AutoSource::choice() const {
    std::lock_guard lock(mutex_);
    return choice_;
}

std::optional<capture::CaptureChoice>
AutoSource::wait_choice(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return choice_.has_value() || failed_ || stopping_; });
    return choice_;
}

} // namespace walcast::app
