// walcast's entry point: parses the command line (CLI11, env fallbacks) and runs a subcommand.
#include "common/logging.hpp"
#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    using namespace walcast;
    Config config;
    CLI::App app{"walcast: a realtime server for PostgreSQL"};
    app.require_subcommand(1);
    auto* serve = app.add_subcommand("serve", "run the realtime server");
    add_config_options(*serve, config, ConfigOptions::Database | ConfigOptions::Server |
                                           ConfigOptions::Auth | ConfigOptions::Embedded |
                                           ConfigOptions::Logging);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "walcast: %s\n", e.what());
        return 2;
    }
    if (auto st = validate(config); !st) {
        std::fprintf(stderr, "walcast: %s\n", st.error().message.c_str());
        return 2;
    }
    log::init(config.log_level);
    return 0;
}
