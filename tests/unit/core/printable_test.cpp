// ptio::printable and what ptio::Error::what() makes of names with control bytes.
#include "ptio/printable.h"

#include <gtest/gtest.h>

#include <string>

#include "ptio/error.h"

namespace ptio {
namespace {

using namespace std::string_literals;

TEST(Printable, PlainAndUtf8TextIsUnchanged) {
  EXPECT_EQ(printable("fc1.weight"), "fc1.weight");
  EXPECT_EQ(printable("gewicht-\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"),
            "gewicht-\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(printable("back\\slash"), "back\\slash");
  EXPECT_TRUE(is_printable("a b.c"));
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, ControlBytesAsPythonReprWritesThem) {
  EXPECT_EQ(printable("a\x1b[31mRED"), "a\\x1b[31mRED");
  EXPECT_EQ(printable("x\0y"s), "x\\x00y");
  EXPECT_EQ(printable("a\tb\nc\rd\x7f"), "a\\tb\\nc\\rd\\x7f");
  EXPECT_EQ(printable("a\tb\nc\rd\x7f\x01", LineBreaks::kKeep), "a\tb\nc\rd\\x7f\\x01");
  EXPECT_FALSE(is_printable("a\nb"));
  EXPECT_TRUE(is_printable("a\nb", LineBreaks::kKeep));
  // C1 controls (U+009B is CSI): their code point.
  EXPECT_EQ(printable("a\xc2\x9b"
                      "2J\xc2\x80\xc2\xa0"),
            "a\\x9b2J\\x80\xc2\xa0");
}

TEST(Printable, InvalidUtf8BytesAreEscaped) {
  EXPECT_EQ(printable("ar\xff"
                      "ch"),
            "ar\\xffch");
  EXPECT_EQ(printable("\xc3"), "\\xc3");                             // cut short
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // beyond U+10FFFF
  EXPECT_EQ(printable("\x80"
                      "abc"),
            "\\x80abc");
}

TEST(Printable, ErrorWhatIsCompleteAndEscaped) {
  // A record name with a NUL used to end what() there: "m.pt: archive/data/0".
  Error e(ErrorCode::kZipUnsafeName, "entry name contains a NUL byte", "m.pt",
          "archive/data/0\0evil"s, 0x190);
  EXPECT_STREQ(e.what(), "m.pt: archive/data/0\\x00evil @ 0x190: entry name contains a NUL byte");
  EXPECT_EQ(e.record(), "archive/data/0\0evil"s);  // the bytes as they are
  Error f(ErrorCode::kMissingRecord, "storage 0\x1b[2J has no record", "m.pt");
  EXPECT_STREQ(f.what(), "m.pt: storage 0\\x1b[2J has no record");
  EXPECT_EQ(f.message(), "storage 0\x1b[2J has no record");
  Error g(ErrorCode::kJitSyntax, "expected ':'\n  def f(x)\n         ~ <--- HERE");
  EXPECT_STREQ(g.what(), "expected ':'\n  def f(x)\n         ~ <--- HERE");  // lines kept
}

}  // namespace
}  // namespace ptio
