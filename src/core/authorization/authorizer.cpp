#include "core/authorization/authorizer.hpp"

#include "core/authorization/log_redaction.hpp"

#include "common/logging.hpp"

#include <algorithm>
#include <optional>

namespace walcast::core {

namespace {

/// The row version a change's check decides: its new row (INSERT/UPDATE), or for a DELETE its
/// old row (routed here only under REPLICA IDENTITY FULL, when the checker decides versions).
RowVersion version_of(const ChangePayloads& p) {
    const capture::Change& c = p.change();
    RowVersion v;
    v.relation = c.relation.get();
    const pg::Tuple* full_old = c.old_is_full && c.old_tuple ? &*c.old_tuple : nullptr;
    if (c.kind == capture::ChangeKind::Delete) {
        v.values = full_old;
    } else {
        v.values = c.new_tuple ? &*c.new_tuple : nullptr;
        v.unchanged_from = full_old;
    }
    v.txn = &c.txn;
    return v;
}

/// The version before an UPDATE under REPLICA IDENTITY FULL: whether the subscriber may be
/// shown old_record. Null when the change has none.
std::optional<RowVersion> old_version_of(const ChangePayloads& p) {
    const capture::Change& c = p.change();
    if (c.kind != capture::ChangeKind::Update || !c.old_is_full || !c.old_tuple) return {};
    RowVersion v;
    v.relation = c.relation.get();
    v.values = &*c.old_tuple;
    v.txn = &c.txn;
    return v;
}

} // namespace

/// One identity's items taken by a worker, and the request deciding them.
struct Authorizer::Batch {
    std::string key;
    IdentityPtr identity;
    std::vector<AuthWork> items;
    /// Distinct changes in order of first appearance; request.rows[decides[i]] is the row
    /// deciding changes[i], request.rows[old[i]] (when old[i] >= 0) its version before an
    /// UPDATE.
    std::vector<const ChangePayloads*> changes;
    std::vector<std::size_t> decides;
    std::vector<std::ptrdiff_t> old;
    RowCheckRequest request;

    /// old_versions: also decide each UPDATE's version before (REPLICA IDENTITY FULL).
    void prepare(bool old_versions) {
        std::unordered_map<const ChangePayloads*, std::size_t> index;
        for (const auto& w : items)
            if (index.emplace(w.payloads.get(), changes.size()).second)
                changes.push_back(w.payloads.get());
        request.identity = identity;
        request.rows.clear();
        for (const auto* c : changes) {
            decides.push_back(request.rows.size());
            request.rows.push_back(version_of(*c));
            auto before = old_versions ? old_version_of(*c) : std::nullopt;
            old.push_back(before ? static_cast<std::ptrdiff_t>(request.rows.size()) : -1);
            if (before) request.rows.push_back(*before);
        }
        request.verdicts.assign(request.rows.size(), RowVerdict::Failed);
    }

    RowVerdict verdict(std::size_t row) const {
        return row < request.verdicts.size() ? request.verdicts[row] : RowVerdict::Failed;
    }
};

Authorizer::Authorizer(AuthorizerOptions options, RowCheckerFactory make_checker,
                       std::function<void(std::uint64_t)> finished, MetricsRegistry& metrics)
    : options_(options), make_checker_(std::move(make_checker)), finished_(std::move(finished)),
      rows_checked_(metrics.counter("walcast_rls_rows_checked_total",
                                    "distinct (identity, change) pairs checked")),
      check_errors_(metrics.counter("walcast_rls_check_errors_total",
                                    "deliveries sent as error rows because their check failed")),
      visible_(metrics.counter("walcast_rls_visible_total", "deliveries allowed by RLS")),
      hidden_(metrics.counter("walcast_rls_hidden_total", "deliveries withheld by RLS")),
      submit_waits_(metrics.counter("walcast_rls_submit_waits_total",
                                    "times the router waited for room in the full RLS queue "
                                    "(back-pressure on the capture source)")),
      batch_changes_(metrics.histogram("walcast_rls_batch_changes",
                                       "distinct changes per identity batch",
                                       {1, 2, 4, 8, 16, 32, 64, 128, 256})) {
    metrics.gauge_callback("walcast_rls_pending",
                           "deliveries waiting for a row-level security check",
                           [this] { return static_cast<double>(pending()); });
}

Authorizer::~Authorizer() {
    stop();
}

void Authorizer::start() {
    for (unsigned i = 0; i < options_.workers; ++i)
        workers_.emplace_back([this, i] { worker_loop(i); });
}

void Authorizer::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    work_cv_.notify_all();
    space_cv_.notify_all();
    for (auto& t : workers_)
        t.join();
    workers_.clear();
}

