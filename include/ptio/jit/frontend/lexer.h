// Source positions, tokens and the lexer of the TorchScript source language (code/ records).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ptio/export.h"

namespace ptio::jit::frontend {

/// A position in a source text: 1-based line and column (columns count bytes, a tab is one
/// column), and the 0-based byte offset from the start of the text.
struct SourcePos {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
  std::uint64_t offset = 0;
  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

/// A half-open span [begin, end) of a source text. Mirrors the start/end offsets of PyTorch's
/// `SourceRange` (torch/csrc/jit/frontend/source_range.h), with line and column resolved.
struct SourceRange {
  SourcePos begin;
  SourcePos end;
  friend bool operator==(const SourceRange&, const SourceRange&) = default;
};

/// Token kinds of PyTorch's lexer (`TC_FORALL_TOKEN_KINDS` in lexer.h), without the kinds that
/// only name AST nodes there. Single-character tokens (`+ - * / % @ ( ) [ ] : , = { } > < . ? !
/// & ^ | ~`) use their character value; everything else is >= 256.
enum class TokenKind : std::uint16_t {
  kEof = 256,
  kNewline,  ///< end of a logical line at unchanged indentation
  kIndent,   ///< replaces the NEWLINE of a line followed by a deeper-indented one
  kDedent,   ///< one per closed indentation level, after a NEWLINE
  kNumber,   ///< text as written: `1`, `2.5`, `1e-05`, `0x1F`, `2j`
  kString,   ///< one quoted literal, text includes the quotes and escapes
  kIdent,
  kTypeComment,  ///< the text `# type:` at the start of a comment
  // multi-character operators
  kArrow,       ///< ->
  kPow,         ///< **
  kFloorDiv,    ///< //
  kEq,          ///< ==
  kNe,          ///< !=
  kLe,          ///< <=
  kGe,          ///< >=
  kLShift,      ///< <<
  kRShift,      ///< >>
  kEquivalent,  ///< <=> (a token PyTorch defines but never uses)
  kPlusEq,      ///< +=
  kMinusEq,     ///< -=
  kTimesEq,     ///< *=
  kDivEq,       ///< /=
  kModEq,       ///< %=
  kBitOrEq,     ///< |=
  kBitAndEq,    ///< &=
  kBitXorEq,    ///< ^=
  kLShiftEq,    ///< <<=
  kRShiftEq,    ///< >>=
  kPowEq,       ///< **=
  kDots,        ///< ...
  // keywords
  kDef,
  kIf,
  kElse,
  kElif,
  kWhile,
  kReturn,
  kIs,
  kIsNot,
  kNot,
  kNotIn,
  kAnd,
  kOr,
  kIn,
  kFor,
  kGlobal,
  kRaise,
  kAssert,
  kBreak,
  kContinue,
  kDel,
  kPass,
  kClass,
  kImport,
  kWith,
  kAs,
  kTrue,
  kFalse,
  kNone,
  kEllipsis,
  kNoneType,
};

/// A single-character token kind, e.g. `tok('(')`.
constexpr TokenKind tok(char c) {
  return static_cast<TokenKind>(static_cast<unsigned char>(c));
}

/// How a token kind is named in error messages: `'('`, `'def'`, `newline`, `identifier`.
PTIO_API std::string token_kind_name(TokenKind kind);

/// One token. `text` views the source text (empty for NEWLINE/INDENT/DEDENT/EOF); it stays valid
/// as long as the text given to the Lexer.
struct Token {
  TokenKind kind = TokenKind::kEof;
  SourceRange range;
  std::string_view text;
};

/// Limits that keep hostile input from exhausting memory; see ParseOptions.
struct LexerLimits {
  std::uint64_t max_source_bytes = 16u << 20;  ///< larger texts: Error(kLimitExceeded)
};

/// The TorchScript lexer, a re-implementation of PyTorch's `Lexer` + `SharedParserData::match`
/// (torch/csrc/jit/frontend/lexer.h): Python indentation rules with an indentation stack whose
/// bottom is the indentation of the first line, NEWLINE/INDENT/DEDENT synthesis, newlines ignored
/// inside brackets, `\` line joining, `#` comments (except `# type:`), longest-match keywords and
/// operators (`is not`, `not in` are single tokens), numbers as C `strtod` reads them plus a
/// trailing `j`, and quoted strings (1 or 3 quotes, no prefixes).
///
/// The lexer views `text` (the caller keeps it alive) and produces tokens on demand. Errors
/// (a character that starts no token, an unterminated string, an inconsistent dedent) throw
/// ptio::Error(kJitSyntax) with record = `file_name`, offset = byte offset and `line:col: ...`
/// in the message.
class PTIO_API Lexer {
 public:
  Lexer(std::string_view text, std::string_view file_name, const LexerLimits& limits = {});

  /// The current token (never consumed by this call).
  const Token& cur();
  /// The token after the current one.
  const Token& lookahead();
  /// Returns the current token and advances.
  Token next();
  /// Advances if the current token has `kind`.
  bool next_if(TokenKind kind);
  /// Returns the current token and advances if it has `kind`; otherwise throws kJitSyntax
  /// "expected <what>, found <token>".
  Token expect(TokenKind kind, std::string_view what = {});

  /// Resolves a byte offset of the text into line and column (fast for offsets at or just after
  /// the previous one, as tokens come; it remembers that line, so one Lexer is not for several
  /// threads at once).
  SourcePos position(std::uint64_t offset) const;
  /// Heap bytes the lexer holds for the whole text (its table of line starts, 8 bytes a line).
  std::uint64_t memory_bytes() const { return line_starts_.capacity() * sizeof(std::size_t); }
  std::string_view text() const { return text_; }
  const std::string& file_name() const { return file_name_; }

  /// Throws ptio::Error(kJitSyntax) located at `where` with message `line:col: what`.
  [[noreturn]] void error_at(const SourcePos& where, std::string_view what) const;
  /// Throws "expected <what>, found <description of the current token>", located at `where`
  /// or, when null, at the current token.
  [[noreturn]] void expected(std::string_view what, const SourcePos* where = nullptr);

 private:
  struct Raw {
    TokenKind kind;
    std::size_t begin, end;
    bool whitespace;  // a whitespace token (length = indentation), or end of input after one
    bool at_eof;
  };
  Raw lex_raw(bool whitespace_token);
  void lex();
  Token make(TokenKind kind, std::size_t begin, std::size_t end) const;
  std::size_t skip_blanks(std::size_t p) const;
  bool match_number(std::size_t p, std::size_t* len) const;
  bool match_string(std::size_t p, std::size_t* len) const;
  bool match_operator_or_ident(std::size_t p, TokenKind* kind, std::size_t* len) const;

  std::string_view text_;
  std::string file_name_;
  std::vector<std::size_t> line_starts_;
  mutable std::size_t line_hint_ = 1;  // the line of the last position() (1-based)
  std::size_t pos_ = 0;
  std::size_t nesting_ = 0;
  std::vector<std::size_t> indent_stack_;
  std::vector<Token> queue_;  // tokens lexed ahead, from queue_head_; reused without allocating
  std::size_t queue_head_ = 0;
};

}  // namespace ptio::jit::frontend
