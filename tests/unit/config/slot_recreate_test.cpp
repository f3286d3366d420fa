// SLOT_RECREATE as the environment and the command line give it: off unless "true" is said.
#include "config/config.hpp"

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

namespace walcast {
namespace {

bool parsed_slot_recreate(const char* env, std::vector<std::string> args) {
    if (env)
        ::setenv("SLOT_RECREATE", env, 1);
    else
        ::unsetenv("SLOT_RECREATE");
    CLI::App app;
    Config c;
    add_config_options(app, c, ConfigOptions::Database);
    std::reverse(args.begin(), args.end()); // CLI11 takes them last-first
    app.parse(args);
    ::unsetenv("SLOT_RECREATE");
    return c.slot_recreate;
}

TEST(ConfigSlotRecreateTest, OffByDefaultAndOnWhenTheEnvironmentSaysTrue) {
    EXPECT_FALSE(parsed_slot_recreate(nullptr, {}));
    EXPECT_TRUE(parsed_slot_recreate("true", {}));
    EXPECT_FALSE(parsed_slot_recreate("false", {}));
    EXPECT_TRUE(parsed_slot_recreate(nullptr, {"--slot-recreate", "true"}));
}

TEST(ConfigSlotRecreateTest, AValueThatIsNotABooleanIsRefused) {
    EXPECT_THROW(parsed_slot_recreate("sometimes", {}), CLI::ParseError);
}

} // namespace
} // namespace walcast
