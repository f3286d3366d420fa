// `walcast tail`: every change of the publication as one JSON line on stdout — the quickest way
// to see what walcast sees. Keys: type, schema, table, commit_timestamp, commit_lsn, columns,
// record (INSERT/UPDATE), old_record (UPDATE/DELETE); columns also carry type_oid and
// primary_key. TRUNCATE prints one line per truncated table.
#include "app/connect_params.hpp"
#include "app/source_factory.hpp"
#include "capture/change_json.hpp"
#include "cli/command.hpp"
#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"

#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <signal.h>
#include <unordered_map>

namespace walcast::cli {

namespace {

struct TailOptions {
    std::string slot; ///< --slot: a permanent slot to read; empty = a temporary one
    std::string schema;
    std::string table;
    std::string until_lsn;
    std::uint64_t max_changes = 0;
};

// Prints changes on the capture thread; flushes stdout at each commit, then confirms it.
class TailSink : public capture::ChangeSink {
public:
    explicit TailSink(const TailOptions& options) : options_(options) {}

    void attach(capture::Source* source) { source_ = source; }
    /// Before the source starts.
    void set_until(std::optional<capture::Position> until) { until_ = until; }
    bool done() const { return done_.load(std::memory_order_acquire); }
    bool write_failed() const { return write_errno_.load() != 0; }
    int write_errno() const { return write_errno_.load(); }
    /// Lines printed; read after the source has stopped.
    std::uint64_t printed() const { return printed_; }

    void on_relation(const capture::RelationPtr& relation) override {
        for (auto it = relation_parts_.begin(); it != relation_parts_.end();)
            it = it->first->oid == relation->oid ? relation_parts_.erase(it) : std::next(it);
        relations_[relation->oid] = relation;
    }

    void on_begin(const capture::TransactionInfo& txn) override {
        // Transactions committed at or after --until-lsn are not printed.
        if (until_ && txn.commit_position >= *until_) finish();
    }

    void on_change(const capture::ChangePtr& change) override {
        if (done()) return;
        if (change->kind == capture::ChangeKind::Truncate) {
            for (const auto& rel : change->truncated)
                print(*change, *rel);
        } else {
            print(*change, *change->relation);
        }
    }

    void on_commit(const capture::TransactionInfo&, capture::Position end) override {
        if (std::fflush(stdout) != 0) {
            fail(errno);
            return;
        }
        if (done()) return;
        if (source_) source_->confirm(end);
        if (until_ && end >= *until_) finish();
    }

private:
    bool wanted(const capture::Relation& rel) const {
        return (options_.schema.empty() || rel.schema == options_.schema) &&
               (options_.table.empty() || rel.table == options_.table);
    }

    // The parts of a line that only depend on the relation ("schema", "table", "columns"),
    // rendered once per relation version: most of a line's cost otherwise.
    struct RelationPart {
        std::string head;    ///< ,"schema":…,"table":…,
        std::string columns; ///< "columns":[…]
    };
    const RelationPart& relation_part(const capture::Relation& rel) {
        auto it = relation_parts_.find(&rel);
        if (it != relation_parts_.end()) return it->second;
        std::string head = ",\"schema\":";
        json::append_string(head, rel.schema);
        head += ",\"table\":";
        json::append_string(head, rel.table);
        head += ',';
        std::string columns = "\"columns\":[";
        for (std::size_t i = 0; i < rel.columns.size(); ++i) {
            const auto& c = rel.columns[i];
            if (i) columns += ',';
            columns += "{\"name\":";
            json::append_string(columns, c.name);
            columns += ",\"type\":";
            json::append_string(columns, c.type.name);
            columns += ",\"type_oid\":";
            json::append_uint(columns, c.type.oid);
            columns += c.is_primary_key ? ",\"primary_key\":true}" : ",\"primary_key\":false}";
        }
        columns += ']';
        return relation_parts_.emplace(&rel, RelationPart{std::move(head), std::move(columns)})
            .first->second;
    }

    void print(const capture::Change& change, const capture::Relation& rel) {
        if (!wanted(rel) || done()) return;
        if (change.txn.commit_position != txn_part_position_ || txn_part_.empty()) {
            txn_part_ = "\"commit_timestamp\":\"";
            append_commit_timestamp(txn_part_, change.txn.commit_time_pg_us);
            txn_part_ += "\",\"commit_lsn\":\"";
            txn_part_ += source_->format_position(change.txn.commit_position);
            txn_part_ += "\",";
            txn_part_position_ = change.txn.commit_position;
        }
        const RelationPart& part = relation_part(rel);
        line_.clear();
        line_ += "{\"type\":\"";
        line_ += capture::to_string(change.kind);
        line_ += '"';
        line_ += part.head;
        line_ += txn_part_;
        line_ += part.columns;
        if (change.kind == capture::ChangeKind::Insert ||
            change.kind == capture::ChangeKind::Update) {
            line_ += ",\"record\":";
            capture::append_new_record_json(line_, change, nullptr, 0);
        }
        if (change.kind == capture::ChangeKind::Update ||
            change.kind == capture::ChangeKind::Delete) {
            line_ += ",\"old_record\":";
            capture::append_old_record_json(line_, change, nullptr, 0);
        }
        line_ += "}\n";
        if (std::fwrite(line_.data(), 1, line_.size(), stdout) != line_.size()) {
            fail(errno);
            return;
        }
        ++printed_;
        if (options_.max_changes != 0 && printed_ >= options_.max_changes) {
            if (std::fflush(stdout) != 0) fail(errno);
            finish();
        }
    }

