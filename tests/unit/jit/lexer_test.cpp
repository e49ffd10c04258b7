// Lexer tests: indentation, line joining, comments, keywords, numbers, strings, positions, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/jit/frontend/lexer.h"
#include "ptio/jit/frontend/literals.h"

namespace fe = ptio::jit::frontend;
using fe::tok;
using fe::TokenKind;

namespace {

std::vector<TokenKind> kinds(std::string_view text) {
  fe::Lexer L(text, "t.py");
  std::vector<TokenKind> out;
  while (true) {
    const fe::Token t = L.next();
    out.push_back(t.kind);
    if (t.kind == TokenKind::kEof) return out;
  }
}

std::vector<std::string> texts(std::string_view text) {
  fe::Lexer L(text, "t.py");
  std::vector<std::string> out;
  while (L.cur().kind != TokenKind::kEof) out.emplace_back(L.next().text);
  return out;
}

ptio::Error lex_error(std::string_view text) {
  try {
    kinds(text);
  } catch (const ptio::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << text;
  return ptio::Error(ptio::ErrorCode::kInternal, "none");
}

std::string decode(std::string_view token, bool lenient = false) {
  std::string out;
  fe::StringDecodeError err;
  if (!fe::decode_string_literal(token, lenient, &out, &err)) return "ERROR: " + err.message;
  return out;
}

}  // namespace

TEST(JitLexer, IndentNewlineDedent) {
  const auto k = kinds("def f():\n  if x:\n    pass\n  return 1\n");
  const std::vector<TokenKind> want = {
      TokenKind::kDef,    TokenKind::kIdent,  tok('('),           tok(')'),
      tok(':'),           TokenKind::kIndent, TokenKind::kIf,     TokenKind::kIdent,
      tok(':'),           TokenKind::kIndent, TokenKind::kPass,   TokenKind::kNewline,
      TokenKind::kDedent, TokenKind::kReturn, TokenKind::kNumber, TokenKind::kNewline,
      TokenKind::kDedent, TokenKind::kEof};
  EXPECT_EQ(k, want);
}

TEST(JitLexer, DedentSeveralLevelsAtEof) {
  const auto k = kinds("a:\n  b:\n    c\n");
  const std::vector<TokenKind> want = {
      TokenKind::kIdent,  tok(':'),           TokenKind::kIndent, TokenKind::kIdent,
      tok(':'),           TokenKind::kIndent, TokenKind::kIdent,  TokenKind::kNewline,
      TokenKind::kDedent, TokenKind::kDedent, TokenKind::kEof};
  EXPECT_EQ(k, want);
}

TEST(JitLexer, FirstLineIndentationIsTheBottomOfTheStack) {
  const auto k = kinds("\n\n    x\n    y\n");
  const std::vector<TokenKind> want = {TokenKind::kIdent, TokenKind::kNewline, TokenKind::kIdent,
                                       TokenKind::kNewline, TokenKind::kEof};
  EXPECT_EQ(k, want);
}

TEST(JitLexer, NewlinesInsideBracketsAndBackslashJoin) {
  EXPECT_EQ(
      kinds("f(a,\n        b)\n"),
      (std::vector<TokenKind>{TokenKind::kIdent, tok('('), TokenKind::kIdent, tok(','),
                              TokenKind::kIdent, tok(')'), TokenKind::kNewline, TokenKind::kEof}));
  EXPECT_EQ(texts("x = 1 + \\\n      2\n"),
            (std::vector<std::string>{"x", "=", "1", "+", "2", ""}));
}

TEST(JitLexer, CommentsBlankLinesAndCrLf) {
  EXPECT_EQ(kinds("x  # comment\n\n   # indented comment\n\t\ny\r\n"),
            (std::vector<TokenKind>{TokenKind::kIdent, TokenKind::kNewline, TokenKind::kIdent,
                                    TokenKind::kNewline, TokenKind::kEof}));
  // `# type:` is a token, not a comment.
  EXPECT_EQ(kinds("# type: (int) -> int\n")[0], TokenKind::kTypeComment);
}

TEST(JitLexer, KeywordsAndLongestMatch) {
  EXPECT_EQ(kinds("a is not b")[1], TokenKind::kIsNot);
  EXPECT_EQ(kinds("a not in b")[1], TokenKind::kNotIn);
  EXPECT_EQ(kinds("a is  not b")[1], TokenKind::kIs);  // two spaces: `is` then `not`
  EXPECT_EQ(kinds("iffy")[0], TokenKind::kIdent);
  EXPECT_EQ(kinds("if")[0], TokenKind::kIf);
  EXPECT_EQ(kinds("NoneType Ellipsis ...")[0], TokenKind::kNoneType);
  EXPECT_EQ(kinds("NoneType Ellipsis ...")[1], TokenKind::kEllipsis);
  EXPECT_EQ(kinds("NoneType Ellipsis ...")[2], TokenKind::kDots);
  EXPECT_EQ(texts("a<<=b**=c->d//e"),
            (std::vector<std::string>{"a", "<<=", "b", "**=", "c", "->", "d", "//", "e"}));
  EXPECT_EQ(kinds("lambda")[0], TokenKind::kIdent);  // not a TorchScript keyword
}

TEST(JitLexer, NumbersAsStrtodReadsThem) {
  EXPECT_EQ(texts("1 3. .5 1e-10 1.5e+20 0x1F 2.5j 1j 1.e5"),
            (std::vector<std::string>{"1", "3.", ".5", "1e-10", "1.5e+20", "0x1F", "2.5j", "1j",
                                      "1.e5"}));
  EXPECT_EQ(texts("1e"), (std::vector<std::string>{"1", "e"}));
  EXPECT_EQ(texts("0x"), (std::vector<std::string>{"0", "x"}));
  EXPECT_EQ(kinds("inf")[0], TokenKind::kIdent);
  EXPECT_EQ(texts("-1"), (std::vector<std::string>{"-", "1"}));
  EXPECT_EQ(fe::classify_number("1"), fe::NumberKind::kInt);
  EXPECT_EQ(fe::classify_number("1."), fe::NumberKind::kFloat);
  EXPECT_EQ(fe::classify_number("1e-05"), fe::NumberKind::kFloat);
  EXPECT_EQ(fe::classify_number("2.5j"), fe::NumberKind::kComplex);
}

TEST(JitLexer, StringTokens) {
  EXPECT_EQ(texts("'a' \"b\\\"c\" '''x\ny''' \"\"\"q\"\"\""),
            (std::vector<std::string>{"'a'", "\"b\\\"c\"", "'''x\ny'''", "\"\"\"q\"\"\""}));
  EXPECT_EQ(texts("f\"x\""), (std::vector<std::string>{"f", "\"x\""}));  // no prefixes
}

TEST(JitLexer, PositionsLineColumnOffset) {
  fe::Lexer L("class A:\n  x : int\n", "t.py");
  L.next();
  L.next();
  L.next();
  L.next();  // indent
  const fe::Token x = L.next();
  EXPECT_EQ(x.text, "x");
  EXPECT_EQ(x.range.begin.line, 2u);
  EXPECT_EQ(x.range.begin.column, 3u);
  EXPECT_EQ(x.range.begin.offset, 11u);
  EXPECT_EQ(x.range.end.offset, 12u);
}

// The spelling table is searched by first character, longest first; positions start from the
// previous one's line: both must give what the full search gave, in any order of calls.
TEST(JitLexer, LongestMatchByFirstCharacterAndPositionsInAnyOrder) {
  EXPECT_EQ(texts("is notable"), (std::vector<std::string>{"is not", "able"}));  // as PyTorch
  EXPECT_EQ(texts("imports import in int"),
            (std::vector<std::string>{"imports", "import", "in", "int"}));
  EXPECT_EQ(kinds("a <=> b")[1], TokenKind::kEquivalent);
  EXPECT_EQ(texts("a<=b<<c<d"), (std::vector<std::string>{"a", "<=", "b", "<<", "c", "<", "d"}));
  EXPECT_EQ(kinds("_if")[0], TokenKind::kIdent);
  std::string text;
  for (int i = 0; i < 200; ++i) text += std::string(static_cast<std::size_t>(i % 7), 'x') + "\n";
  fe::Lexer L(text, "t.py");
  for (std::uint64_t off : {std::uint64_t{500}, std::uint64_t{3}, std::uint64_t{600},
                            std::uint64_t{0}, text.size() - 1, std::uint64_t{601}, text.size()}) {
    std::uint32_t line = 1, col = 1;
    for (std::uint64_t i = 0; i < off; ++i) text[i] == '\n' ? (++line, col = 1) : ++col;
    const fe::SourcePos p = L.position(off);
    EXPECT_EQ(p.line, line) << off;
    EXPECT_EQ(p.column, col) << off;
  }
}

TEST(JitLexer, Errors) {
  ptio::Error e = lex_error("x = 'abc\ny = 2\n");
  EXPECT_EQ(e.code(), ptio::ErrorCode::kJitSyntax);
  EXPECT_EQ(e.record(), "t.py");
  EXPECT_EQ(e.offset(), 4u);
  EXPECT_NE(e.message().find("1:5: unterminated string literal"), std::string::npos) << e.what();

  e = lex_error("a\nb $ c\n");
  EXPECT_EQ(e.code(), ptio::ErrorCode::kJitSyntax);
  EXPECT_NE(e.message().find("2:3: unexpected character '$'"), std::string::npos) << e.what();

  e = lex_error("if x:\n    a\n  b\n");  // dedent to a level that was never opened
  EXPECT_EQ(e.code(), ptio::ErrorCode::kJitSyntax);
  EXPECT_NE(e.message().find("invalid indent level 2"), std::string::npos) << e.what();

  e = lex_error("\xc3\xa9");
  EXPECT_EQ(e.code(), ptio::ErrorCode::kJitSyntax);

  fe::LexerLimits small;
  small.max_source_bytes = 4;
  try {
    fe::Lexer L("x = 12345\n", "t.py", small);
    FAIL();
  } catch (const ptio::Error& err) {
    EXPECT_EQ(err.code(), ptio::ErrorCode::kLimitExceeded);
  }
}

TEST(JitStringLiteral, DecodeLikeParseStringLiteral) {
  EXPECT_EQ(decode("\"a\\n\\t\\\\\\101\\'\\\"\""), "a\n\t\\A'\"");
  EXPECT_EQ(decode("'\\a\\b\\f\\v'"), "\a\b\f\v");
  EXPECT_EQ(decode("\"\\000\\177\\377\""), std::string("\0\177\377", 3));
  EXPECT_EQ(decode("'x\\\ny'"), "x\ny");  // backslash-newline keeps the newline
  EXPECT_EQ(decode("'''a\nb'''"), "a\nb");
  EXPECT_EQ(decode("''"), "");
  EXPECT_EQ(decode("\"\\x41\""), "ERROR: unsupported hex specifier");
  EXPECT_EQ(decode("\"\\u0041\""), "ERROR: unsupported unicode specifier");
  EXPECT_EQ(decode("\"\\r\""), "ERROR: ill formed octal specifier");
  EXPECT_EQ(decode("\"\\0\""), "ERROR: ill formed octal specifier");
  EXPECT_EQ(decode("\"\\400\""), "ERROR: octal escape out of range");
  // Lenient: what PyTorch's printer writes but its importer rejects, and common C escapes.
  EXPECT_EQ(decode("\"\\r\\x41\\0\"", true), std::string("\rA\0", 3));
}

TEST(JitStringLiteral, EncodeLikePrintQuotedString) {
  // PyTorch 1.13 printed this exact text for the value below (see the interop test models).
  EXPECT_EQ(fe::encode_string_literal("\n\t\"q\" 'a' \\ \x01\x7f"),
            "\"\\n\\t\\\"q\\\" \\'a\\' \\\\ \\001\\177\"");
  EXPECT_EQ(fe::encode_string_literal(std::string("\a\v\r\x1b\0", 5)), "\"\\a\\v\\r\\033\\000\"");
  fe::StringEncodeOptions loadable;
  loadable.cr_as_octal = true;
  EXPECT_EQ(fe::encode_string_literal("\r", loadable), "\"\\015\"");
  EXPECT_EQ(fe::encode_string_literal("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

TEST(JitStringLiteral, FormatDoubleLikeIValueRepr) {
  EXPECT_EQ(fe::format_double(1.0), "1.");
  EXPECT_EQ(fe::format_double(2.0), "2.");
  EXPECT_EQ(fe::format_double(-0.0), "-0.");
  EXPECT_EQ(fe::format_double(0.5), "0.5");
  EXPECT_EQ(fe::format_double(-1.5), "-1.5");
  EXPECT_EQ(fe::format_double(0.1), "0.10000000000000001");
  EXPECT_EQ(fe::format_double(1e-5), "1.0000000000000001e-05");
  EXPECT_EQ(fe::format_double(1e-10), "1e-10");
  EXPECT_EQ(fe::format_double(1.5e20), "1.5e+20");
  EXPECT_EQ(fe::format_double(1e10), "10000000000");
  EXPECT_EQ(fe::format_double(3.141592653589793), "3.1415926535897931");
  EXPECT_EQ(fe::format_double(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(fe::format_double(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(fe::format_double(std::nan("")), "nan");
}
