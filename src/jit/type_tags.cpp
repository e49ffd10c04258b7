// restoreAccurateTypeTags (unpickler.cpp): for files of version <= 2, whose pickles carry no
// restore_type_tag calls, List/Dict values get the element types their class declares.

#include "import_impl.h"
#include "value_walk.h"
#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/jit/frontend/printer.h"

namespace ptio::jit::detail {

namespace {

using frontend::Expr;
using frontend::ExprKind;

void restore(const IValue& v, const Expr& type) {
  if (v.is_none()) return;
  if (type.kind != ExprKind::kSubscript || type.operands.empty()) return;
  const std::string base = type.operands[0]->dotted_name();
  const std::size_t nargs = type.operands.size() - 1;
  if (base == "Optional" && nargs == 1) {
    restore(v, *type.operands[1]);
  } else if (base == "List" && nargs == 1 && v.is_list()) {
    auto& l = v.as_list();
    if (l.type_tag.empty()) l.type_tag = frontend::print_expr(type);
    for (const auto& e : l.elements) restore(e, *type.operands[1]);
  } else if (base == "Dict" && nargs == 2 && v.is_dict()) {
    auto& d = v.as_dict();
    if (d.type_tag.empty()) d.type_tag = frontend::print_expr(type);
    for (const auto& [k, e] : d.items()) restore(e, *type.operands[2]);
  } else if ((base == "Tuple" || base == "tuple") && v.is_tuple() && v.as_tuple().size() == nargs) {
    for (std::size_t i = 0; i < nargs; ++i)
      restore(v.as_tuple().elements()[i], *type.operands[i + 1]);
  }
  // Objects nested anywhere are reached by the walk over all objects in
  // restore_accurate_type_tags.
}

}  // namespace

void restore_accurate_type_tags(const IValue& root, const CompilationUnit& cu) {
  for_each_reachable(
      root,
      [&](const IValue& v) {
        if (!v.is_object()) return;
        const auto& o = v.as_object();
        const ClassType* t = cu.get_class(o.type.qualified_name());
        for (const auto& [name, value] : o.attributes) {
          const auto i = t ? t->find_attribute(name) : std::nullopt;
          if (!i) continue;
          const auto type = frontend::parse_expression(t->attributes()[*i].type);
          restore(value, *type);
        }
      },
      {.dict_keys = false, .enum_values = false});
}

}  // namespace ptio::jit::detail
