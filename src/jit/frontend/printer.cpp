// The printer: PythonPrint's layout (spec-torchscript 7.1-7.4) with precedence-aware parentheses.
#include "ptio/jit/frontend/printer.h"

#include <algorithm>

#include "ptio/error.h"

namespace ptio::jit::frontend {
namespace {

// Where an expression is printed, i.e. how the parser will read it back:
//  kTop      parse_exp(0): anything but a bare tuple;
//  kTopTuple a statement's expression list: a bare tuple is fine;
//  kLhs      left operand of an operator of precedence `prec` (its right operand follows);
//  kLevel    parsed by parse_exp(prec) (right operands, unary operands, loop targets);
//  kPostfix  before `.name`, `(args)` or `[items]`.
struct Pos {
  enum Kind { kTop, kTopTuple, kLhs, kLevel, kPostfix } kind;
  int prec = 0;
  bool right_assoc = false;
};
constexpr Pos kTop{Pos::kTop};
constexpr Pos kTopTuple{Pos::kTopTuple};
constexpr Pos kPostfix{Pos::kPostfix};

constexpr int kAtom = 100;

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
// Characters an operand may start with right after a symbolic operator without lexing into it.
bool starts_operand(char c) {
  return is_ident_char(c) || c == '.' || c == '(' || c == '[' || c == '{' || c == '"' || c == '\'';
}

bool is_bare_tuple(const Expr& e) {
  return e.kind == ExprKind::kTuple && !e.operands.empty();
}
bool is_unary_like(const Expr& e) {
  return e.kind == ExprKind::kUnary ||
         (e.kind == ExprKind::kConst && !e.text.empty() && e.text[0] == '-');
}
int precedence_of(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBinary:
      return binary_precedence(e.binary_op);
    case ExprKind::kUnary:
      return unary_precedence(e.unary_op);
    case ExprKind::kTernary:
      return 1;
    case ExprKind::kConst:
      return is_unary_like(e) ? 10 : kAtom;
    default:
      return kAtom;
  }
}

bool needs_parens(const Expr& e, const Pos& pos) {
  if (is_bare_tuple(e)) return pos.kind != Pos::kTopTuple;
  const int p = precedence_of(e);
  switch (pos.kind) {
    case Pos::kTop:
    case Pos::kTopTuple:
      return false;
    case Pos::kPostfix:
      return p < kAtom || e.kind == ExprKind::kConst;
    case Pos::kLhs:
      // A ternary's else-branch would swallow the operator that follows it.
      if (e.kind == ExprKind::kTernary) return true;
      return pos.right_assoc ? p <= pos.prec : p < pos.prec;
    case Pos::kLevel:
      return is_unary_like(e) ? p < pos.prec : p <= pos.prec;
  }
  return false;
}

Pos lhs_of(int prec, bool right) {
  return Pos{Pos::kLhs, prec, right};
}
Pos level(int prec) {
  return Pos{Pos::kLevel, prec, false};
}

class Printer {
 public:
  explicit Printer(const PrintOptions& o) : opts_(o) {}
  std::string out;

  void expr(const Expr& e, const Pos& pos) {
    Depth d(*this);
    int n = std::max<int>(e.parens, needs_parens(e, pos) ? 1 : 0);
    const bool empty_tuple = e.kind == ExprKind::kTuple && e.operands.empty();
    if (empty_tuple) n = std::max(n - 1, 0);
    out.append(static_cast<std::size_t>(n), '(');
    if (empty_tuple)
      out += "()";
    else
      body(e);
    out.append(static_cast<std::size_t>(n), ')');
  }

  void stmts(const std::vector<StmtPtr>& body, int indent) {
    if (body.empty()) {
      line(indent);
      out += "pass\n";
    }
    for (const auto& s : body) stmt(*s, indent);
  }

