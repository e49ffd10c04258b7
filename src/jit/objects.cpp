// Objects of data.pkl / constants.pkl checked against their classes and put in slot order
// (import.cpp's ObjLoaderFunc: slot i <- state[attribute name i]).

#include "import_impl.h"
#include "value_walk.h"
#include "ptio/error.h"

namespace ptio::jit::detail {

namespace {

void check_object(ivalue::Object& o, const CompilationUnit& cu, const std::string& file,
                  const std::string& record) {
  const std::string& qn = o.type.qualified_name();
  const ClassType* t = cu.get_class(qn);
  if (!t) throw Error(ErrorCode::kJitMissingClass, "object of undefined class " + qn, file, record);
  if (t->kind() == TypeKind::kTorchBind) return;  // a C++ class: its state stays as pickled
  if (t->kind() != TypeKind::kModule && t->kind() != TypeKind::kClass)
    throw Error(ErrorCode::kJitBadModule,
                "an object of " + std::string(type_kind_name(t->kind())) + " " + qn +
                    " (only modules and classes have instances)",
                file, record);
  if (o.has_state) {
    // __getstate__/__setstate__ classes: the state is whatever __getstate__ returned.
    if (!t->find_method("__setstate__"))
      throw Error(ErrorCode::kJitBadModule,
                  "object of class " + qn +
                      " has a non-dict state but the class has no "
                      "__setstate__",
                  file, record);
    return;
  }
  const auto& attrs = t->attributes();
  // Slot i <- the pickled value named like attribute i (indexed: classes may be large).
  std::vector<const IValue*> slots(attrs.size(), nullptr);
  for (const auto& [name, value] : o.attributes) {
    const auto i = t->find_attribute(name);
    if (!i)
      throw Error(ErrorCode::kJitBadModule,
                  "object of class " + qn + " has attribute '" + name +
                      "', which the class header in " + t->file() + " does not declare",
                  file, record);
    slots[*i] = &value;
  }
  std::vector<std::pair<std::string, IValue>> ordered;
  ordered.reserve(attrs.size());
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (!slots[i])
      throw Error(ErrorCode::kJitBadModule,
                  "object of class " + qn + " lacks attribute '" + attrs[i].name + "' (" +
                      attrs[i].type + ") that the class declares",
                  file, record);
    ordered.emplace_back(attrs[i].name, *slots[i]);
  }
  o.attributes = std::move(ordered);
}

}  // namespace

void check_objects(const IValue& root, const CompilationUnit& cu, const std::string& file,
                   const std::string& record) {
  for_each_reachable(
      root,
      [&](const IValue& v) {
        if (v.is_object()) check_object(v.as_object(), cu, file, record);
        if (v.is_enum() && !cu.get_class(v.as_enum().type.qualified_name()))
          throw Error(ErrorCode::kJitMissingClass,
                      "enum value of undefined class " + v.as_enum().type.qualified_name(), file,
                      record);
      },
      {.enum_values = false});
}

}  // namespace ptio::jit::detail
