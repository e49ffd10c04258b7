// Module::setattr: replacing the value of an attribute slot, checked against the class's declared
// attribute type the way `torch.jit.ScriptModule.__setattr__` converts a Python value with
// `toIValue(value, type)` (torch/csrc/jit/python/pybind_utils.h) before `Object::setattr`.
//
// Contract:
// - `name` must be an attribute slot of the module's class (ClassType::attributes()); class
//   constants (`Final`), methods and unknown names are refused, the message lists the slots.
// - The value must fit the slot's annotation:
//     Tensor                      a Tensor (any shape, dtype, layout); Optional[Tensor] also None
//     int / bool / str / complex  that kind exactly (an int is not a bool and vice versa)
//     float                       a float, or an int, stored as float (toIValue widens it too)
//     List[T] / Dict[K, V]        a list / dict whose every element fits T / (K, V): stored as a
//                                 new container (the caller's is not modified) tagged with the
//                                 declared annotation, as PyTorch's typed c10::List / c10::Dict
//                                 are, so jit::save writes the same type tags PyTorch writes
//     Tuple[T...]                 a tuple of that length, each element fitting
//     Optional[T]                 None or a value fitting T;  Union[A, ...]: fits one of them
//     Any                         anything
//     a TorchScript class / enum  an Object of that class / a member of that enum
// - Submodule slots (module classes and module interfaces) are refused: swapping a submodule
//   changes the types code/ refers to, which is outside what an attribute edit can check.
// - Parameters and buffers take any Tensor (PyTorch's `register_parameter` check is only on the
//   Python side); the Tensor is stored as given (its requires_grad flag included) and shared
//   with the caller, as torch::jit::Module::setattr shares the IValue.
// Every refusal is Error(kJitBadEdit) naming the attribute, the declared type and the value's
// kind; the module is unchanged then.
#include <algorithm>
#include <optional>
#include <string>

#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/jit/frontend/printer.h"
#include "ptio/jit/module.h"

