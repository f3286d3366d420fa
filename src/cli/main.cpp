// walcast's entry point: parses the command line (CLI11 with env fallbacks), validates the
// Config and runs the chosen subcommand. Exit status 2 = bad usage or invalid configuration.
#include "cli/command.hpp"
#include "common/logging.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <functional>
#include <string>

int main(int argc, char** argv) {
    using namespace walcast;
    Config config;
    CLI::App app{"walcast: a realtime server for PostgreSQL. Streams committed INSERT, UPDATE "
                 "and DELETE from logical replication to WebSocket clients speaking the "
                 "Supabase Realtime protocol."};
    app.set_version_flag("--version", std::string(WALCAST_VERSION));
    app.require_subcommand(1);
    cli::CommandRunner selected;
    cli::register_serve(app, config, &selected);
    cli::register_tail(app, config, &selected);
    cli::register_db(app, config, &selected);
    cli::register_token(app, config, &selected);
    cli::register_watch(app, config, &selected);
    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // CLI11 names the flag ("--port"); add its environment variable, which is where a bad
        // value usually comes from.
        std::string message = e.what();
        std::function<void(const CLI::App*)> name_env = [&](const CLI::App* a) {
            for (const CLI::Option* o : a->get_options()) {
                const std::string flag = o->get_name();
                if (!o->get_envname().empty() && message.find(flag + " ") != std::string::npos &&
                    message.find(o->get_envname()) == std::string::npos) {
                    message += " (set by " + flag + " or the environment variable " +
                               o->get_envname() + ")";
                    return;
                }
            }
            for (const CLI::App* sub : a->get_subcommands({}))
                name_env(sub);
        };
        name_env(&app);
        std::fprintf(stderr, "walcast: %s\nRun `walcast --help` or `walcast <command> --help`.\n",
                     message.c_str());
        return 2;
    }
    if (auto st = resolve_synonyms(config); !st) {
        std::fprintf(stderr, "walcast: %s\n", st.error().message.c_str());
        return 2;
    }
    if (auto st = validate(config); !st) {
        std::fprintf(stderr, "walcast: %s\n", st.error().message.c_str());
        return 2;
    }
    log::init(config.log_level);
    // A closed stdout/stderr (a pipe whose reader went away) must not kill walcast before it
    // stops its embedded Postgres; sockets already write with MSG_NOSIGNAL.
    std::signal(SIGPIPE, SIG_IGN);
    return selected ? selected() : 2;
}