    void finish() { done_.store(true, std::memory_order_release); }
    void fail(int err) {
        write_errno_.store(err == 0 ? EIO : err);
        finish();
    }

    const TailOptions& options_;
    std::optional<capture::Position> until_;
    // Keyed by the Relation object (immutable; a new one per Relation message). Entries of a
    // replaced version are dropped in on_relation; the RelationPtr in each change keeps the
    // current one alive, so its address cannot be reused while it is a key.
    std::unordered_map<const capture::Relation*, RelationPart> relation_parts_;
    std::unordered_map<pg::Oid, capture::RelationPtr> relations_; ///< current version per OID
    std::string txn_part_;
    capture::Position txn_part_position_;
    capture::Source* source_ = nullptr;
    std::string line_;
    std::uint64_t printed_ = 0;
    std::atomic<bool> done_{false};
    std::atomic<int> write_errno_{0};
};

int run_tail(Config config, const TailOptions& options) {
    config.slot_name = options.slot;
    if (auto st = validate(config); !st) {
        std::fprintf(stderr, "walcast tail: %s\n", st.error().message.c_str());
        return 2;
    }
    if (config.embedded()) {
        std::fprintf(stderr, "walcast tail: no database configured; set DATABASE_URL (or "
                             "DB_HOST and the other DB_* settings). The embedded Postgres is "
                             "started only by `walcast serve`.\n");
        return 2;
    }
    if (const char* serve_slot = std::getenv("SLOT_NAME");
        serve_slot && *serve_slot && config.slot_name.empty())
        std::fprintf(stderr,
                     "walcast tail: SLOT_NAME=%s is left to walcast serve; tail reads its own "
                     "temporary slot (changes from now on). To read that slot pass --slot %s "
                     "(what tail prints is then confirmed and serve will not resume it).\n",
                     serve_slot, serve_slot);
    // Signals are taken synchronously by this thread (sigtimedwait); every thread started
    // below inherits the mask. A closed stdout is a write error, not a SIGPIPE death.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    static char stdout_buffer[1 << 16];
    std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);

    // The sink needs the source (to confirm and to print positions) and the source the sink:
    // the source is made first with the sink it will feed, then attached to it.
    TailSink sink(options);
    auto source =
        app::make_source(config, app::connect_params_from(config), sink, app::ConfigErrors::Fatal);
    std::optional<capture::Position> until;
    if (!options.until_lsn.empty()) {
        until = source->parse_position(options.until_lsn);
        if (!until) {
            std::fprintf(stderr,
                         "walcast tail: --until-lsn \"%s\" is not an LSN; use the "
                         "form Postgres prints, e.g. 0/16B3748\n",
                         options.until_lsn.c_str());
            return 2;
        }
    }
    sink.set_until(until);
    sink.attach(source.get());
    source->start();

    const timespec poll_interval{0, 20'000'000};
    while (!sink.done() && !source->health().finished) {
        if (sigtimedwait(&signals, nullptr, &poll_interval) > 0) break;
        // --until-lsn also ends an idle stream: the server says nothing before it is left.
        if (until && source->stats().received >= *until) break;
    }
    source->stop();
    std::fflush(stdout);
    log::info("printed {} changes of {} transactions", sink.printed(),
              source->stats().transactions);

    if (const auto health = source->health(); health.fatal) {
        std::fprintf(stderr, "walcast tail: %s\n", health.reason.c_str());
        return 1;
    }
    if (sink.write_failed()) {
        if (sink.write_errno() == EPIPE) return 0; // the reader went away (`| head`)
        std::fprintf(stderr, "walcast tail: writing to stdout failed: %s\n",
                     std::strerror(sink.write_errno()));
        return 1;
    }
    return 0;
}

} // namespace

void register_tail(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand(
        "tail", "print every change of the publication as JSON lines (keys: type, schema, "
                "table, commit_timestamp, commit_lsn, columns [name, type, type_oid, "
                "primary_key], record, old_record)");
    add_config_options(*cmd, config, ConfigOptions::Database | ConfigOptions::Logging);
    // tail reads its own temporary slot: an exported SLOT_NAME is serve's, and consuming it
    // would confirm serve's backlog away. A slot is read only when named on the command line.
    // (Bound to TailOptions, not Config: the other commands bind Config::slot_name to SLOT_NAME.)
    cmd->remove_option(cmd->get_option("--slot-name"));
    static TailOptions options;
    cmd->add_option("--slot,--slot-name", options.slot,
                    "read this permanent slot (and confirm what is printed) instead of a "
                    "temporary one; SLOT_NAME is not read by tail, and a slot another process "
                    "streams from is refused")
        ->group("Tail");
    cmd->add_option("--schema", options.schema, "print only changes of tables in this schema")
        ->group("Tail");
    cmd->add_option("--table", options.table, "print only changes of tables with this name")
        ->group("Tail");
    cmd->add_option("--until-lsn", options.until_lsn,
                    "exit 0 once every transaction committed before this LSN (e.g. 0/16B3748) "
                    "has been printed")
        ->group("Tail");
    cmd->add_option("--max-changes", options.max_changes,
                    "exit 0 after printing this many changes; 0 = no limit")
        ->group("Tail");
    cmd->callback(
        [selected, &config] { *selected = [&config] { return run_tail(config, options); }; });
}

} // namespace walcast::cli
