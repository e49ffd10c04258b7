// check_saved_objects (save_impl.h): every object jit::save would write holds exactly the
// attributes its class declares, each fitting its declared type. The pickler writes an object as
// the dict of its class's slots (PyTorch's `Object` has one slot per declared attribute), so an
// attribute the class does not declare would be dropped without a word, and a value of another
// type would make an archive that PyTorch loads into a broken module or refuses.
#include <map>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "save_impl.h"
#include "type_fit.h"

namespace ptio::jit::detail {

namespace {

bool is_container(const IValue& v) {
  return v.is_object() || v.is_list() || v.is_tuple() || v.is_dict();
}

std::string slot_list(const ClassType& cls) {
  std::string s;
  for (const auto& a : cls.attributes()) s += (s.empty() ? "" : ", ") + a.name;
  return s.empty() ? "(none)" : s;
}

}  // namespace

void check_saved_objects(const IValue& root, const CompilationUnit& cu) {
  struct Item {
    IValue value;
    std::string path;
  };
  std::vector<Item> stack;
  stack.push_back({root, "module"});
  std::unordered_set<const void*> seen;
  // Parsed attribute annotations, per class and slot.
  std::map<std::pair<const ClassType*, std::size_t>, std::unique_ptr<frontend::Expr>> types;
  const auto push = [&](const IValue& v, std::string path) {
    if (is_container(v)) stack.push_back({v, std::move(path)});
  };
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    const IValue& v = item.value;
    if (!seen.insert(v.identity()).second) continue;
    const std::string& path = item.path;
    if (v.is_list()) {
      const auto& e = v.as_list().elements;
      for (std::size_t i = e.size(); i-- > 0;) push(e[i], path + "[" + std::to_string(i) + "]");
      continue;
    }
    if (v.is_tuple()) {
      const auto& e = v.as_tuple().elements();
      for (std::size_t i = e.size(); i-- > 0;) push(e[i], path + "[" + std::to_string(i) + "]");
      continue;
    }
    if (v.is_dict()) {
      for (const auto& [k, e] : v.as_dict().items())
        if (is_container(e))
          push(e, path + "[" + to_repr(k, {.max_depth = 2, .max_items = 4}) + "]");
      continue;
    }
    const auto& o = v.as_object();
    const std::string qn = o.type.qualified_name();
    const ClassType* cls = cu.get_class(qn);
    // Classes the code lacks are the pickler's error; `__getstate__` state and TorchBind objects
    // are written as they are, not slot by slot.
    if (cls && !o.has_state && cls->kind() != TypeKind::kTorchBind) {
      for (const auto& [name, value] : o.attributes)
        if (!cls->find_attribute(name))
          throw Error(
              ErrorCode::kJitBadModule,
              "jit::save: " + path + " (an object of class " + qn + ") has attribute '" + name +
                  "', which its class does not declare: the archive would lose it " +
                  "(PyTorch writes an object's declared slots only). Declared: " + slot_list(*cls));
      const auto& attrs = cls->attributes();
      for (std::size_t i = 0; i < attrs.size(); ++i) {
        const IValue* value = i < o.attributes.size() && o.attributes[i].first == attrs[i].name
                                  ? &o.attributes[i].second
                                  : o.attribute(attrs[i].name);
        if (!value)
          throw Error(ErrorCode::kJitBadModule, "jit::save: " + path + " (an object of class " +
                                                    qn + ") has no value for attribute '" +
                                                    attrs[i].name + "' (declared " + attrs[i].type +
                                                    ")");
        auto& type = types[{cls, i}];
        if (!type) type = frontend::parse_expression(attrs[i].type);
        std::string why;
        if (!fit_value(*value, *type, cu, FitMode::kSave, why))
          throw Error(ErrorCode::kJitBadModule,
                      "jit::save: attribute " + path + "." + attrs[i].name + " of class " + qn +
                          " is declared " + attrs[i].type + "; its value (" +
                          std::string(value->kind_name()) + ") does not fit: " + why);
      }
    }
    if (o.has_state) push(o.state, path + ".__getstate__()");
    for (std::size_t i = o.attributes.size(); i-- > 0;)
      push(o.attributes[i].second, path + "." + o.attributes[i].first);
  }
}

}  // namespace ptio::jit::detail
