// Statement, def, class and file parsing: PyTorch's parseStmt/parseFunction/parseClass and the
// SourceImporter's file-level loop (language spec 2.1, spec-torchscript 4.2).
#include "parser_impl.h"
#include "ptio/error.h"

namespace ptio::jit::frontend::parse_impl {
namespace {

bool aug_op_of(TokenKind k, BinaryOp* op) {
  switch (k) {
    case TokenKind::kPlusEq:
      *op = BinaryOp::kAdd;
      return true;
    case TokenKind::kMinusEq:
      *op = BinaryOp::kSub;
      return true;
    case TokenKind::kTimesEq:
      *op = BinaryOp::kMul;
      return true;
    case TokenKind::kDivEq:
      *op = BinaryOp::kDiv;
      return true;
    case TokenKind::kModEq:
      *op = BinaryOp::kMod;
      return true;
    case TokenKind::kBitOrEq:
      *op = BinaryOp::kBitOr;
      return true;
    case TokenKind::kBitAndEq:
      *op = BinaryOp::kBitAnd;
      return true;
    case TokenKind::kBitXorEq:
      *op = BinaryOp::kBitXor;
      return true;
    case TokenKind::kLShiftEq:
      *op = BinaryOp::kLShift;
      return true;
    case TokenKind::kRShiftEq:
      *op = BinaryOp::kRShift;
      return true;
    case TokenKind::kPowEq:
      *op = BinaryOp::kPow;
      return true;
    default:
      return false;
  }
}

}  // namespace

StmtPtr Parser::stmt(StmtKind kind, const SourcePos& begin) {
  charge(heap_block(sizeof(Stmt)));
  auto s = std::make_unique<Stmt>(kind);
  s->range.begin = begin;
  return s;
}

std::vector<StmtPtr> Parser::parse_block(bool in_class) {
  DepthGuard guard(*this);
  expect(TokenKind::kIndent, "an indented block");
  std::vector<StmtPtr> stmts;
  do {
    push(stmts, parse_stmt(in_class));
  } while (!L.next_if(TokenKind::kDedent));
  return stmts;
}

StmtPtr Parser::parse_stmt(bool in_class) {
  const Token& t = L.cur();
  const SourcePos begin = t.range.begin;
  StmtPtr s;
  switch (t.kind) {
    case TokenKind::kIf:
      return parse_if(true);
    case TokenKind::kWhile: {
      take();
      s = stmt(StmtKind::kWhile, begin);
      s->value = parse_exp();
      expect(tok(':'), "':' after the condition");
      s->range.end = last_end_;
      s->body = parse_block(false);
      return s;
    }
    case TokenKind::kFor:
      return parse_for();
    case TokenKind::kWith:
      return parse_with();
    case TokenKind::kDef: {
      s = stmt(StmtKind::kDef, begin);
      s->def = parse_function(in_class);
      s->range = s->def->range;
      return s;
    }
    case TokenKind::kGlobal:
      take();
      s = stmt(StmtKind::kGlobal, begin);
      do {
        push(s->names, std::string(expect(TokenKind::kIdent, "a name after 'global'").text));
        charge_string(s->names.back());
      } while (L.cur().kind == tok(',') && (take(), true));
      break;
    case TokenKind::kReturn:
      take();
      s = stmt(StmtKind::kReturn, begin);
      if (L.cur().kind != TokenKind::kNewline) s->value = parse_exp_or_exp_tuple();
      break;
    case TokenKind::kRaise:
      take();
      s = stmt(StmtKind::kRaise, begin);
      s->value = parse_exp();
      break;
    case TokenKind::kAssert:
      take();
      s = stmt(StmtKind::kAssert, begin);
      s->value = parse_exp();
      if (L.cur().kind == tok(',')) {
        take();
        s->message = parse_exp();
      }
      break;
    case TokenKind::kBreak:
      take();
      s = stmt(StmtKind::kBreak, begin);
      break;
    case TokenKind::kContinue:
      take();
      s = stmt(StmtKind::kContinue, begin);
      break;
    case TokenKind::kPass:
      take();
      s = stmt(StmtKind::kPass, begin);
      break;
    case TokenKind::kDel:
      take();
      s = stmt(StmtKind::kDelete, begin);
      do {
        push(s->targets, parse_exp());
      } while (L.cur().kind == tok(',') && (take(), true));
      break;
    default: {
      auto lhs = parse_exp_or_exp_tuple();
      if (L.cur().kind != TokenKind::kNewline) return parse_assign(std::move(lhs));
      s = stmt(StmtKind::kExpr, begin);
      s->value = std::move(lhs);
      break;
    }
  }
  s->range.end = last_end_;
  expect(TokenKind::kNewline, "the end of the statement (a newline)");
  return s;
}

// `lhs [: type] (= rhs)+`, `lhs augop rhs`, or a bare annotation `lhs : type` (parseAssign).
StmtPtr Parser::parse_assign(ExprPtr lhs) {
  const SourcePos begin = lhs->range.begin;
  ExprPtr type;
  if (L.cur().kind == tok(':')) {
    take();
    type = parse_exp();
  }
  BinaryOp op;
  StmtPtr s;
  if (L.cur().kind == tok('=')) {
    take();
    s = stmt(StmtKind::kAssign, begin);
    auto rhs = parse_exp_or_exp_tuple();
    push(s->targets, std::move(lhs));
    while (L.cur().kind == tok('=')) {
      take();
      push(s->targets, std::move(rhs));
      rhs = parse_exp_or_exp_tuple();
    }
    if (type && s->targets.size() > 1)
      L.error_at(type->range.begin, "annotated multiple assignment is not supported");
    s->value = std::move(rhs);
    s->type = std::move(type);
  } else if (aug_op_of(L.cur().kind, &op)) {
    take();
    if (lhs->kind == ExprKind::kTuple)
      L.error_at(lhs->range.begin, "augmented assignment can only have one LHS expression");
    s = stmt(StmtKind::kAugAssign, begin);
    s->aug_op = op;
    push(s->targets, std::move(lhs));
    s->value = parse_exp_or_exp_tuple();
  } else {
    if (!type) expected("'=' or the end of the statement (a newline)");
    s = stmt(StmtKind::kAssign, begin);
    push(s->targets, std::move(lhs));
    s->type = std::move(type);
  }
  s->range.end = last_end_;
  expect(TokenKind::kNewline, "the end of the statement (a newline)");
  return s;
}

StmtPtr Parser::parse_if(bool expect_if) {
  const SourcePos begin = L.cur().range.begin;
  if (expect_if) take();
  auto s = stmt(StmtKind::kIf, begin);
  s->is_elif = !expect_if;
  s->value = parse_exp();
  expect(tok(':'), "':' after the condition");
  s->range.end = last_end_;
  s->body = parse_block(false);
  if (L.cur().kind == TokenKind::kElse) {
    take();
    expect(tok(':'), "':' after 'else'");
    s->orelse = parse_block(false);
  } else if (L.cur().kind == TokenKind::kElif) {
    take();
    DepthGuard guard(*this);
    push(s->orelse, parse_if(false));
  }
  return s;
}

StmtPtr Parser::parse_for() {
  const SourcePos begin = take().range.begin;
  auto s = stmt(StmtKind::kFor, begin);
  while (L.cur().kind != TokenKind::kIn) {
    push(s->targets, parse_exp(4));
    if (L.cur().kind != tok(',')) break;
    take();
  }
  expect(TokenKind::kIn, "'in' after the loop variables");
  while (L.cur().kind != tok(':')) {
    push(s->iters, parse_exp());
    if (L.cur().kind != tok(',')) break;
    take();
  }
  expect(tok(':'), "':' after the loop header");
  s->range.end = last_end_;
  s->body = parse_block(false);
  return s;
}

StmtPtr Parser::parse_with() {
  const SourcePos begin = take().range.begin;
  auto s = stmt(StmtKind::kWith, begin);
  while (L.cur().kind != tok(':')) {
    WithItem item;
    item.expr = parse_exp();
    if (L.cur().kind == TokenKind::kAs) {
      take();
      const Token name = expect(TokenKind::kIdent, "a name after 'as'");
      item.as_name = std::string(name.text);
      charge_string(item.as_name);
      item.as_range = name.range;
    }
    push(s->items, std::move(item));
    if (L.cur().kind != tok(',')) break;
    take();
  }
  expect(tok(':'), "':' after the with items");
  s->range.end = last_end_;
  s->body = parse_block(false);
  return s;
}

Param Parser::parse_param(bool kwarg_only) {
  const Token name = expect(TokenKind::kIdent, "a parameter name");
  Param p;
  p.name = std::string(name.text);
  charge_string(p.name);
  p.kwarg_only = kwarg_only;
  if (L.cur().kind == tok(':')) {
    take();
    p.type = parse_exp();
  }
  if (L.cur().kind == tok('=')) {
    take();
    p.default_value = parse_exp();
  }
  p.range = span_from(name.range.begin);
  return p;
}

// `# type: (T1, T2) -> R` as the first line of a body (parseTypeComment +
// mergeTypesFromTypeComment): the types replace the parameters' annotations.
void Parser::parse_type_comment(Def& def, bool is_method) {
  const Token t = take();
  expect(tok('('), "'(' after '# type:'");
  std::vector<ExprPtr> types;
  parse_sequence(tok(')'), [&] { push(types, parse_exp()); });
  ExprPtr ret;
  if (L.cur().kind == TokenKind::kArrow) {
    take();
    ret = parse_exp();
  }
  const std::size_t skip = is_method && !def.params.empty() ? 1 : 0;
  if (types.size() + skip != def.params.size()) {
    L.error_at(
        t.range.begin,
        ::ptio::detail::concat("number of type annotations (", types.size(),
                               ") did not match the number of ", is_method ? "method" : "function",
                               " parameters (", def.params.size() - skip, ")"));
  }
  for (std::size_t i = 0; i < types.size(); ++i) def.params[i + skip].type = std::move(types[i]);
  def.return_type = std::move(ret);
}

std::unique_ptr<Def> Parser::parse_function(bool is_method) {
  DepthGuard guard(*this);
  charge(heap_block(sizeof(Def)));
  auto def = std::make_unique<Def>();
  def->range.begin = expect(TokenKind::kDef).range.begin;
  const Token name = expect(TokenKind::kIdent, "a function name after 'def'");
  def->name = std::string(name.text);
  charge_string(def->name);
  def->name_range = name.range;
  expect(tok('('), "'(' after the function name");
  bool kwarg_only = false;
  parse_sequence(tok(')'), [&] {
    if (!kwarg_only && L.cur().kind == tok('*')) {
      take();
      kwarg_only = true;
      def->star_index = def->params.size();
    } else {
      push(def->params, parse_param(kwarg_only));
    }
  });
  if (def->params.size() >= 2 && def->params[1].range.begin.line == def->params[0].range.begin.line)
    def->layout = ParamLayout::kInline;
  if (L.cur().kind == TokenKind::kArrow) {
    take();
    def->return_type = parse_exp();
  }
  expect(tok(':'), "':' after the function signature");
  if (L.next_if(TokenKind::kIndent)) {
    if (L.cur().kind == TokenKind::kTypeComment) {
      parse_type_comment(*def, is_method);
      expect(TokenKind::kNewline, "the end of the type comment");
    }
    do {
      push(def->body, parse_stmt(false));
    } while (!L.next_if(TokenKind::kDedent));
  } else {
    if (L.cur().kind == TokenKind::kTypeComment) parse_type_comment(*def, is_method);
    push(def->body, parse_stmt(is_method));
  }
  def->range.end = last_end_;
  return def;
}

std::unique_ptr<ClassDef> Parser::parse_class() {
  charge(heap_block(sizeof(ClassDef)));
  auto cls = std::make_unique<ClassDef>();
  cls->range.begin = expect(TokenKind::kClass).range.begin;
  const Token name = expect(TokenKind::kIdent, "a class name after 'class'");
  cls->name = std::string(name.text);
  charge_string(cls->name);
  cls->name_range = name.range;
  if (L.cur().kind == tok('(')) {
    take();
    cls->superclass = parse_exp();
    expect(tok(')'), "')' after the superclass");
  }
  expect(tok(':'), "':' after the class header");
  cls->body = parse_block(true);
  cls->range.end = last_end_;
  return cls;
}

ParsedFile Parser::parse_file() {
  ParsedFile file;
  file.file_name = L.file_name();
  // Legacy header (import_source.cpp parsePossibleVersionNumber): `op_version_set = N`.
  if (L.cur().kind == TokenKind::kIdent && L.cur().text == "op_version_set") {
    take();
    expect(tok('='), "'=' after op_version_set");
    file.op_version_set = std::string(expect(TokenKind::kNumber, "a version number").text);
    expect(TokenKind::kNewline, "the end of the op_version_set line");
  }
  while (L.cur().kind != TokenKind::kEof) {
    const SourcePos begin = L.cur().range.begin;
    if (L.cur().kind == TokenKind::kImport) {
      // parseImports: every token up to the newline is ignored.
      take();
      const std::uint64_t from = L.cur().range.begin.offset;
      std::uint64_t to = from;
      while (L.cur().kind != TokenKind::kNewline) {
        if (L.cur().kind == TokenKind::kEof) expected("the end of the import line");
        to = take().range.end.offset;
      }
      auto s = stmt(StmtKind::kImport, begin);
      s->text = std::string(L.text().substr(from, to - from));
      charge_string(s->text);
      s->range.end = last_end_;
      take();
      push(file.items, std::move(s));
    } else if (L.cur().kind == TokenKind::kClass) {
      auto s = stmt(StmtKind::kClass, begin);
      s->cls = parse_class();
      s->range = s->cls->range;
      push(file.items, std::move(s));
    } else if (L.cur().kind == TokenKind::kDef) {
      auto s = stmt(StmtKind::kDef, begin);
      s->def = parse_function(false);
      s->range = s->def->range;
      push(file.items, std::move(s));
    } else {
      expected("'class' or 'def' at the top level of a code file");
    }
  }
  file.alloc_bytes = alloc_;
  return file;
}

}  // namespace ptio::jit::frontend::parse_impl

namespace ptio::jit::frontend {

ParsedFile parse_source(std::string_view text, std::string_view file_name,
                        const ParseOptions& options) {
  parse_impl::Parser p(text, file_name, options);
  return p.parse_file();
}

ExprPtr parse_expression(std::string_view text, std::string_view file_name,
                         const ParseOptions& options) {
  parse_impl::Parser p(text, file_name, options);
  return p.parse_single_expression();
}

}  // namespace ptio::jit::frontend
