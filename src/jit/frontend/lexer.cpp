// The TorchScript lexer: PyTorch's token matcher and indentation algorithm (language spec 1.2-1.4).
#include "ptio/jit/frontend/lexer.h"

#include <algorithm>
#include <array>
#include <utility>

#include "ptio/error.h"

namespace ptio::jit::frontend {
namespace {

// PyTorch's `isblank`: isspace in the C locale, except '\n'.
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

struct Spelling {
  std::string_view text;
  TokenKind kind;
};

// Everything the token trie of SharedParserData holds (single chars, operators, keywords).
constexpr std::array kSpellings = {
    Spelling{"+", tok('+')},
    Spelling{"-", tok('-')},
    Spelling{"*", tok('*')},
    Spelling{"/", tok('/')},
    Spelling{"%", tok('%')},
    Spelling{"@", tok('@')},
    Spelling{"(", tok('(')},
    Spelling{")", tok(')')},
    Spelling{"[", tok('[')},
    Spelling{"]", tok(']')},
    Spelling{":", tok(':')},
    Spelling{",", tok(',')},
    Spelling{"=", tok('=')},
    Spelling{"{", tok('{')},
    Spelling{"}", tok('}')},
    Spelling{">", tok('>')},
    Spelling{"<", tok('<')},
    Spelling{".", tok('.')},
    Spelling{"?", tok('?')},
    Spelling{"!", tok('!')},
    Spelling{"&", tok('&')},
    Spelling{"^", tok('^')},
    Spelling{"|", tok('|')},
    Spelling{"~", tok('~')},
    Spelling{"->", TokenKind::kArrow},
    Spelling{"**", TokenKind::kPow},
    Spelling{"//", TokenKind::kFloorDiv},
    Spelling{"==", TokenKind::kEq},
    Spelling{"!=", TokenKind::kNe},
    Spelling{"<=", TokenKind::kLe},
    Spelling{">=", TokenKind::kGe},
    Spelling{"<<", TokenKind::kLShift},
    Spelling{">>", TokenKind::kRShift},
    Spelling{"<=>", TokenKind::kEquivalent},
    Spelling{"+=", TokenKind::kPlusEq},
    Spelling{"-=", TokenKind::kMinusEq},
    Spelling{"*=", TokenKind::kTimesEq},
    Spelling{"/=", TokenKind::kDivEq},
    Spelling{"%=", TokenKind::kModEq},
    Spelling{"|=", TokenKind::kBitOrEq},
    Spelling{"&=", TokenKind::kBitAndEq},
    Spelling{"^=", TokenKind::kBitXorEq},
    Spelling{"<<=", TokenKind::kLShiftEq},
    Spelling{">>=", TokenKind::kRShiftEq},
    Spelling{"**=", TokenKind::kPowEq},
    Spelling{"...", TokenKind::kDots},
    Spelling{"# type:", TokenKind::kTypeComment},
    Spelling{"def", TokenKind::kDef},
    Spelling{"if", TokenKind::kIf},
    Spelling{"else", TokenKind::kElse},
    Spelling{"elif", TokenKind::kElif},
    Spelling{"while", TokenKind::kWhile},
    Spelling{"return", TokenKind::kReturn},
    Spelling{"is", TokenKind::kIs},
    Spelling{"is not", TokenKind::kIsNot},
    Spelling{"not", TokenKind::kNot},
    Spelling{"not in", TokenKind::kNotIn},
    Spelling{"and", TokenKind::kAnd},
    Spelling{"or", TokenKind::kOr},
    Spelling{"in", TokenKind::kIn},
    Spelling{"for", TokenKind::kFor},
    Spelling{"global", TokenKind::kGlobal},
    Spelling{"raise", TokenKind::kRaise},
    Spelling{"assert", TokenKind::kAssert},
    Spelling{"break", TokenKind::kBreak},
    Spelling{"continue", TokenKind::kContinue},
    Spelling{"del", TokenKind::kDel},
    Spelling{"pass", TokenKind::kPass},
    Spelling{"class", TokenKind::kClass},
    Spelling{"import", TokenKind::kImport},
    Spelling{"with", TokenKind::kWith},
    Spelling{"as", TokenKind::kAs},
    Spelling{"True", TokenKind::kTrue},
    Spelling{"False", TokenKind::kFalse},
    Spelling{"None", TokenKind::kNone},
    Spelling{"Ellipsis", TokenKind::kEllipsis},
    Spelling{"NoneType", TokenKind::kNoneType},
};

// kSpellings by first character, longest first: the candidates match_operator_or_ident tries.
struct SpellingIndex {
  std::array<std::vector<const Spelling*>, 256> by_first;
  SpellingIndex() {
    for (const auto& s : kSpellings) by_first[static_cast<unsigned char>(s.text[0])].push_back(&s);
    for (auto& v : by_first)
      std::stable_sort(v.begin(), v.end(), [](const Spelling* a, const Spelling* b) {
        return a->text.size() > b->text.size();
      });
  }
};

const SpellingIndex& spelling_index() {
  static const SpellingIndex index;
  return index;
}

}  // namespace

std::string token_kind_name(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEof:
      return "end of file";
    case TokenKind::kNewline:
      return "newline";
    case TokenKind::kIndent:
      return "indent";
    case TokenKind::kDedent:
      return "dedent";
    case TokenKind::kNumber:
      return "number";
    case TokenKind::kString:
      return "string literal";
    case TokenKind::kIdent:
      return "identifier";
    default:
      break;
  }
  for (const auto& s : kSpellings)
    if (s.kind == kind) return "'" + std::string(s.text) + "'";
  return "token " + std::to_string(static_cast<int>(kind));
}

