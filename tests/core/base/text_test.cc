#include "core/base/text.h"

#include <gtest/gtest.h>

#include <string>

namespace npzfs::core {
namespace {

using namespace std::string_literals;

TEST(EscapeTest, ShowsEveryControlAsAVisibleEscape) {
  EXPECT_EQ(Escape("a\x1b]0;owned\x07z"), "a\\x1b]0;owned\\x07z");
  EXPECT_EQ(Escape("one\ntwo\rthree\tfour"), "one\\ntwo\\rthree\\tfour");
  EXPECT_EQ(Escape("del\x7f"), "del\\x7f");
  EXPECT_EQ(Escape("nul\0x"s), "nul\\x00x");
  EXPECT_EQ(Escape("back\\slash"), "back\\\\slash");
}

TEST(EscapeTest, ShowsBidiControlsSeparatorsAndC1) {
  EXPECT_EQ(Escape("evil\u202egnp.npy"), "evil\\u202egnp.npy");
  EXPECT_EQ(Escape("\u2066x\u2069\u200e\u200f\u061c"), "\\u2066x\\u2069\\u200e\\u200f\\u061c");
  EXPECT_EQ(Escape("a\u2028b\u2029"), "a\\u2028b\\u2029");
  EXPECT_EQ(Escape("csi\xc2\x9b"), "csi\\u009b");
}

TEST(EscapeTest, ShowsInvalidUtf8ByteByByte) {
  EXPECT_EQ(Escape("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(Escape("cut\xe6\xb8"), "cut\\xe6\\xb8");              // truncated sequence
  EXPECT_EQ(Escape("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(Escape("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(Escape("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
}

TEST(EscapeTest, KeepsPrintableText) {
  for (const char* s : {"features.npy", "温度/é.npy", "a b", "😀", ""}) {
    EXPECT_EQ(Escape(s), s);
    EXPECT_FALSE(NeedsEscape(s)) << s;
  }
  EXPECT_TRUE(NeedsEscape("a\nb"));
  EXPECT_TRUE(NeedsEscape("\xff"));
  EXPECT_TRUE(NeedsEscape("\u202e"));
  EXPECT_FALSE(NeedsEscape("a\\b"));  // a backslash alone acts on nothing
}

TEST(QuoteTest, MarksWhereANameEnds) {
  EXPECT_EQ(Quote("a.npy"), "'a.npy'");
  EXPECT_EQ(Quote("it's"), "'it\\'s'");
  EXPECT_EQ(Quote("trailing "), "'trailing '");
  EXPECT_EQ(Quote("x\n: error: forged"), "'x\\n: error: forged'");
  EXPECT_EQ(Quote(""), "''");
}

TEST(QuoteTest, WhenNeededLeavesPlainNamesBare) {
  EXPECT_EQ(Quote("a.npy", Quoting::kWhenNeeded), "a.npy");
  EXPECT_EQ(Quote("温度", Quoting::kWhenNeeded), "温度");
  EXPECT_EQ(Quote("a b", Quoting::kWhenNeeded), "'a b'");
  EXPECT_EQ(Quote("a\\b", Quoting::kWhenNeeded), "'a\\\\b'");
  EXPECT_EQ(Quote("\x1b[2J", Quoting::kWhenNeeded), "'\\x1b[2J'");
  EXPECT_EQ(Quote("say \"hi\"", Quoting::kWhenNeeded), "'say \"hi\"'");
  EXPECT_EQ(Quote("", Quoting::kWhenNeeded), "''");
}

TEST(DisplayWidthTest, CountsTerminalColumns) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("温度"), 4u);
  EXPECT_EQ(DisplayWidth("e\u0301"), 1u);  // e + combining acute
  EXPECT_EQ(DisplayWidth("é"), 1u);
  EXPECT_EQ(DisplayWidth("😀x"), 3u);
  EXPECT_EQ(DisplayWidth(""), 0u);
}

TEST(Utf8Test, DecodesStrictly) {
  char32_t cp = 0;
  EXPECT_EQ(DecodeUtf8("é", 0, &cp), 2u);
  EXPECT_EQ(cp, 0xe9u);
  EXPECT_EQ(DecodeUtf8("\xe6\xb8\xa9", 0, &cp), 3u);
  EXPECT_EQ(cp, 0x6e29u);
  EXPECT_EQ(DecodeUtf8("\xe6\xb8", 0, &cp), 0u);
  EXPECT_EQ(DecodeUtf8("a", 1, &cp), 0u);
  EXPECT_TRUE(IsValidUtf8("温度é"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));
}

}  // namespace
}  // namespace npzfs::core