namespace ptio::jit {

namespace {

using frontend::Expr;
using frontend::ExprKind;

// Why a value does not fit; filled by coerce() on the way out of the innermost mismatch.
struct Mismatch {
  std::string what;
};

std::optional<IValue> coerce(const IValue& v, const Expr& type, const CompilationUnit& cu,
                             Mismatch& why, std::size_t depth);

std::optional<IValue> fail(Mismatch& why, std::string what) {
  if (why.what.empty()) why.what = std::move(what);
  return std::nullopt;
}

std::optional<IValue> coerce_named(const IValue& v, const std::string& name,
                                   const CompilationUnit& cu, Mismatch& why) {
  const auto want = [&](bool ok) -> std::optional<IValue> {
    if (ok) return v;
    return fail(why, "expected " + name + ", got " + std::string(v.kind_name()));
  };
  if (name == "Tensor" || name == "torch.Tensor") return want(v.is_tensor());
  if (name == "int") return want(v.is_int());
  if (name == "bool") return want(v.is_bool());
  if (name == "str") return want(v.is_string());
  if (name == "complex") return want(v.is_complex());
  if (name == "Device") return want(v.is_device());
  if (name == "NoneType") return want(v.is_none());
  if (name == "Any") return v;
  if (name == "float") {
    if (v.is_int()) return IValue(static_cast<double>(v.as_int()));
    return want(v.is_double());
  }
  if (const ClassType* t = cu.get_class(name)) {
    if (t->kind() == TypeKind::kEnum)
      return want(v.is_enum() && v.as_enum().type.qualified_name() == name);
    if (t->kind() == TypeKind::kModule || t->kind() == TypeKind::kModuleInterface)
      return fail(why, "replacing a submodule (" + name + ") is not supported");
    if (t->kind() == TypeKind::kClass || t->kind() == TypeKind::kTorchBind)
      return want(v.is_object() && v.as_object().type.qualified_name() == name);
  }
  return fail(why, "setattr does not support attributes of type " + name);
}

std::optional<IValue> coerce(const IValue& v, const Expr& type, const CompilationUnit& cu,
                             Mismatch& why, std::size_t depth) {
  PTIO_CHECK(depth < 100, ErrorCode::kJitBadEdit, "setattr: value nested deeper than 100 levels");
  if (type.kind == ExprKind::kNone || type.kind == ExprKind::kNoneType) {
    if (v.is_none()) return v;
    return fail(why, "expected None, got " + std::string(v.kind_name()));
  }
  if (type.kind == ExprKind::kVar || type.kind == ExprKind::kSelect)
    return coerce_named(v, type.dotted_name(), cu, why);
  if (type.kind != ExprKind::kSubscript || type.operands.empty())
    return fail(why, "setattr does not support attributes of type " + frontend::print_expr(type));
  const std::string base = type.operands[0]->dotted_name();
  const std::size_t nargs = type.operands.size() - 1;
  const auto arg = [&](std::size_t i) -> const Expr& { return *type.operands[i + 1]; };
  const std::string tag = frontend::print_expr(type);
  if (base == "Optional" && nargs == 1) {
    if (v.is_none()) return v;
    return coerce(v, arg(0), cu, why, depth + 1);
  }
  if (base == "Union") {
    for (std::size_t i = 0; i < nargs; ++i) {
      Mismatch inner;
      if (auto r = coerce(v, arg(i), cu, inner, depth + 1)) return r;
    }
    return fail(why, "expected " + tag + ", got " + std::string(v.kind_name()));
  }
  if (base == "List" && nargs == 1) {
    if (!v.is_list()) return fail(why, "expected " + tag + ", got " + std::string(v.kind_name()));
    std::vector<IValue> out;
    const auto& elements = v.as_list().elements;
    out.reserve(elements.size());
    for (std::size_t i = 0; i < elements.size(); ++i) {
      auto e = coerce(elements[i], arg(0), cu, why, depth + 1);
      if (!e) {
        why.what = "element " + std::to_string(i) + ": " + why.what;
        return std::nullopt;
      }
      out.push_back(std::move(*e));
    }
    IValue l = IValue::list(std::move(out));
    l.as_list().type_tag = tag;
    return l;
  }
  if (base == "Dict" && nargs == 2) {
    if (!v.is_dict()) return fail(why, "expected " + tag + ", got " + std::string(v.kind_name()));
    IValue d = IValue::dict();
    for (const auto& [k, e] : v.as_dict().items()) {
      auto ck = coerce(k, arg(0), cu, why, depth + 1);
      if (!ck) return std::nullopt;
      auto ce = coerce(e, arg(1), cu, why, depth + 1);
      if (!ce) return std::nullopt;
      d.as_dict().insert_or_assign(std::move(*ck), std::move(*ce));
    }
    d.as_dict().type_tag = tag;
    return d;
  }
  if (base == "Tuple" || base == "tuple") {
    // `Tuple[()]` is the empty tuple type.
    const bool empty = nargs == 1 && arg(0).kind == ExprKind::kTuple && arg(0).operands.empty();
    const std::size_t n = empty ? 0 : nargs;
    if (!v.is_tuple() || v.as_tuple().size() != n)
      return fail(why, "expected " + tag + ", got " +
                           (v.is_tuple() ? "a tuple of " + std::to_string(v.as_tuple().size())
                                         : std::string(v.kind_name())));
    std::vector<IValue> out;
    for (std::size_t i = 0; i < n; ++i) {
      auto e = coerce(v.as_tuple().elements()[i], arg(i), cu, why, depth + 1);
      if (!e) return std::nullopt;
      out.push_back(std::move(*e));
    }
    return IValue::tuple(std::move(out));
  }
  return fail(why, "setattr does not support attributes of type " + tag);
}

}  // namespace

void Module::setattr(std::string_view name, IValue value) {
  const auto index = type_->find_attribute(name);
  if (!index) {
    std::string slots;
    for (const auto& a : type_->attributes()) slots += (slots.empty() ? "" : ", ") + a.name;
    const bool constant = std::any_of(type_->constants().begin(), type_->constants().end(),
                                      [&](const ClassConstant& c) { return c.name == name; });
    throw Error(ErrorCode::kJitBadEdit,
                "setattr: module " + type_->name().qualified_name() + " has no attribute '" +
                    std::string(name) + "'" +
                    (constant ? " (it is a Final constant, compiled into the code)" : "") +
                    "; its attributes are: " + slots);
  }
  const ClassAttribute& a = type_->attributes()[*index];
  auto& obj = object_.as_object();
  PTIO_CHECK(!obj.has_state, ErrorCode::kJitBadEdit, "setattr: module ",
             type_->name().qualified_name(), " keeps its state through __setstate__");
  if (a.is_module)
    throw Error(ErrorCode::kJitBadEdit,
                "setattr: '" + a.name + "' is a submodule (" + a.type +
                    "); replacing submodules is not supported");
  const auto type = frontend::parse_expression(a.type);
  Mismatch why;
  auto fitted = coerce(value, *type, *cu_, why, 0);
  if (!fitted)
    throw Error(ErrorCode::kJitBadEdit, "setattr: attribute '" + a.name + "' of " +
                                            type_->name().qualified_name() + " is declared " +
                                            a.type + "; the value (" +
                                            std::string(value.kind_name()) + ") does not fit: " +
                                            why.what);
  if (*index < obj.attributes.size() && obj.attributes[*index].first == a.name)
    obj.attributes[*index].second = std::move(*fitted);
  else
    obj.set_attribute(a.name, std::move(*fitted));
}

}  // namespace ptio::jit
