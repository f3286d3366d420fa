// trigger::append_text_array: array_out's text of a text[] (the event table's values) back
// into a pg::Tuple; anything else an error, never a crash.
#include "capture/trigger/text_array.hpp"

#include <gtest/gtest.h>

#include <random>

namespace walcast::capture::trigger {
namespace {

TEST(TriggerTextArrayTest, ReadsArrayOutput) {
    pg::Tuple t;
    auto n = append_text_array(R"({1,t,"a b",NULL,"NULL","x\"y\\z","",{}x})", t);
    EXPECT_FALSE(n); // a nested brace unquoted is not array_out's
    pg::Tuple u;
    n = append_text_array(R"({1,t,"a b",NULL,"NULL","x\"y\\z","","{1,2}"})", u);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_EQ(*n, 8u);
    EXPECT_EQ(u.text(0), "1");
    EXPECT_EQ(u.text(1), "t");
    EXPECT_EQ(u.text(2), "a b");
    EXPECT_TRUE(u.is_null(3));
    EXPECT_FALSE(u.is_null(4));
    EXPECT_EQ(u.text(4), "NULL");
    EXPECT_EQ(u.text(5), "x\"y\\z");
    EXPECT_FALSE(u.is_null(6));
    EXPECT_EQ(u.text(6), "");
    EXPECT_EQ(u.text(7), "{1,2}");
}

TEST(TriggerTextArrayTest, EmptyArray) {
    pg::Tuple t;
    auto n = append_text_array("{}", t);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
    EXPECT_EQ(t.size(), 0u);
}

TEST(TriggerTextArrayTest, RefusesWhatArrayOutDoesNotWrite) {
    for (const char* bad : {"", "{", "}", "1,2", "{1,2", "{1,2}x", "{\"a}", "{a\"b}", "{,}", "{1,}",
                            "{\"a\\", "{{1}}", "{\"a\"b}"}) {
        pg::Tuple t;
        EXPECT_FALSE(append_text_array(bad, t)) << bad;
    }
}

TEST(TriggerTextArrayTest, AnyBytesGiveElementsOrAnErrorNeverACrash) {
    std::mt19937 rng(12);
    const std::string alphabet = "{}\",\\aN UL\x01\xff";
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        const int len = static_cast<int>(rng() % 24);
        for (int j = 0; j < len; ++j)
            s += alphabet[rng() % alphabet.size()];
        pg::Tuple t;
        auto n = append_text_array(s, t);
        if (n) {
            EXPECT_EQ(*n, t.size());
        }
    }
}

} // namespace
} // namespace walcast::capture::trigger
