// `walcast tail`: every change of the publication as one JSON line on stdout.
#include "cli/command.hpp"

#include <CLI/CLI.hpp>

namespace walcast::cli {

void register_tail(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand("tail", "print every change of the publication as JSON lines");
    add_config_options(*cmd, config, ConfigOptions::Database | ConfigOptions::Logging);
    cmd->callback([selected] {
        *selected = [] {
            std::fprintf(stderr, "walcast tail: not built yet\n");
            return 1;
        };
    });
}

} // namespace walcast::cli
