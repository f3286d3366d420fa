// JWT_ALLOWED_ROLES parsing (core::parse_role_list): names separated by commas, blanks around
// a name ignored, empty names dropped.
#include "core/routing/subscription_service.hpp"

#include <gtest/gtest.h>

namespace walcast::core {

TEST(RoleListTest, SplitsOnCommasAndTrimsBlanks) {
    EXPECT_EQ(parse_role_list("anon,authenticated,service_role"),
              (std::vector<std::string>{"anon", "authenticated", "service_role"}));
    EXPECT_EQ(parse_role_list(" anon ,\tapp_admin\t, postgres"),
              (std::vector<std::string>{"anon", "app_admin", "postgres"}));
}

TEST(RoleListTest, DropsEmptyNames) {
    EXPECT_TRUE(parse_role_list("").empty());
    EXPECT_TRUE(parse_role_list(" , ,").empty());
    EXPECT_EQ(parse_role_list(",anon,,"), (std::vector<std::string>{"anon"}));
}

TEST(RoleListTest, DefaultListsSupabaseRoles) {
    EXPECT_EQ(SubscriptionOptions{}.allowed_privileged_roles,
              (std::vector<std::string>{"anon", "authenticated", "service_role"}));
}

} // namespace walcast::core
