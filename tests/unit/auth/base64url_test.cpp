#include "auth/base64url.hpp"

#include <gtest/gtest.h>

namespace walcast::auth {
namespace {

TEST(Base64urlTest, RoundTripsEveryLengthAndByte) {
    std::string bytes;
    for (int i = 0; i < 300; ++i) {
        const auto decoded = base64url_decode(base64url_encode(bytes));
        ASSERT_TRUE(decoded.has_value()) << i;
        EXPECT_EQ(*decoded, bytes) << i;
        bytes += static_cast<char>((i * 37) & 0xFF);
    }
}

TEST(Base64urlTest, UsesTheUrlAlphabetWithoutPadding) {
    EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
    EXPECT_EQ(base64url_encode("a"), "YQ");
    EXPECT_EQ(base64url_decode("-_-_"), std::string("\xfb\xff\xbf"));
    EXPECT_EQ(base64url_decode(""), std::string());
}

TEST(Base64urlTest, RefusesPaddingForeignCharactersAndNonCanonicalText) {
    EXPECT_FALSE(base64url_decode("YQ=="));
    EXPECT_FALSE(base64url_decode("YQ="));
    EXPECT_FALSE(base64url_decode("+/+/")); // standard alphabet
    EXPECT_FALSE(base64url_decode("YW Jj"));
    EXPECT_FALSE(base64url_decode("YWJjZ")); // length 1 mod 4
    EXPECT_FALSE(base64url_decode("YR"));    // unused trailing bits set
    EXPECT_FALSE(base64url_decode(std::string("YQ\0", 3)));
}

} // namespace
} // namespace walcast::auth
