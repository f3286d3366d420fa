// Subcommand plumbing: each command registers its CLI11 subcommand and a runner that is called
// after parsing and validation. One file per command (serve.cpp, tail.cpp, db.cpp, token.cpp,
// watch.cpp).
#pragma once

#include "config/config.hpp"

#include <functional>
#include <string>

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
void register_watch(CLI::App& app, Config& config, CommandRunner* selected);

/// The HS256 secret tokens are signed with: JWT_SECRET (API_JWT_SECRET resolved into it), else
/// the embedded data directory's `jwt_secret` file (the banner's keys); "" when neither.
std::string signing_secret(const Config& config);

} // namespace walcast::cli