Lexer::Lexer(std::string_view text, std::string_view file_name, const LexerLimits& limits)
    : text_(text), file_name_(file_name) {
  if (text.size() > limits.max_source_bytes) {
    throw Error(ErrorCode::kLimitExceeded,
                detail::concat("source text of ", text.size(), " bytes exceeds the limit of ",
                               limits.max_source_bytes, " bytes"),
                {}, file_name_);
  }
  line_starts_.push_back(0);
  for (std::size_t i = text.find('\n'); i != std::string_view::npos; i = text.find('\n', i + 1))
    line_starts_.push_back(i + 1);
  // The indentation of the first non-blank line is the bottom of the stack (spec 1.3).
  const Raw first = lex_raw(/*whitespace_token=*/true);
  indent_stack_.push_back(first.at_eof ? 0 : first.end - first.begin);
  lex();
}

SourcePos Lexer::position(std::uint64_t offset) const {
  // `line` = how many line starts are <= offset. Tokens come in order: try the last line and the
  // few after it before a binary search.
  std::size_t line = line_hint_;
  if (line_starts_[line - 1] <= offset) {
    for (int step = 0; step < 4 && line < line_starts_.size() && line_starts_[line] <= offset;
         ++step)
      ++line;
  }
  if (line_starts_[line - 1] > offset ||
      (line < line_starts_.size() && line_starts_[line] <= offset)) {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    line = static_cast<std::size_t>(it - line_starts_.begin());
  }
  line_hint_ = line;
  SourcePos p;
  p.line = static_cast<std::uint32_t>(line);
  p.column = static_cast<std::uint32_t>(offset - line_starts_[line - 1] + 1);
  p.offset = offset;
  return p;
}

void Lexer::error_at(const SourcePos& where, std::string_view what) const {
  throw Error(ErrorCode::kJitSyntax, detail::concat(where.line, ":", where.column, ": ", what), {},
              file_name_, where.offset);
}

void Lexer::expected(std::string_view what, const SourcePos* where) {
  const Token& t = cur();
  std::string found = token_kind_name(t.kind);
  if (t.kind == TokenKind::kIdent || t.kind == TokenKind::kNumber)
    found += " '" + std::string(t.text) + "'";
  error_at(where ? *where : t.range.begin, detail::concat("expected ", what, ", found ", found));
}

const Token& Lexer::cur() {
  return queue_[queue_head_];
}

const Token& Lexer::lookahead() {
  while (queue_.size() - queue_head_ < 2) lex();
  return queue_[queue_head_ + 1];
}