std::size_t Authorizer::pending() const {
    std::lock_guard lock(mu_);
    return pending_;
}

void Authorizer::submit(std::vector<std::pair<IdentityPtr, AuthWork>>& work) {
    if (work.empty()) return;
    std::unique_lock lock(mu_);
    const auto has_room = [&] { return pending_ < options_.max_pending || stopping_; };
    if (!has_room()) {
        submit_waits_.inc();
        space_cv_.wait(lock, has_room);
    }
    pending_ += work.size();
    std::size_t became_ready = 0;
    for (auto& [identity, w] : work) {
        if (options_.strategy == RlsStrategy::PerSubscriber) {
            fifo_.emplace_back(identity, std::move(w));
            continue;
        }
        auto& q = queues_[identity->key];
        if (!q.identity) q.identity = identity;
        q.items.push_back(std::move(w));
        if (!q.running && q.items.size() == 1) {
            ready_.push_back(identity->key);
            ++became_ready;
        }
    }
    work.clear();
    lock.unlock();
    if (options_.strategy == RlsStrategy::PerSubscriber || became_ready > 1) {
        work_cv_.notify_all();
    } else if (became_ready == 1) {
        work_cv_.notify_one();
    }
}

void Authorizer::finish(AuthWork& work, RowVerdict verdict, DeliveryRound& round,
                        bool old_record_hidden) {
    const PayloadFormat& format = work.subscription->format();
    switch (verdict) {
    case RowVerdict::Visible: {
        visible_.inc();
        PayloadVariant pv = work.variant;
        pv.old_record_omitted = old_record_hidden;
        work.subscription->complete(work.slot, work.payloads->get(pv, format), std::move(work.ids),
                                    round);
        break;
    }
    case RowVerdict::Hidden:
        hidden_.inc();
        work.subscription->skip(work.slot, round);
        break;
    case RowVerdict::Failed: {
        check_errors_.inc();
        PayloadVariant pv = work.variant;
        pv.error = ErrorRow::CheckFailed;
        work.subscription->complete(work.slot, work.payloads->get(pv, format), std::move(work.ids),
                                    round);
        break;
    }
    }
    if (finished_) finished_(work.ticket);
}

void Authorizer::worker_loop(unsigned index) {
    std::unique_ptr<RowChecker> checker = make_checker_(index);
    DeliveryRound round; // this worker's: closed after each batch
    if (options_.strategy == RlsStrategy::PerSubscriber) {
        for (;;) {
            std::vector<AuthWork> batch;
            {
                std::unique_lock lock(mu_);
                work_cv_.wait(lock, [&] { return stopping_ || !fifo_.empty(); });
                if (stopping_) return;
                // Every subscriber's check of one change, as the reference runs them.
                const ChangePayloads* change = fifo_.front().second.payloads.get();
                while (!fifo_.empty() && fifo_.front().second.payloads.get() == change) {
                    batch.push_back(std::move(fifo_.front().second));
                    fifo_.pop_front();
                }
            }
            check_per_subscriber(*checker, batch, round);
            round.close(); // this batch's deliveries go out now
            std::lock_guard lock(mu_);
            pending_ -= batch.size();
            space_cv_.notify_all();
        }
    }
    for (;;) {
        std::vector<Batch> batches;
        {
            std::unique_lock lock(mu_);
            work_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
            if (stopping_) return;
            // Several ready identities share one round; each identity's work stays with this
            // worker until done, so its order holds.
            while (!ready_.empty() && batches.size() < options_.max_batch_identities) {
                Batch b;
                b.key = std::move(ready_.front());
                ready_.pop_front();
                auto& q = queues_[b.key];
                q.running = true;
                b.identity = q.identity;
                // Consecutive items up to max_batch_changes distinct changes.
                const ChangePayloads* last = nullptr;
                std::size_t distinct = 0;
                while (!q.items.empty()) {
                    const ChangePayloads* p = q.items.front().payloads.get();
                    if (p != last) {
                        if (distinct == options_.max_batch_changes) break;
                        ++distinct;
                        last = p;
                    }
                    b.items.push_back(std::move(q.items.front()));
                    q.items.pop_front();
                }
                batches.push_back(std::move(b));
            }
        }

        check(*checker, batches, round);
        round.close(); // this round's deliveries go out now

        std::lock_guard lock(mu_);
        for (auto& b : batches) {
            pending_ -= b.items.size();
            auto& q = queues_[b.key];
            q.running = false;
            if (!q.items.empty()) {
                ready_.push_back(b.key);
                work_cv_.notify_one();
            } else {
                queues_.erase(b.key);
            }
        }
        space_cv_.notify_all();
    }
}

