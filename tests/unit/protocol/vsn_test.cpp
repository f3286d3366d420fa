#include "protocol/phoenix/vsn.hpp"

#include <gtest/gtest.h>

namespace walcast::protocol::phoenix {

TEST(VsnTest, MissingVsnMeansV1) {
    EXPECT_EQ(parse_vsn(std::nullopt), Vsn::V1);
    EXPECT_EQ(parse_vsn(""), Vsn::V1);
}

TEST(VsnTest, MatchesPatchVersionsOfOneAndTwo) {
    EXPECT_EQ(parse_vsn("1.0.0"), Vsn::V1);
    EXPECT_EQ(parse_vsn("2.0.0"), Vsn::V2);
    EXPECT_EQ(parse_vsn("2.0.7"), Vsn::V2);
}

TEST(VsnTest, RejectsOtherVersionsAndGarbage) {
    for (const char* bad : {"3.0.0", "1.1.0", "2.1.0", "2", "2.0", "abc", "2.0.0x", "-1.0.0"})
        EXPECT_FALSE(parse_vsn(bad)) << bad;
}

} // namespace walcast::protocol::phoenix