Token Lexer::next() {
  Token t = queue_[queue_head_++];
  if (queue_head_ == queue_.size()) {
    queue_.clear();  // keeps the capacity: no allocation per token
    queue_head_ = 0;
    lex();
  }
  return t;
}

bool Lexer::next_if(TokenKind kind) {
  if (cur().kind != kind) return false;
  next();
  return true;
}

Token Lexer::expect(TokenKind kind, std::string_view what) {
  if (cur().kind != kind) expected(what.empty() ? token_kind_name(kind) : std::string(what));
  return next();
}

Token Lexer::make(TokenKind kind, std::size_t begin, std::size_t end) const {
  Token t;
  t.kind = kind;
  t.range.begin = position(begin);
  t.range.end = position(end);
  t.text = text_.substr(begin, end - begin);
  return t;
}

void Lexer::lex() {
  const Raw r = lex_raw(/*whitespace_token=*/false);
  if (!r.whitespace) {
    Token t = make(r.kind, r.begin, r.end);
    if (r.kind == tok('(') || r.kind == tok('[') || r.kind == tok('{')) ++nesting_;
    if ((r.kind == tok(')') || r.kind == tok(']') || r.kind == tok('}')) && nesting_ > 0)
      --nesting_;
    queue_.push_back(t);
    return;
  }
  // Whitespace after a newline: its length is the next line's indentation (spec 1.3).
  const std::size_t depth = r.at_eof ? indent_stack_.front() : r.end - r.begin;
  Token t = make(TokenKind::kNewline, r.begin, r.end);
  t.text = {};
  if (depth > indent_stack_.back()) {
    indent_stack_.push_back(depth);
    t.kind = TokenKind::kIndent;
    queue_.push_back(t);
  } else if (depth == indent_stack_.back()) {
    queue_.push_back(t);
  } else {
    queue_.push_back(t);
    while (indent_stack_.back() != depth) {
      indent_stack_.pop_back();
      t.kind = TokenKind::kDedent;
      queue_.push_back(t);
      if (indent_stack_.empty()) {
        error_at(t.range.end, detail::concat("invalid indent level ", depth,
                                             ": the dedent matches no enclosing block"));
      }
    }
  }
}

std::size_t Lexer::skip_blanks(std::size_t p) const {
  while (p < text_.size() && is_blank(text_[p])) ++p;
  return p;
}

Lexer::Raw Lexer::lex_raw(bool whitespace_token) {
  const std::size_t n = text_.size();
  std::size_t p = pos_;
  std::size_t start = p;
  // SharedParserData::match, with its tail recursion turned into a loop.
  while (true) {
    start = p;
    p = skip_blanks(p);
    if (p < n && text_[p] == '#' && text_.substr(p, 7) != "# type:") {
      while (p < n && text_[p] != '\n') ++p;
      continue;
    }
    if (p + 1 < n && text_[p] == '\\' && text_[p + 1] == '\n' && !whitespace_token) {
      p += 2;
      continue;
    }
    if (p < n && text_[p] == '\n') {
      ++p;
      whitespace_token = nesting_ == 0;
      continue;
    }
    break;
  }
  if (whitespace_token) {
    pos_ = p;
    return Raw{TokenKind::kNewline, start, p, true, p >= n};
  }
  if (p >= n) {
    pos_ = p;
    return Raw{TokenKind::kEof, p, p, false, true};
  }
  std::size_t len = 0;
  TokenKind kind = TokenKind::kEof;
  if (match_number(p, &len)) {
    kind = TokenKind::kNumber;
  } else if (match_string(p, &len)) {
    kind = TokenKind::kString;
  } else if (!match_operator_or_ident(p, &kind, &len)) {
    if (text_[p] == '"' || text_[p] == '\'') error_at(position(p), "unterminated string literal");
    const auto c = static_cast<unsigned char>(text_[p]);
    error_at(position(p), c >= 0x20 && c < 0x7f
                              ? detail::concat("unexpected character '", text_[p], "'")
                              : detail::concat("unexpected byte 0x", detail::hex(c).substr(2)));
  }
  pos_ = p + len;
  return Raw{kind, p, p + len, false, false};
}

