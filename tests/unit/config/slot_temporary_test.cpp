// SLOT_TEMPORARY: the embedded database's permanent slot can be turned off; it contradicts an
// explicit SLOT_NAME.
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace walcast {
namespace {

TEST(ConfigSlotTemporaryTest, WithSlotNameItIsRefusedNamingBoth) {
    Config c;
    c.slot_temporary = true;
    EXPECT_TRUE(validate(c));
    c.slot_name = "mine";
    auto st = validate(c);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("SLOT_TEMPORARY=true"), std::string::npos);
    EXPECT_NE(st.error().message.find("SLOT_NAME"), std::string::npos);
    EXPECT_NE(st.error().message.find("unset one"), std::string::npos);
}

} // namespace
} // namespace walcast
