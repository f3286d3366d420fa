// `walcast db init`: prepares a database for walcast — roles anon/authenticated/service_role,
// the auth.uid()/auth.role()/auth.jwt() helpers, the publication (empty as on Supabase, or FOR
// ALL TABLES with --all-tables), with --capture trigger also trigger capture in schema walcast
// (CAPTURE=auto re-runs it where it is installed and logical replication is not possible; it
// never installs capture triggers by itself) — then prints the prerequisite checklist. `--print`
// shows the SQL. `walcast db check`: the same checklist without changing anything. Both exit 1
// when an item fails (warnings such as an empty publication do not fail). `walcast db uninstall
// --capture trigger` removes trigger capture.
#include "app/connect_params.hpp"
#include "capture/capture_mode.hpp"
#include "capture/trigger/trigger_sql.hpp"
#include "cli/command.hpp"
#include "common/logging.hpp"
#include "pg/db_check.hpp"
#include "pg/db_setup.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>

namespace walcast::cli {

namespace {

struct DbInitOptions {
    bool print = false;
    bool all_tables = false;
};

struct DbOptions {
    bool print = false;
};

/// Connects to the configured database; nullopt (after printing why) when it cannot, with
/// *status = 2 when no database is configured (bad usage), else 1.
std::optional<pg::Connection> connect_configured(const Config& config, const char* command,
                                                 int* status) {
    *status = 2;
    if (config.embedded()) {
        std::fprintf(stderr,
                     "walcast %s: no database configured; set DATABASE_URL or DB_HOST (see "
                     "walcast %s --help)\n",
                     command, command);
        return std::nullopt;
    }
    *status = 1;
    auto conn = pg::Connection::connect(app::connect_params_from(config));
    if (!conn) {
        std::fprintf(stderr, "walcast %s: %s\n", command, conn.error().message.c_str());
        return std::nullopt;
    }
    return std::move(conn).value();
}

/// Trigger capture's own checklist items: installed (and in which version), the tables it
/// captures, those it cannot, and whether ALTER TABLE is followed by the DDL event trigger.
void add_trigger_items(const pg::Connection& conn, std::vector<pg::CheckItem>& items) {
    using Outcome = pg::CheckItem::Outcome;
    auto installed = conn.exec("SELECT to_regprocedure('walcast.version()') IS NOT NULL");
    if (!installed || installed->string(0, 0) != "t") {
        items.push_back({Outcome::Fail, "trigger capture is installed",
                         "schema walcast has no trigger capture",
                         "walcast db init --capture trigger"});
        return;
    }
    auto v = conn.exec("SELECT walcast.version(), (SELECT count(*) FROM walcast.capture_table), "
                       "(SELECT count(*) FROM pg_event_trigger WHERE evtname = 'walcast_ddl')");
    if (!v) {
        items.push_back({Outcome::Fail, "trigger capture is installed", v.error().describe(),
                         "run walcast db init --capture trigger as the role that installed it"});
        return;
    }
    const auto version = v->integer<int>(0, 0).value_or(0);
    if (version != capture::trigger::schema_version)
        items.push_back({Outcome::Fail, "trigger capture is installed",
                         "version " + std::to_string(version) + ", this walcast needs " +
                             std::to_string(capture::trigger::schema_version),
                         "walcast db init --capture trigger"});
    else
        items.push_back({Outcome::Pass, "trigger capture is installed",
                         "schema walcast, version " + std::to_string(version), ""});
    items.push_back({Outcome::Pass, "tables captured by triggers",
                     v->string(0, 1) + " table(s) carry the capture triggers", ""});
    if (v->string(0, 2) != "0")
        items.push_back({Outcome::Pass, "ALTER TABLE and publication changes are followed",
                         "DDL event trigger walcast_ddl", ""});
    else
        items.push_back(
            {Outcome::Warn, "ALTER TABLE and publication changes are followed",
             "no DDL event trigger (it needs a superuser): walcast reconciles once a second and "
             "each statement checks its table's catalog stamp",
             "as a superuser: walcast db init --capture trigger (creates walcast_ddl)"});
    auto problems = conn.exec("SELECT relation, detail FROM walcast.reconcile(false) "
                              "WHERE action IN ('missing', 'unsupported', 'busy')");
    if (problems)
        for (int i = 0; i < problems->size(); ++i)
            items.push_back({Outcome::Warn, "every published table is captured",
                             problems->string(i, 0) + " " + problems->string(i, 1), ""});
}

/// True when an item only logical replication needs (wal_level, a free slot and WAL sender,
/// the REPLICATION attribute) failed.
bool logical_replication_fails(const std::vector<pg::CheckItem>& items) {
    for (const auto& item : items)
        if (item.outcome == pg::CheckItem::Outcome::Fail &&
            (item.name == "wal_level is logical" ||
             item.name == "a replication slot and a WAL sender are free" ||
             item.name == "the user may replicate"))
            return true;
    return false;
}

/// Prints the checklist for conn's database; returns the exit status (0 = no item failed). With
/// trigger capture the logical-replication items do not apply; its own items are added.
int print_checklist(const pg::Connection& conn, const Config& config, const char* command,
                    bool trigger) {
    auto items = pg::check_prerequisites(conn, config.publication, !trigger);
    if (!items) {
        std::fprintf(stderr, "walcast %s: checking the prerequisites: %s\n", command,
                     items.error().message.c_str());
        return 1;
    }
    if (trigger) add_trigger_items(conn, *items);
    const bool ok = pg::checklist_passes(*items);
    std::printf("walcast %s: %s%s\n%s", command,
                app::connect_params_from(config).describe().c_str(),
                trigger ? " (trigger capture)" : "", pg::format_checklist(*items).c_str());
    std::printf(ok ? "walcast can stream from this database.\n"
                   : "walcast cannot stream from this database until the failed items are "
                     "fixed.\n");
    if (!trigger && logical_replication_fails(*items))
        std::printf("Without logical replication, walcast can capture changes with triggers "
                    "instead: walcast db init --capture trigger (--print shows the SQL; README, "
                    "\"Trigger capture\").\n");
    return ok ? 0 : 1;
}

/// The mode db init/check set up or check: CAPTURE as given; auto looks at the database —
/// trigger only where logical replication is not possible and trigger capture is already
/// installed (db init then upgrades and repairs it), else logical. auto never installs capture
/// triggers on the user's tables by itself: that takes --capture trigger.
std::string mode_for(const Config& config, const pg::Connection& conn) {
    if (config.capture != "auto") return config.capture;
    auto support = capture::probe_capture(conn);
    if (!support) return "logical";
    if (support->wal_level == "logical" && support->replication_role) return "logical";
    return support->trigger_installed ? "trigger" : "logical";
}

int run_init(const Config& config, const DbInitOptions& opts) {
    auto statements = pg::db_init_statements(config.publication, opts.all_tables);
    auto add_trigger = [&] {
        for (auto& s : capture::trigger::install_statements(config.publication))
            statements.push_back(std::move(s));
    };
    if (opts.print) {
        // Without a connection CAPTURE=auto cannot look at the database: it prints what
        // logical capture needs and says how to get the rest.
        if (config.capture == "trigger") add_trigger();
        for (const auto& s : statements)
            std::printf("%s;\n\n", s.c_str());
        if (config.capture == "auto")
            std::printf("-- CAPTURE=auto: add --capture trigger to include trigger capture (for "
                        "databases without logical replication)\n");
        return 0;
    }
    int status = 0;
    auto conn = connect_configured(config, "db init", &status);
    if (!conn) return status;
    const std::string mode = mode_for(config, *conn);
    if (mode == "trigger") {
        if (config.capture == "auto")
            std::printf("walcast db init: logical replication is not available here and "
                        "trigger capture is installed: upgrading and repairing it\n");
        add_trigger();
    }
    status = 0;
    if (auto st = pg::run_statements(*conn, statements); !st) {
        // Still show the checklist: it says which prerequisite is missing and its fix.
        std::string message = st.error().message;
        if (mode == "trigger")
            message += " (print the SQL with `walcast db init --capture trigger --print`)";
        std::fprintf(stderr, "walcast db init: %s\n", message.c_str());
        status = 1;
    }
    int check = print_checklist(*conn, config, "db init", mode == "trigger");
    return status != 0 ? status : check;
}

int run_uninstall(const Config& config, const DbOptions& opts) {
    if (config.capture != "trigger") {
        std::fprintf(stderr, "walcast db uninstall: only trigger capture is uninstalled: run "
                             "`walcast db uninstall --capture trigger` (roles, helpers and the "
                             "publication are left in place)\n");
        return 2;
    }
    const auto statements = capture::trigger::uninstall_statements();
    if (opts.print) {
        for (const auto& s : statements)
            std::printf("%s;\n\n", s.c_str());
        return 0;
    }
    int status = 0;
    auto conn = connect_configured(config, "db uninstall", &status);
    if (!conn) return status;
    if (auto st = pg::run_statements(*conn, statements); !st) {
        std::fprintf(stderr, "walcast db uninstall: %s\n", st.error().message.c_str());
        return 1;
    }
    std::printf("walcast db uninstall: trigger capture removed from %s (schema walcast, capture "
                "triggers, DDL event trigger)\n",
                app::connect_params_from(config).describe().c_str());
    return 0;
}

} // namespace

void register_db(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand("db", "database set-up commands");
    cmd->require_subcommand(1);
    auto* init = cmd->add_subcommand(
        "init", "create roles (anon, authenticated, service_role), the auth helpers and the "
                "publication where missing (existing objects are left as they are); with "
                "--capture trigger also trigger capture (schema walcast, capture triggers on "
                "the publication's tables); then check every prerequisite; exits 1 when one "
                "fails");
    add_config_options(*init, config, ConfigOptions::Database | ConfigOptions::Logging);
    auto opts = std::make_shared<DbInitOptions>();
    init->add_flag("--print", opts->print, "print the SQL instead of running it");
    init->add_flag("--all-tables", opts->all_tables,
                   "create the publication FOR ALL TABLES (needs a superuser) instead of empty "
                   "as Supabase does (then: ALTER PUBLICATION … ADD TABLE <table>)");
    init->callback([selected, &config, opts] {
        *selected = [&config, opts] { return run_init(config, *opts); };
    });
    auto* check = cmd->add_subcommand(
        "check", "check every prerequisite (wal_level, replication slots, the REPLICATION "
                 "attribute — or with --capture trigger, trigger capture — the JWT roles and "
                 "membership, the auth helpers, the publication and its tables, grants) without "
                 "changing anything; exits 1 when one fails");
    add_config_options(*check, config, ConfigOptions::Database | ConfigOptions::Logging);
    check->callback([selected, &config] {
        *selected = [&config] {
            int status = 0;
            auto conn = connect_configured(config, "db check", &status);
            if (!conn) return status;
            return print_checklist(*conn, config, "db check", mode_for(config, *conn) == "trigger");
        };
    });
    auto* uninstall = cmd->add_subcommand(
        "uninstall", "with --capture trigger: remove trigger capture (schema walcast, the "
                     "capture triggers, the DDL event trigger)");
    add_config_options(*uninstall, config, ConfigOptions::Database | ConfigOptions::Logging);
    auto un_opts = std::make_shared<DbOptions>();
    uninstall->add_flag("--print", un_opts->print, "print the SQL instead of running it");
    uninstall->callback([selected, &config, un_opts] {
        *selected = [&config, un_opts] { return run_uninstall(config, *un_opts); };
    });
}

} // namespace walcast::cli
