// AST helpers: operator tables, deep copy, convenience constructors, lookups.
#include "ptio/jit/frontend/ast.h"

#include "ptio/jit/frontend/literals.h"

namespace ptio::jit::frontend {

int binary_precedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAnd:
    case BinaryOp::kOr:
      return 2;
    case BinaryOp::kIn:
    case BinaryOp::kNotIn:
    case BinaryOp::kLt:
    case BinaryOp::kGt:
    case BinaryOp::kIs:
    case BinaryOp::kIsNot:
    case BinaryOp::kEq:
    case BinaryOp::kLe:
    case BinaryOp::kGe:
    case BinaryOp::kNe:
      return 4;
    case BinaryOp::kBitOr:
      return 5;
    case BinaryOp::kBitXor:
      return 6;
    case BinaryOp::kBitAnd:
      return 7;
    case BinaryOp::kLShift:
    case BinaryOp::kRShift:
      return 8;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      return 9;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kFloorDiv:
    case BinaryOp::kMod:
    case BinaryOp::kMatMul:
      return 10;
    case BinaryOp::kPow:
      return 11;
  }
  return 0;
}

int unary_precedence(UnaryOp op) {
  return op == UnaryOp::kNot || op == UnaryOp::kInvert ? 3 : 10;
}

const char* binary_op_text(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kIn:
      return "in";
    case BinaryOp::kNotIn:
      return "not in";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kIs:
      return "is";
    case BinaryOp::kIsNot:
      return "is not";
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kBitOr:
      return "|";
    case BinaryOp::kBitXor:
      return "^";
    case BinaryOp::kBitAnd:
      return "&";
    case BinaryOp::kLShift:
      return "<<";
    case BinaryOp::kRShift:
      return ">>";
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kFloorDiv:
      return "//";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kMatMul:
      return "@";
    case BinaryOp::kPow:
      return "**";
  }
  return "?";
}

const char* unary_op_text(UnaryOp op) {
  switch (op) {
    case UnaryOp::kNeg:
      return "-";
    case UnaryOp::kNot:
      return "not ";
    case UnaryOp::kInvert:
      return "~";
    case UnaryOp::kStar:
      return "*";
  }
  return "?";
}

ExprPtr Expr::clone() const {
  auto e = std::make_unique<Expr>(kind, text);
  e->range = range;
  e->unary_op = unary_op;
  e->binary_op = binary_op;
  e->parens = parens;
  e->trailing_comma = trailing_comma;
  e->slice_step_colon = slice_step_colon;
  e->compact = compact;
  e->operands.reserve(operands.size());
  for (const auto& o : operands) e->operands.push_back(o ? o->clone() : nullptr);
  for (const auto& a : args) e->args.push_back(Argument{a.name, a.name_range, a.value->clone()});
  return e;
}

ExprPtr Expr::var(std::string name) {
  return std::make_unique<Expr>(ExprKind::kVar, std::move(name));
}
ExprPtr Expr::number(std::string spelling) {
  return std::make_unique<Expr>(ExprKind::kConst, std::move(spelling));
}
ExprPtr Expr::integer(std::int64_t v) {
  return number(std::to_string(v));
}
ExprPtr Expr::floating(double v) {
  std::string s = format_double(v);
  if (s == "inf" || s == "nan") return var(s);
  if (s == "-inf") return unary(UnaryOp::kNeg, var("inf"));
  return number(std::move(s));
}
ExprPtr Expr::string(std::string value) {
  return std::make_unique<Expr>(ExprKind::kString, std::move(value));
}
ExprPtr Expr::none() {
  return std::make_unique<Expr>(ExprKind::kNone);
}
ExprPtr Expr::select(ExprPtr value, std::string name) {
  auto e = std::make_unique<Expr>(ExprKind::kSelect, std::move(name));
  e->operands.push_back(std::move(value));
  return e;
}
ExprPtr Expr::dotted(std::string_view name) {
  ExprPtr e;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    std::string part(name.substr(start, dot == std::string_view::npos ? dot : dot - start));
    e = e ? select(std::move(e), std::move(part)) : var(std::move(part));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return e;
}
ExprPtr Expr::apply(ExprPtr callee, std::vector<ExprPtr> positional,
                    std::vector<std::pair<std::string, ExprPtr>> keywords) {
  auto e = std::make_unique<Expr>(ExprKind::kApply);
  e->operands.push_back(std::move(callee));
  for (auto& p : positional) e->args.push_back(Argument{{}, {}, std::move(p)});
  for (auto& k : keywords) e->args.push_back(Argument{std::move(k.first), {}, std::move(k.second)});
  return e;
}
ExprPtr Expr::subscript(ExprPtr value, std::vector<ExprPtr> items) {
  auto e = std::make_unique<Expr>(ExprKind::kSubscript);
  e->operands.push_back(std::move(value));
  for (auto& i : items) e->operands.push_back(std::move(i));
  return e;
}
ExprPtr Expr::unary(UnaryOp op, ExprPtr operand) {
  auto e = std::make_unique<Expr>(ExprKind::kUnary);
  e->unary_op = op;
  e->operands.push_back(std::move(operand));
  return e;
}
ExprPtr Expr::binary(BinaryOp op, ExprPtr lhs, ExprPtr rhs) {
  auto e = std::make_unique<Expr>(ExprKind::kBinary);
  e->binary_op = op;
  e->operands.push_back(std::move(lhs));
  e->operands.push_back(std::move(rhs));
  return e;
}
ExprPtr Expr::sequence(ExprKind kind, std::vector<ExprPtr> elements) {
  auto e = std::make_unique<Expr>(kind);
  e->operands = std::move(elements);
  if (kind == ExprKind::kTuple) e->parens = 1;
  return e;
}

std::string Expr::dotted_name() const {
  if (kind == ExprKind::kVar) return text;
  if (kind == ExprKind::kSelect && operands[0]) {
    std::string base = operands[0]->dotted_name();
    if (!base.empty()) return base + "." + text;
  }
  return {};
}

Stmt::Stmt() = default;
Stmt::Stmt(StmtKind k) : kind(k) {}
Stmt::~Stmt() = default;
Stmt::Stmt(Stmt&&) noexcept = default;
Stmt& Stmt::operator=(Stmt&&) noexcept = default;

std::string ClassDef::superclass_name() const {
  return superclass ? superclass->dotted_name() : std::string();
}

const ClassDef* ParsedFile::find_class(std::string_view name) const {
  for (const auto& s : items)
    if (s->kind == StmtKind::kClass && s->cls->name == name) return s->cls.get();
  return nullptr;
}

const Def* ParsedFile::find_def(std::string_view name) const {
  for (const auto& s : items)
    if (s->kind == StmtKind::kDef && s->def->name == name) return s->def.get();
  return nullptr;
}

}  // namespace ptio::jit::frontend
