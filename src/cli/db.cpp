// `walcast db init`: prepares a database for walcast — roles anon/authenticated/service_role,
// the auth.uid()/auth.role()/auth.jwt() helpers, the publication (empty as on Supabase, or FOR
// ALL TABLES with --all-tables) — then prints the prerequisite checklist. `--print` shows the
// SQL. With --capture trigger (CAPTURE=trigger) init also installs trigger capture (schema
// walcast) and the checklist leaves out what only logical replication needs; `walcast db
// uninstall --capture trigger` removes it. `walcast db check`: the same checklist without
// changing anything. Both exit 1 when an item fails (warnings such as an empty publication do
// not fail).
#include "app/connect_params.hpp"
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

/// Trigger capture's own checklist item: installed, and a capture trigger on every table of
/// the publication.
pg::CheckItem trigger_item(const pg::Connection& conn, const std::string& publication) {
    pg::CheckItem item;
    item.name = "trigger capture is installed for the publication's tables";
    auto r = conn.exec(
        "SELECT to_regclass('walcast.event') IS NOT NULL, (SELECT string_agg(format('%I.%I', "
        "t.schemaname, t.tablename), ', ') FROM pg_publication_tables t WHERE t.pubname = $1 "
        "AND t.schemaname NOT IN ('walcast', 'realtime') AND NOT EXISTS (SELECT 1 FROM pg_trigger "
        "g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = t.schemaname AND c.relname = t.tablename AND g.tgname LIKE "
        "'walcast_capture_%'))",
        {publication});
    if (!r) {
        item.outcome = pg::CheckItem::Outcome::Fail;
        item.detail = r.error().describe();
        return item;
    }
    if (r->boolean(0, 0) != true) {
        item.outcome = pg::CheckItem::Outcome::Fail;
        item.detail = "schema walcast is missing";
        item.fix = "walcast db init --capture trigger";
    } else if (auto missing = r->text(0, 1)) {
        item.outcome = pg::CheckItem::Outcome::Fail;
        item.detail = "no capture trigger on " + std::string(*missing);
        item.fix = "walcast db init --capture trigger (walcast serve adds them too)";
    } else {
        item.detail = "schema walcast, triggers on every published table";
    }
    return item;
}

/// Prints the checklist for conn's database; returns the exit status (0 = no item failed).
/// Trigger capture (CAPTURE=trigger) needs no wal_level, slot or REPLICATION: those items are
/// left out and its own is added.
int print_checklist(const pg::Connection& conn, const Config& config, const char* command) {
    auto items = pg::check_prerequisites(conn, config.publication);
    if (!items) {
        std::fprintf(stderr, "walcast %s: checking the prerequisites: %s\n", command,
                     items.error().message.c_str());
        return 1;
    }
    if (config.capture == "trigger") {
        std::erase_if(*items, [](const pg::CheckItem& i) {
            return i.name == "wal_level is logical" ||
                   i.name == "a replication slot and a WAL sender are free" ||
                   i.name == "the user may replicate";
        });
        items->insert(items->begin(), trigger_item(conn, config.publication));
    }
    const bool ok = pg::checklist_passes(*items);
    std::printf("walcast %s: %s\n%s", command, app::connect_params_from(config).describe().c_str(),
                pg::format_checklist(*items).c_str());
    std::printf(ok ? "walcast can stream from this database.\n"
                   : "walcast cannot stream from this database until the failed items are "
                     "fixed.\n");
    return ok ? 0 : 1;
}

} // namespace

void register_db(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand("db", "database set-up commands");
    cmd->require_subcommand(1);
    auto* init = cmd->add_subcommand(
        "init", "create roles (anon, authenticated, service_role), the auth helpers and the "
                "publication where missing (existing objects are left as they are), then check "
                "every prerequisite; exits 1 when one fails");
    add_config_options(*init, config, ConfigOptions::Database | ConfigOptions::Logging);
    auto opts = std::make_shared<DbInitOptions>();
    init->add_flag("--print", opts->print, "print the SQL instead of running it");
    init->add_flag("--all-tables", opts->all_tables,
                   "create the publication FOR ALL TABLES (needs a superuser) instead of empty "
                   "as Supabase does (then: ALTER PUBLICATION … ADD TABLE <table>)");
    init->callback([selected, &config, opts] {
        *selected = [&config, opts] {
            auto statements = pg::db_init_statements(config.publication, opts->all_tables);
            if (config.capture == "trigger")
                for (auto& st : capture::trigger::install_statements(config.publication))
                    statements.push_back(std::move(st));
            if (opts->print) {
                for (const auto& s : statements)
                    std::printf("%s;\n\n", s.c_str());
                return 0;
            }
            int status = 0;
            auto conn = connect_configured(config, "db init", &status);
            if (!conn) return status;
            status = 0;
            if (auto st = pg::run_statements(*conn, statements); !st) {
                // Still show the checklist: it says which prerequisite is missing and its fix.
                std::fprintf(stderr, "walcast db init: %s\n", st.error().message.c_str());
                status = 1;
            }
            int check = print_checklist(*conn, config, "db init");
            return status != 0 ? status : check;
        };
    });
    auto* uninstall = cmd->add_subcommand(
        "uninstall", "with --capture trigger: remove trigger capture (the schema walcast, its "
                     "event tables and every capture trigger); nothing else is touched");
    add_config_options(*uninstall, config, ConfigOptions::Database | ConfigOptions::Logging);
    auto uninstall_print = std::make_shared<bool>(false);
    uninstall->add_flag("--print", *uninstall_print, "print the SQL instead of running it");
    uninstall->callback([selected, &config, uninstall_print] {
        *selected = [&config, uninstall_print] {
            if (config.capture != "trigger") {
                std::fprintf(stderr, "walcast db uninstall: say what to remove: --capture "
                                     "trigger (the only thing it removes)\n");
                return 2;
            }
            auto statements = capture::trigger::uninstall_statements();
            if (*uninstall_print) {
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
            std::printf("walcast db uninstall: trigger capture removed from %s\n",
                        app::connect_params_from(config).describe().c_str());
            return 0;
        };
    });
    auto* check = cmd->add_subcommand(
        "check", "check every prerequisite (wal_level, replication slots, the REPLICATION "
                 "attribute, the JWT roles and membership, the auth helpers, the publication "
                 "and its tables, grants) without changing anything; exits 1 when one fails");
    add_config_options(*check, config, ConfigOptions::Database | ConfigOptions::Logging);
    check->callback([selected, &config] {
        *selected = [&config] {
            int status = 0;
            auto conn = connect_configured(config, "db check", &status);
            if (!conn) return status;
            return print_checklist(*conn, config, "db check");
        };
    });
}

} // namespace walcast::cli