  void stmt(const Stmt& s, int indent) {
    Depth d(*this);
    switch (s.kind) {
      case StmtKind::kDef:
        def(*s.def, indent);
        return;
      case StmtKind::kClass:
        cls(*s.cls, indent);
        return;
      case StmtKind::kIf:
        if_stmt(s, indent, false);
        return;
      default:
        break;
    }
    line(indent);
    switch (s.kind) {
      case StmtKind::kExpr:
        expr(*s.value, kTopTuple);
        break;
      case StmtKind::kAssign:
        for (std::size_t i = 0; i < s.targets.size(); ++i) {
          if (i) out += " = ";
          expr(*s.targets[i], kTopTuple);
        }
        if (s.type) {
          out += " : ";
          expr(*s.type, kTop);
        }
        if (s.value) {
          out += " = ";
          expr(*s.value, kTopTuple);
        }
        break;
      case StmtKind::kAugAssign:
        expr(*s.targets.at(0), kTop);
        out += ' ';
        out += binary_op_text(s.aug_op);
        out += "= ";
        expr(*s.value, kTopTuple);
        break;
      case StmtKind::kWhile:
        out += "while ";
        expr(*s.value, kTop);
        out += ":\n";
        stmts(s.body, indent + 1);
        return;
      case StmtKind::kFor:
        out += "for ";
        list(s.targets, level(4));
        out += " in ";
        list(s.iters, kTop);
        out += ":\n";
        stmts(s.body, indent + 1);
        return;
      case StmtKind::kWith:
        out += "with ";
        for (std::size_t i = 0; i < s.items.size(); ++i) {
          if (i) out += ", ";
          expr(*s.items[i].expr, kTop);
          if (!s.items[i].as_name.empty()) out += " as " + s.items[i].as_name;
        }
        out += ":\n";
        stmts(s.body, indent + 1);
        return;
      case StmtKind::kReturn:
        out += "return";
        if (s.value) {
          out += ' ';
          expr(*s.value, kTopTuple);
        }
        break;
      case StmtKind::kRaise:
        out += "raise ";
        expr(*s.value, kTop);
        break;
      case StmtKind::kAssert:
        out += "assert ";
        expr(*s.value, kTop);
        if (s.message) {
          out += ", ";
          expr(*s.message, kTop);
        }
        break;
      case StmtKind::kPass:
        out += "pass";
        break;
      case StmtKind::kBreak:
        out += "break";
        break;
      case StmtKind::kContinue:
        out += "continue";
        break;
      case StmtKind::kDelete:
        out += "del ";
        list(s.targets, kTop);
        break;
      case StmtKind::kGlobal:
        out += "global ";
        for (std::size_t i = 0; i < s.names.size(); ++i) out += (i ? ", " : "") + s.names[i];
        break;
      case StmtKind::kImport:
        out += "import " + s.text;
        break;
      default:
        break;
    }
    out += '\n';
  }

  void def(const Def& d, int indent) {
    line(indent);
    out += "def " + d.name + "(";
    const char* sep = d.layout == ParamLayout::kInline ? ", " : ",\n    ";
    bool first = true;
    auto separator = [&] {
      if (!first) out += sep;
      first = false;
    };
    for (std::size_t i = 0; i <= d.params.size(); ++i) {
      if (d.star_index && *d.star_index == i) {
        separator();
        out += '*';
      }
      if (i == d.params.size()) break;
      const Param& p = d.params[i];
      separator();
      out += p.name;
      if (p.type) {
        out += ": ";
        expr(*p.type, kTop);
      }
      if (p.default_value) {
        out += '=';
        expr(*p.default_value, kTop);
      }
    }
    out += ')';
    if (d.return_type) {
      out += " -> ";
      expr(*d.return_type, kTop);
    }
    out += ":\n";
    stmts(d.body, indent + 1);
  }

  void cls(const ClassDef& c, int indent) {
    line(indent);
    out += "class " + c.name;
    if (c.superclass) {
      out += '(';
      expr(*c.superclass, kTop);
      out += ')';
    }
    out += ":\n";
    stmts(c.body, indent + 1);
  }

 private:
  struct Depth {
    explicit Depth(Printer& p) : p_(p) {
      if (++p_.depth_ > p_.opts_.max_depth)
        throw Error(ErrorCode::kLimitExceeded,
                    ::ptio::detail::concat("AST nested deeper than ", p_.opts_.max_depth,
                                           " levels cannot be printed"));
    }
    ~Depth() { --p_.depth_; }
    Printer& p_;
  };

  void line(int indent) { out.append(static_cast<std::size_t>(2 * indent), ' '); }

