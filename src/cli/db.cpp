// `walcast db init`: prepares a database for walcast (roles, auth helpers, publication).
#include "cli/command.hpp"

#include <CLI/CLI.hpp>

namespace walcast::cli {

void register_db(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand("db", "database set-up commands");
    auto* init = cmd->add_subcommand("init", "create roles, auth helpers and the publication");
    cmd->require_subcommand(1);
    add_config_options(*init, config, ConfigOptions::Database | ConfigOptions::Logging);
    init->callback([selected] {
        *selected = [] {
            std::fprintf(stderr, "walcast db init: not built yet\n");
            return 1;
        };
    });
}

} // namespace walcast::cli
