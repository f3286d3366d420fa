// `walcast db init`: prepares a database for walcast — roles anon/authenticated/service_role,
// the auth.uid()/auth.role()/auth.jwt() helpers, the publication. `--print` shows the SQL.
#include "app/connect_params.hpp"
#include "cli/command.hpp"
#include "common/logging.hpp"
#include "pg/db_setup.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace walcast::cli {

namespace {
struct DbInitOptions {
    bool print = false;
};
} // namespace

void register_db(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand("db", "database set-up commands");
    cmd->require_subcommand(1);
    auto* init = cmd->add_subcommand(
        "init", "create roles (anon, authenticated, service_role), the auth helpers and the "
                "publication where missing; existing objects are left as they are");
    add_config_options(*init, config, ConfigOptions::Database | ConfigOptions::Logging);
    auto opts = std::make_shared<DbInitOptions>();
    init->add_flag("--print", opts->print, "print the SQL instead of running it");
    init->callback([selected, &config, opts] {
        *selected = [&config, opts] {
            auto statements = pg::db_init_statements(config.publication);
            if (opts->print) {
                for (const auto& s : statements)
                    std::printf("%s;\n\n", s.c_str());
                return 0;
            }
            if (config.embedded()) {
                std::fprintf(stderr, "walcast db init: no database configured; set "
                                     "DATABASE_URL or DB_HOST (see walcast db init --help)\n");
                return 2;
            }
            auto params = app::connect_params_from(config);
            auto conn = pg::Connection::connect(params);
            if (!conn) {
                std::fprintf(stderr, "walcast db init: %s\n", conn.error().message.c_str());
                return 1;
            }
            if (auto st = pg::run_statements(*conn, statements); !st) {
                std::fprintf(stderr, "walcast db init: %s\n", st.error().message.c_str());
                return 1;
            }
            std::printf("walcast db init: %s is ready (roles, auth helpers, publication %s)\n",
                        params.describe().c_str(), config.publication.c_str());
            return 0;
        };
    });
}

} // namespace walcast::cli
