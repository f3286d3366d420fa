#include "pg/lsn.hpp"

#include <gtest/gtest.h>

namespace walcast::pg {

TEST(LsnTest, ParsesAndPrintsLikePostgres) {
    auto lsn = Lsn::parse("16/B374D848");
    ASSERT_TRUE(lsn);
    EXPECT_EQ(lsn->value, (0x16ULL << 32) | 0xB374D848ULL);
    EXPECT_EQ(lsn->to_string(), "16/B374D848");
    EXPECT_EQ(Lsn{0}.to_string(), "0/0");
}

TEST(LsnTest, RejectsMalformedText) {
    for (const char* bad : {"", "/", "1/", "/1", "G/1", "1/2/3", "1 /2", "123456789/0"})
        EXPECT_FALSE(Lsn::parse(bad)) << bad;
}

} // namespace walcast::pg