// `isNumber`: the lexer refuses a leading sign or letter, then takes what C's strtod would
// consume (decimal or hexadecimal floating point), plus one trailing 'j' (imaginary).
bool Lexer::match_number(std::size_t p, std::size_t* len) const {
  const std::size_t n = text_.size();
  auto at = [&](std::size_t i) { return i < n ? text_[i] : '\0'; };
  std::size_t q = p;
  if (at(q) == '0' && (at(q + 1) == 'x' || at(q + 1) == 'X')) {
    std::size_t r = q + 2;
    std::size_t digits = 0;
    while (is_hex(at(r))) ++r, ++digits;
    if (at(r) == '.') {
      ++r;
      while (is_hex(at(r))) ++r, ++digits;
    }
    if (digits > 0) {
      if (at(r) == 'p' || at(r) == 'P') {
        std::size_t e = r + 1;
        if (at(e) == '+' || at(e) == '-') ++e;
        if (is_digit(at(e))) {
          while (is_digit(at(e))) ++e;
          r = e;
        }
      }
      q = r;
    } else {
      q = q + 1;  // strtod reads "0" and stops at the 'x'
    }
  } else {
    std::size_t digits = 0;
    while (is_digit(at(q))) ++q, ++digits;
    if (at(q) == '.') {
      std::size_t r = q + 1;
      while (is_digit(at(r))) ++r, ++digits;
      if (digits > 0) q = r;
    }
    if (digits == 0) return false;
    if (at(q) == 'e' || at(q) == 'E') {
      std::size_t e = q + 1;
      if (at(e) == '+' || at(e) == '-') ++e;
      if (is_digit(at(e))) {
        while (is_digit(at(e))) ++e;
        q = e;
      }
    }
  }
  if (at(q) == 'j') ++q;
  *len = q - p;
  return true;
}

// `isString`: 1 or 3 quotes; a backslash skips the next character; single-quoted strings may not
// contain a raw newline.
bool Lexer::match_string(std::size_t p, std::size_t* len) const {
  const char quote = text_[p];
  if (quote != '"' && quote != '\'') return false;
  const std::size_t n = text_.size();
  auto quotes_at = [&](std::size_t i, std::size_t count) {
    if (i + count > n) return false;
    for (std::size_t k = 0; k < count; ++k)
      if (text_[i + k] != quote) return false;
    return true;
  };
  const std::size_t quote_len = quotes_at(p, 3) ? 3 : 1;
  std::size_t end = p + quote_len;
  while (end < n && !quotes_at(end, quote_len)) {
    if (text_[end] == '\n' && quote_len != 3) return false;
    if (text_[end] == '\\') ++end;
    ++end;
  }
  if (end >= n) return false;
  *len = end - p + quote_len;
  return true;
}

// The trie walk of SharedParserData::match: the longest of (identifier, complete token) wins;
// on equal length the token wins, so `if` is a keyword and `iffy` an identifier.
bool Lexer::match_operator_or_ident(std::size_t p, TokenKind* kind, std::size_t* len) const {
  const std::string_view rest = text_.substr(p);
  std::size_t ident_len = 0;
  while (ident_len < rest.size() && (is_alpha(rest[ident_len]) || rest[ident_len] == '_' ||
                                     (ident_len > 0 && is_digit(rest[ident_len]))))
    ++ident_len;
  std::size_t best = 0;
  TokenKind best_kind = TokenKind::kEof;
  if (!rest.empty()) {
    // Only spellings with the same first character can match; the longest matching one wins.
    for (const Spelling* s : spelling_index().by_first[static_cast<unsigned char>(rest[0])]) {
      if (ident_len > 0 && s->text.size() < ident_len) break;  // the identifier is longer
      if (rest.starts_with(s->text)) {
        best = s->text.size();
        best_kind = s->kind;
        break;
      }
    }
  }
  if (best == 0 && ident_len == 0) return false;
  if (ident_len > best) {
    *kind = TokenKind::kIdent;
    *len = ident_len;
  } else {
    *kind = best_kind;
    *len = best;
  }
  return true;
}

}  // namespace ptio::jit::frontend