  void list(const std::vector<ExprPtr>& items, const Pos& pos) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += ", ";
      expr(*items[i], pos);
    }
  }

  void if_stmt(const Stmt& s, int indent, bool as_elif) {
    line(indent);
    out += as_elif ? "elif " : "if ";
    expr(*s.value, kTop);
    out += ":\n";
    stmts(s.body, indent + 1);
    if (s.orelse.size() == 1 && s.orelse[0]->kind == StmtKind::kIf && s.orelse[0]->is_elif) {
      Depth d(*this);
      if_stmt(*s.orelse[0], indent, true);
    } else if (!s.orelse.empty()) {
      line(indent);
      out += "else:\n";
      stmts(s.orelse, indent + 1);
    }
  }

  void body(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kVar:
      case ExprKind::kConst:
      case ExprKind::kDots:
        out += e.text;
        return;
      case ExprKind::kString:
        out += encode_string_literal(e.text, opts_.strings);
        return;
      case ExprKind::kTrue:
        out += "True";
        return;
      case ExprKind::kFalse:
        out += "False";
        return;
      case ExprKind::kNone:
        out += "None";
        return;
      case ExprKind::kNoneType:
        out += "NoneType";
        return;
      case ExprKind::kSelect:
        expr(*e.operands.at(0), kPostfix);
        out += '.';
        out += e.text;
        return;
      case ExprKind::kApply:
        expr(*e.operands.at(0), kPostfix);
        out += '(';
        for (std::size_t i = 0; i < e.args.size(); ++i) {
          if (i) out += ", ";
          if (!e.args[i].name.empty()) out += e.args[i].name + "=";
          expr(*e.args[i].value, kTop);
        }
        if (e.trailing_comma && !e.args.empty()) out += ", ";
        out += ')';
        return;
      case ExprKind::kSubscript:
        expr(*e.operands.at(0), kPostfix);
        out += '[';
        for (std::size_t i = 1; i < e.operands.size(); ++i) {
          if (i > 1) out += ", ";
          expr(*e.operands[i], kTop);
        }
        if (e.trailing_comma && e.operands.size() > 1) out += ", ";
        out += ']';
        return;
      case ExprKind::kSlice:
        if (e.operands.size() > 0 && e.operands[0]) expr(*e.operands[0], kTop);
        out += ':';
        if (e.operands.size() > 1 && e.operands[1]) expr(*e.operands[1], kTop);
        if (e.slice_step_colon || (e.operands.size() > 2 && e.operands[2])) out += ':';
        if (e.operands.size() > 2 && e.operands[2]) expr(*e.operands[2], kTop);
        return;
      case ExprKind::kUnary: {
        out += unary_op_text(e.unary_op);
        const std::size_t at = out.size();
        expr(*e.operands.at(0), level(unary_precedence(e.unary_op)));
        // The lexer's longest match would read `not in...` as `not in` and `**x` as `**`.
        guard_token(at, e.unary_op == UnaryOp::kNot    ? "in"
                        : e.unary_op == UnaryOp::kStar ? "*"
                                                       : "");
        return;
      }
      case ExprKind::kBinary: {
        const int p = binary_precedence(e.binary_op);
        const bool right = e.binary_op == BinaryOp::kPow;
        expr(*e.operands.at(0), lhs_of(p, right));
        const char* op = binary_op_text(e.binary_op);
        const bool symbolic = !is_ident_char(op[0]);
        std::size_t op_at = out.size();
        if (!(e.compact && symbolic)) out += ' ';
        out += op;
        out += ' ';
        const std::size_t at = out.size();
        expr(*e.operands.at(1), level(right ? p - 1 : p));
        if (e.binary_op == BinaryOp::kIs) guard_token(at, "not");  // `is not...` is `is not`
        if (e.compact && symbolic && at < out.size() && starts_operand(out[at])) {
          // Drop the space after the operator: `1.5-2.j`.
          out.erase(at - 1, 1);
        } else if (e.compact && symbolic) {
          out.insert(op_at, 1, ' ');  // the operand would merge with the operator: keep spaces
        }
        return;
      }
      case ExprKind::kTernary:
        expr(*e.operands.at(1), lhs_of(1, true));
        out += " if ";
        expr(*e.operands.at(0), kTop);
        out += " else ";
        expr(*e.operands.at(2), level(0));
        return;
      case ExprKind::kTuple:
        list(e.operands, kTop);
        if (e.operands.size() == 1 || e.trailing_comma) out += ',';
        return;
      case ExprKind::kList:
        out += '[';
        list(e.operands, kTop);
        if (e.trailing_comma && !e.operands.empty()) out += ", ";
        out += ']';
        return;
      case ExprKind::kDict:
        out += '{';
        for (std::size_t i = 0; i + 1 < e.operands.size(); i += 2) {
          if (i) out += ", ";
          expr(*e.operands[i], kTop);
          out += ": ";
          expr(*e.operands[i + 1], kTop);
        }
        out += '}';
        return;
      case ExprKind::kListComp:
        out += '[';
        comprehension(e, 0);
        out += ']';
        return;
      case ExprKind::kDictComp:
        out += '{';
        expr(*e.operands.at(0), kTop);
        out += ": ";
        comprehension(e, 1);
        out += '}';
        return;
    }
  }

  // Parenthesises the text printed since `at` if it starts with `prefix`, which would merge with
  // the operator before it into another token.
  void guard_token(std::size_t at, std::string_view prefix) {
    if (prefix.empty() || std::string_view(out).substr(at).substr(0, prefix.size()) != prefix)
      return;
    out.insert(at, 1, '(');
    out += ')';
  }

  void comprehension(const Expr& e, std::size_t first) {
    expr(*e.operands.at(first), lhs_of(1, false));
    out += " for ";
    expr(*e.operands.at(first + 1), level(4));
    out += " in ";
    expr(*e.operands.at(first + 2), kTop);
  }

  const PrintOptions& opts_;
  std::uint32_t depth_ = 0;
};

}  // namespace

std::string print_source(const ParsedFile& file, const PrintOptions& options) {
  Printer p(options);
  if (file.op_version_set) p.out += "op_version_set = " + *file.op_version_set + "\n";
  for (const auto& s : file.items) p.stmt(*s, 0);
  return std::move(p.out);
}

std::string print_class(const ClassDef& cls, int indent, const PrintOptions& options) {
  Printer p(options);
  p.cls(cls, indent);
  return std::move(p.out);
}

std::string print_def(const Def& def, int indent, const PrintOptions& options) {
  Printer p(options);
  p.def(def, indent);
  return std::move(p.out);
}

std::string print_stmt(const Stmt& stmt, int indent, const PrintOptions& options) {
  Printer p(options);
  p.stmt(stmt, indent);
  return std::move(p.out);
}

std::string print_expr(const Expr& expr, const PrintOptions& options) {
  Printer p(options);
  p.expr(expr, kTopTuple);
  return std::move(p.out);
}

}  // namespace ptio::jit::frontend
