// Subcommand plumbing: each command registers its CLI11 subcommand and a runner that is called
// after parsing and validation. One file per command (serve.cpp, tail.cpp, db.cpp, token.cpp).
#pragma once

#include "config/config.hpp"

#include <functional>

namespace CLI {
class App;
}

namespace walcast::cli {

/// Runs a parsed command; returns the process exit status.
using CommandRunner = std::function<int()>;

/// Each command adds a subcommand to app whose callback stores its runner into *selected.
/// config is shared by all commands and already bound to flags/env when the runner is called.
void register_tail(CLI::App& app, Config& config, CommandRunner* selected);
void register_serve(CLI::App& app, Config& config, CommandRunner* selected);
void register_db(CLI::App& app, Config& config, CommandRunner* selected);
void register_token(CLI::App& app, Config& config, CommandRunner* selected);

} // namespace walcast::cli
