// Expression parsing: PyTorch's precedence-climbing parseExp / parseBaseExp (language
// spec 1.6, 2.1).
#include <algorithm>

#include "parser_impl.h"
#include "ptio/error.h"
#include "ptio/jit/frontend/literals.h"

namespace ptio::jit::frontend::parse_impl {
namespace {

bool unary_op_of(TokenKind k, UnaryOp* op) {
  switch (k) {
    case TokenKind::kNot:
      *op = UnaryOp::kNot;
      return true;
    case TokenKind::kDots:
      return false;
    default:
      break;
  }
  if (k == tok('~'))
    *op = UnaryOp::kInvert;
  else if (k == tok('-'))
    *op = UnaryOp::kNeg;
  else if (k == tok('*'))
    *op = UnaryOp::kStar;
  else
    return false;
  return true;
}

// Binary operators, plus `if` (ternary) and `for` (comprehension) at precedence 1.
bool binary_op_of(TokenKind k, BinaryOp* op, int* prec) {
  switch (k) {
    case TokenKind::kIf:
    case TokenKind::kFor:
      *prec = 1;
      return true;
    case TokenKind::kAnd:
      *op = BinaryOp::kAnd;
      break;
    case TokenKind::kOr:
      *op = BinaryOp::kOr;
      break;
    case TokenKind::kIn:
      *op = BinaryOp::kIn;
      break;
    case TokenKind::kNotIn:
      *op = BinaryOp::kNotIn;
      break;
    case TokenKind::kIs:
      *op = BinaryOp::kIs;
      break;
    case TokenKind::kIsNot:
      *op = BinaryOp::kIsNot;
      break;
    case TokenKind::kEq:
      *op = BinaryOp::kEq;
      break;
    case TokenKind::kLe:
      *op = BinaryOp::kLe;
      break;
    case TokenKind::kGe:
      *op = BinaryOp::kGe;
      break;
    case TokenKind::kNe:
      *op = BinaryOp::kNe;
      break;
    case TokenKind::kLShift:
      *op = BinaryOp::kLShift;
      break;
    case TokenKind::kRShift:
      *op = BinaryOp::kRShift;
      break;
    case TokenKind::kFloorDiv:
      *op = BinaryOp::kFloorDiv;
      break;
    case TokenKind::kPow:
      *op = BinaryOp::kPow;
      break;
    default:
      if (k == tok('<'))
        *op = BinaryOp::kLt;
      else if (k == tok('>'))
        *op = BinaryOp::kGt;
      else if (k == tok('|'))
        *op = BinaryOp::kBitOr;
      else if (k == tok('^'))
        *op = BinaryOp::kBitXor;
      else if (k == tok('&'))
        *op = BinaryOp::kBitAnd;
      else if (k == tok('+'))
        *op = BinaryOp::kAdd;
      else if (k == tok('-'))
        *op = BinaryOp::kSub;
      else if (k == tok('*'))
        *op = BinaryOp::kMul;
      else if (k == tok('/'))
        *op = BinaryOp::kDiv;
      else if (k == tok('%'))
        *op = BinaryOp::kMod;
      else if (k == tok('@'))
        *op = BinaryOp::kMatMul;
      else
        return false;
  }
  *prec = binary_precedence(*op);
  return true;
}

}  // namespace

void Parser::charge(std::uint64_t bytes) {
  alloc_ += bytes;
  if (alloc_ > max_alloc_) alloc_error(L.cur().range.begin);
}

void Parser::charge_string(const std::string& s) {
  if (s.capacity() > std::string().capacity()) charge(heap_block(s.capacity() + 1));  // not SSO
}

void Parser::charge_growth(std::size_t old_cap, std::size_t new_cap, std::size_t elem) {
  const std::uint64_t now = heap_block(std::uint64_t{new_cap} * elem);
  const std::uint64_t before = heap_block(std::uint64_t{old_cap} * elem);
  // A small block freed by the growth is reused by the next node; a large one (mmap'd, or left
  // free in the heap) still counts in the peak: the old blocks of one vector sum to less than its
  // final block, so charging them keeps the charge above the peak at most doubling the vector.
  if (now > before) charge(now >= kLargeBlock ? now : now - before);
}

ExprPtr Parser::node(ExprKind kind, const SourceRange& range, std::string text) {
  charge(heap_block(sizeof(Expr)));
  charge_string(text);
  auto e = std::make_unique<Expr>(kind, std::move(text));
  e->range = range;
  return e;
}

Parser::Parser(std::string_view text, std::string_view file_name, const ParseOptions& options)
    : L(text, file_name, LexerLimits{options.max_source_bytes}), options_(options) {
  max_alloc_ = options.max_alloc_bytes;
  if (max_alloc_ == 0) {
    const std::uint64_t per = options.alloc_bytes_per_source_byte;
    const std::uint64_t n = text.size();
    const std::uint64_t var = per != 0 && n > UINT64_MAX / per ? UINT64_MAX : per * n;
    max_alloc_ =
        var > UINT64_MAX - options.alloc_base_bytes ? UINT64_MAX : options.alloc_base_bytes + var;
  }
  charge(L.memory_bytes());  // the lexer's table of line starts lives as long as the parse
}

DepthGuard::DepthGuard(Parser& p) : p_(p) {
  if (++p_.depth_ > p_.options_.max_depth) {
    --p_.depth_;
    p_.limit_error(p_.L.cur().range.begin);
  }
}

void Parser::limit_error(const SourcePos& where) const {
  throw Error(ErrorCode::kLimitExceeded,
              ::ptio::detail::concat(where.line, ":", where.column, ": nesting deeper than ",
                                     options_.max_depth, " levels"),
              {}, L.file_name(), where.offset);
}

void Parser::alloc_error(const SourcePos& where) const {
  throw Error(
      ErrorCode::kLimitExceeded,
      ::ptio::detail::concat(
          where.line, ":", where.column, ": the parsed code needs more than ", max_alloc_,
          " bytes (the heap blocks of its nodes), its budget of ",
          options_.budget_note.empty()
              ? ::ptio::detail::concat("Limits::jit.alloc_base_bytes (", options_.alloc_base_bytes,
                                       ") + ", options_.alloc_bytes_per_source_byte, " x ",
                                       L.text().size(), " source bytes")
              : options_.budget_note),
      {}, L.file_name(), where.offset);
}

Token Parser::take() {
  Token t = L.next();
  if (t.kind != TokenKind::kNewline && t.kind != TokenKind::kIndent &&
      t.kind != TokenKind::kDedent && t.kind != TokenKind::kEof)
    last_end_ = t.range.end;
  return t;
}

ExprPtr Parser::finish(ExprPtr e) {
  std::uint32_t h = 0;
  for (const auto& o : e->operands)
    if (o) h = std::max(h, o->height);
  for (const auto& a : e->args) h = std::max(h, a.value->height);
  e->height = h + 1;
  if (e->height > 2 * options_.max_depth) limit_error(e->range.begin);
  return e;
}

// exp | exp, | exp, exp, ...   (a bare tuple; stops before `=`, `)`, newline, augmented ops)
ExprPtr Parser::parse_exp_or_exp_tuple() {
  auto prefix = parse_exp();
  if (L.cur().kind != tok(',')) return prefix;
  const SourcePos begin = prefix->range.begin;
  auto t = node(ExprKind::kTuple, {});
  push(t->operands, std::move(prefix));
  while (L.cur().kind == tok(',')) {
    take();
    const TokenKind k = L.cur().kind;
    if (k == tok('=') || k == tok(')') || k == TokenKind::kNewline ||
        (k >= TokenKind::kPlusEq && k <= TokenKind::kPowEq)) {
      t->trailing_comma = true;
      break;
    }
    push(t->operands, parse_exp());
  }
  t->range = span_from(begin);
  return finish(std::move(t));
}

ExprPtr Parser::parse_exp(int precedence) {
  DepthGuard guard(*this);
  ExprPtr prefix;
  UnaryOp uop;
  if (unary_op_of(L.cur().kind, &uop)) {
    const Token t = take();
    auto sub = parse_exp(unary_precedence(uop));
    if (uop == UnaryOp::kNeg && sub->kind == ExprKind::kConst) {
      // PyTorch folds '-' into number constants so that attributes accept -1.
      sub->text.insert(0, 1, '-');
      charge_string(sub->text);
      sub->range.begin = t.range.begin;
      prefix = std::move(sub);
    } else {
      prefix = node(ExprKind::kUnary, span_from(t.range.begin));
      prefix->unary_op = uop;
      push(prefix->operands, std::move(sub));
      prefix = finish(std::move(prefix));
    }
  } else {
    prefix = parse_base_exp();
  }
  BinaryOp op = BinaryOp::kAdd;
  int prec = 0;
  while (binary_op_of(L.cur().kind, &op, &prec)) {
    if (prec <= precedence) break;
    const std::uint64_t lhs_end = last_end_.offset;
    const Token op_token = take();
    const TokenKind k = op_token.kind;
    const bool compact = op_token.range.begin.offset == lhs_end &&
                         L.cur().range.begin.offset == op_token.range.end.offset;
    if (k == TokenKind::kPow || k == TokenKind::kIf) --prec;  // right associative
    const SourcePos begin = prefix->range.begin;
    ExprPtr e;
    if (k == TokenKind::kIf) {
      e = node(ExprKind::kTernary, {});
      auto cond = parse_exp();
      expect(TokenKind::kElse, "'else' in the conditional expression");
      push(e->operands, std::move(cond));
      push(e->operands, std::move(prefix));
      push(e->operands, parse_exp(prec));
    } else if (k == TokenKind::kFor) {
      e = node(ExprKind::kListComp, {});
      auto target = parse_exp(4);
      expect(TokenKind::kIn, "'in' in the comprehension");
      push(e->operands, std::move(prefix));
      push(e->operands, std::move(target));
      push(e->operands, parse_exp());
    } else {
      e = node(ExprKind::kBinary, {});
      e->binary_op = op;
      e->compact = compact && !op_token.text.empty() && op_token.text[0] != 'i' &&
                   op_token.text[0] != 'n' && op_token.text[0] != 'a' && op_token.text[0] != 'o';
      push(e->operands, std::move(prefix));
      push(e->operands, parse_exp(prec));
    }
    e->range = span_from(begin);
    prefix = finish(std::move(e));
  }
  return prefix;
}

Token Parser::expect(TokenKind kind, std::string_view what) {
  if (L.cur().kind != kind) expected(what.empty() ? token_kind_name(kind) : std::string(what));
  return take();
}

void Parser::expected(std::string_view what) {
  // A missing token before a line break is reported where the line's last token ends.
  const TokenKind k = L.cur().kind;
  const bool synthetic = k == TokenKind::kNewline || k == TokenKind::kIndent ||
                         k == TokenKind::kDedent || k == TokenKind::kEof;
  L.expected(what, synthetic && last_end_.offset > 0 ? &last_end_ : nullptr);
}

bool Parser::parse_sequence(TokenKind close, const std::function<void()>& element) {
  bool trailing = false;
  while (L.cur().kind != close) {
    element();
    if (L.cur().kind != tok(',')) {
      expect(close, "',' or '" + std::string(1, static_cast<char>(close)) + "'");
      return false;
    }
    take();
    trailing = true;
  }
  expect(close);
  return trailing;
}

ExprPtr Parser::parse_base_exp() {
  const Token& t = L.cur();
  const SourcePos begin = t.range.begin;
  ExprPtr prefix;
  switch (t.kind) {
    case TokenKind::kNumber:
      prefix = node(ExprKind::kConst, t.range, std::string(t.text));
      take();
      break;
    case TokenKind::kTrue:
      prefix = node(ExprKind::kTrue, t.range);
      take();
      break;
    case TokenKind::kFalse:
      prefix = node(ExprKind::kFalse, t.range);
      take();
      break;
    case TokenKind::kNone:
      prefix = node(ExprKind::kNone, t.range);
      take();
      break;
    case TokenKind::kNoneType:
      prefix = node(ExprKind::kNoneType, t.range);
      take();
      break;
    case TokenKind::kDots:
    case TokenKind::kEllipsis:
      prefix = node(ExprKind::kDots, t.range, std::string(t.text));
      take();
      break;
    case TokenKind::kString:
      prefix = parse_string_literals();
      break;
    case TokenKind::kIdent:
      prefix = node(ExprKind::kVar, t.range, std::string(t.text));
      take();
      break;
    default:
      if (t.kind == tok('(')) {
        take();
        if (L.cur().kind == tok(')')) {
          take();
          prefix = node(ExprKind::kTuple, span_from(begin));  // the empty tuple
          prefix->parens = 1;
          break;
        }
        prefix = parse_exp_or_exp_tuple();
        expect(tok(')'), "')'");
        if (prefix->parens < 255) ++prefix->parens;
      } else if (t.kind == tok('[')) {
        take();
        auto list = node(ExprKind::kList, {});
        list->trailing_comma = parse_sequence(tok(']'), [&] { push(list->operands, parse_exp()); });
        list->range = span_from(begin);
        if (list->operands.size() == 1 && list->operands[0]->kind == ExprKind::kListComp) {
          prefix = std::move(list->operands[0]);
          prefix->range = list->range;
          break;
        }
        for (const auto& e : list->operands)
          if (e->kind == ExprKind::kListComp)
            L.error_at(e->range.begin, "expected a single list comprehension within '[', ']'");
        prefix = finish(std::move(list));
      } else if (t.kind == tok('{')) {
        take();
        auto dict = node(ExprKind::kDict, {});
        if (L.cur().kind != tok('}')) {
          do {
            push(dict->operands, parse_exp());
            expect(tok(':'), "':' after the dict key");
            push(dict->operands, parse_exp());
          } while (L.cur().kind == tok(',') && (take(), true));
        }
        expect(tok('}'), "',' or '}'");
        dict->range = span_from(begin);
        if (dict->operands.size() == 2 && dict->operands[1]->kind == ExprKind::kListComp) {
          // {k: v for t in it}: the value parsed as a list comprehension; splice (parser.cpp).
          auto comp = std::move(dict->operands[1]);
          auto dc = node(ExprKind::kDictComp, dict->range);
          push(dc->operands, std::move(dict->operands[0]));
          for (auto& o : comp->operands) push(dc->operands, std::move(o));
          if (comp->parens) dc->parens = comp->parens;
          prefix = finish(std::move(dc));
        } else {
          prefix = finish(std::move(dict));
        }
      } else {
        expected("an expression");
      }
  }
  // Postfix: attribute access, calls, subscripts.
  while (true) {
    const TokenKind k = L.cur().kind;
    if (k == tok('.')) {
      take();
      const Token name = expect(TokenKind::kIdent, "an attribute name after '.'");
      auto e = node(ExprKind::kSelect, span_from(begin), std::string(name.text));
      push(e->operands, std::move(prefix));
      prefix = finish(std::move(e));
    } else if (k == tok('(')) {
      auto e = node(ExprKind::kApply, {});
      push(e->operands, std::move(prefix));
      parse_arguments(*e);
      e->range = span_from(begin);
      prefix = finish(std::move(e));
    } else if (k == tok('[')) {
      take();
      auto e = node(ExprKind::kSubscript, {});
      push(e->operands, std::move(prefix));
      e->trailing_comma =
          parse_sequence(tok(']'), [&] { push(e->operands, parse_subscript_item()); });
      e->range = span_from(begin);
      prefix = finish(std::move(e));
    } else {
      break;
    }
  }
  return prefix;
}

void Parser::parse_arguments(Expr& apply) {
  expect(tok('('));
  apply.trailing_comma = parse_sequence(tok(')'), [&] {
    DepthGuard guard(*this);
    Argument a;
    if (L.cur().kind == TokenKind::kIdent && L.lookahead().kind == tok('=')) {
      const Token name = take();
      a.name = std::string(name.text);
      a.name_range = name.range;
      take();  // '='
    }
    a.value = parse_exp();
    charge_string(a.name);
    push(apply.args, std::move(a));
  });
}

// [a:], [:b], [a:b], [:], [::c] and friends (parseSubscriptExp).
ExprPtr Parser::parse_subscript_item() {
  const SourcePos begin = L.cur().range.begin;
  ExprPtr first;
  if (L.cur().kind != tok(':')) first = parse_exp();
  if (L.cur().kind != tok(':')) return first;
  take();
  auto slice = node(ExprKind::kSlice, {});
  slice->operands.resize(3);
  charge_growth(0, slice->operands.capacity(), sizeof(ExprPtr));
  slice->operands[0] = std::move(first);
  auto ends = [&](bool colon_ends) {
    const TokenKind k = L.cur().kind;
    return k == tok(',') || k == tok(']') || (colon_ends && k == tok(':'));
  };
  if (!ends(true)) slice->operands[1] = parse_exp();
  if (L.cur().kind == tok(':')) {
    take();
    slice->slice_step_colon = true;
    if (!ends(false)) slice->operands[2] = parse_exp();
  }
  slice->range = span_from(begin);
  return finish(std::move(slice));
}

ExprPtr Parser::parse_string_literals() {
  const SourcePos begin = L.cur().range.begin;
  std::string value;
  std::string part;
  while (L.cur().kind == TokenKind::kString) {
    const Token t = take();
    StringDecodeError err;
    if (!decode_string_literal(t.text, options_.lenient_string_escapes, &part, &err))
      L.error_at(L.position(t.range.begin.offset + err.offset), err.message);
    value += part;
  }
  return node(ExprKind::kString, span_from(begin), std::move(value));
}

ExprPtr Parser::parse_single_expression() {
  auto e = parse_exp_or_exp_tuple();
  while (L.cur().kind == TokenKind::kNewline) take();
  if (L.cur().kind != TokenKind::kEof) expected("the end of the expression");
  return e;
}

}  // namespace ptio::jit::frontend::parse_impl