void Authorizer::check(RowChecker& checker, std::vector<Batch>& batches, DeliveryRound& round) {
    std::vector<RowCheckRequest*> all;
    for (auto& b : batches) {
        b.prepare(options_.old_versions);
        batch_changes_.observe(static_cast<double>(b.changes.size()));
        rows_checked_.inc(b.changes.size());
        all.push_back(&b.request);
    }
    using Status = RowChecker::Status;
    auto o = checker.check(all);
    if (o.status == Status::Failed) {
        // One identity's policy may raise: check identities alone, then a failing identity's
        // rows one by one, so that only the failing rows become error rows. (A timeout or a
        // lost connection is not retried: it would only multiply the wait.)
        for (auto* req : all) {
            RowCheckRequest* one[] = {req};
            auto alone = all.size() > 1 ? checker.check(one) : o;
            if (alone.status == Status::Ok) continue;
            if (alone.status != Status::Failed) {
                log::warn("row-level security check for role {} failed: {}", req->identity->role,
                          redact_claims(alone.error, *req->identity));
                std::fill(req->verdicts.begin(), req->verdicts.end(), RowVerdict::Failed);
                continue;
            }
            log::warn("row-level security check for role {} failed ({}); checking rows singly",
                      req->identity->role, redact_claims(alone.error, *req->identity));
            std::vector<RowVerdict> verdicts(req->rows.size(), RowVerdict::Failed);
            for (std::size_t i = 0; i < req->rows.size(); ++i) {
                RowCheckRequest single{req->identity, {req->rows[i]}, {}};
                RowCheckRequest* s[] = {&single};
                auto r = checker.check(s);
                if (r.status == Status::Ok) {
                    verdicts[i] = single.verdicts.front();
                } else {
                    log::warn("row-level security check for role {} on {}.{} failed: {}",
                              req->identity->role, req->rows[i].relation->schema,
                              req->rows[i].relation->table, redact_claims(r.error, *req->identity));
                }
            }
            req->verdicts = std::move(verdicts);
        }
    } else if (o.status == Status::TimedOut) {
        log::warn("row-level security check failed: {}", o.error);
    } else if (o.status == Status::Unreachable) {
        log::error("{}; sending error rows", o.error);
    }
    if (o.status == Status::TimedOut || o.status == Status::Unreachable)
        for (auto* req : all)
            std::fill(req->verdicts.begin(), req->verdicts.end(), RowVerdict::Failed);

    for (auto& b : batches) {
        std::unordered_map<const ChangePayloads*, std::size_t> index;
        for (std::size_t i = 0; i < b.changes.size(); ++i)
            index.emplace(b.changes[i], i);
        for (auto& w : b.items) {
            auto it = index.find(w.payloads.get());
            if (it == index.end()) {
                finish(w, RowVerdict::Failed, round);
                continue;
            }
            const std::size_t i = it->second;
            // The version before an UPDATE is shown only to who could see it (an error counts
            // as not seen).
            const bool old_hidden =
                b.old[i] >= 0 &&
                b.verdict(static_cast<std::size_t>(b.old[i])) != RowVerdict::Visible;
            finish(w, b.verdict(b.decides[i]), round, old_hidden);
        }
    }
}

void Authorizer::check_per_subscriber(RowChecker& checker, std::vector<AuthWork>& batch,
                                      DeliveryRound& round) {
    // One round per change; inside it, per subscriber: its role and claims, then one EXISTS
    // (the checker's ExistsPerRow) — the reference's apply_rls loop. No narrowing: what the
    // statements before a failing one decided stands, the rest are error rows.
    std::vector<RowCheckRequest> requests(batch.size());
    std::vector<RowCheckRequest*> all;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        requests[i].identity = batch[i].subscription->identity();
        requests[i].rows = {version_of(*batch[i].payloads)};
        all.push_back(&requests[i]);
    }
    rows_checked_.inc(batch.size());
    auto o = checker.check(all);
    if (o.status != RowChecker::Status::Ok)
        log::warn("row-level security check failed: {}", o.error);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const bool decided =
            o.status == RowChecker::Status::Ok || o.status == RowChecker::Status::Failed;
        const RowVerdict v = decided && !requests[i].verdicts.empty() ? requests[i].verdicts.front()
                                                                      : RowVerdict::Failed;
        finish(batch[i], v, round);
    }
}

} // namespace walcast::core
