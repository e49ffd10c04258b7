// The integer-literal range check of torch.jit.load's compiler (tree_views.h Const::asIntegral,
// reached from ir_emitter.cpp emitConst and from the evaluation of defaults, class constants and
// enum values).
#include "int_literals.h"

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "ptio/error.h"
#include "ptio/jit/frontend/literals.h"

namespace ptio::jit::detail {

using frontend::Expr;
using frontend::ExprKind;
using frontend::Stmt;

namespace {

// The literal as an error message shows it: long ones cut, with their length.
std::string shown(const std::string& text) {
  if (text.size() <= 40) return text;
  return text.substr(0, 20) + "..." + text.substr(text.size() - 8) + " (" +
         std::to_string(text.size()) + " characters)";
}

void check_const(const Expr& e, const std::string& record) {
  if (frontend::classify_number(e.text) != frontend::NumberKind::kInt) return;
  // c10::stoll is std::stoll: strtoll with base 0, out_of_range on ERANGE, invalid_argument
  // when nothing was read.
  const char* begin = e.text.c_str();
  char* end = nullptr;
  errno = 0;
  (void)std::strtoll(begin, &end, 0);
  std::string what;
  if (end == begin)
    what = "not an integer literal C's strtoll reads (std::stoll throws std::invalid_argument)";
  else if (errno == ERANGE)
    what = "Integral constant out of range (must fit in a signed 64 bit integer)";
  else
    return;
  throw Error(ErrorCode::kJitSyntax,
              std::to_string(e.range.begin.line) + ":" + std::to_string(e.range.begin.column) +
                  ": " + what + ": " + shown(e.text),
              {}, record, e.range.begin.offset);
}

}  // namespace

void check_int_literals(const frontend::ParsedFile& file, const std::string& record) {
  std::vector<const Stmt*> stmts;
  std::vector<const Expr*> exprs;
  auto add_expr = [&](const frontend::ExprPtr& e) {
    if (e) exprs.push_back(e.get());
  };
  auto add_body = [&](const std::vector<frontend::StmtPtr>& body) {
    for (const auto& s : body) stmts.push_back(s.get());
  };
  add_body(file.items);
  while (!stmts.empty() || !exprs.empty()) {
    if (!exprs.empty()) {
      const Expr* e = exprs.back();
      exprs.pop_back();
      if (e->kind == ExprKind::kConst) check_const(*e, record);
      for (const auto& o : e->operands) add_expr(o);
      for (const auto& a : e->args) add_expr(a.value);
      continue;
    }
    const Stmt* s = stmts.back();
    stmts.pop_back();
    for (const auto& t : s->targets) add_expr(t);
    add_expr(s->value);
    add_expr(s->type);
    add_expr(s->message);
    for (const auto& i : s->iters) add_expr(i);
    for (const auto& w : s->items) add_expr(w.expr);
    add_body(s->body);
    add_body(s->orelse);
    if (s->def) {
      for (const auto& p : s->def->params) {
        add_expr(p.type);
        add_expr(p.default_value);
      }
      add_expr(s->def->return_type);
      add_body(s->def->body);
    }
    if (s->cls) {
      add_expr(s->cls->superclass);
      add_body(s->cls->body);
    }
  }
}

}  // namespace ptio::jit::detail
