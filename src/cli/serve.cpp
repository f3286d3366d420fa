// `walcast serve`: the realtime server (HTTP + WebSocket), fed by logical replication.
#include "cli/command.hpp"

#include <CLI/CLI.hpp>

namespace walcast::cli {

void register_serve(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand("serve", "run the realtime server");
    add_config_options(*cmd, config,
                       ConfigOptions::Database | ConfigOptions::Server | ConfigOptions::Auth |
                           ConfigOptions::Embedded | ConfigOptions::Logging);
    cmd->callback([selected] {
        *selected = [] {
            std::fprintf(stderr, "walcast serve: not built yet\n");
            return 1;
        };
    });
}

} // namespace walcast::cli
