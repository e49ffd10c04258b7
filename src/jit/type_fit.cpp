// fit_value (type_fit.h): a value against a TorchScript annotation, as `toIValue(value, type)`
// (torch/csrc/jit/python/pybind_utils.h) checks a Python value before `Object::setattr`.
#include "type_fit.h"

#include <vector>

#include "ptio/error.h"
#include "ptio/jit/frontend/printer.h"

namespace ptio::jit::detail {

namespace {

using frontend::Expr;
using frontend::ExprKind;

constexpr std::size_t kMaxDepth = 100;

struct Fitter {
  const CompilationUnit& cu;
  FitMode mode;
  std::string& why;

  bool save() const { return mode == FitMode::kSave; }

  std::optional<IValue> fail(std::string what) {
    if (why.empty()) why = std::move(what);
    return std::nullopt;
  }

  // Save mode accepts what it does not model; setattr refuses it.
  std::optional<IValue> unknown(const IValue& v, const std::string& type) {
    if (save()) return v;
    return fail("setattr does not support attributes of type " + type);
  }

  std::optional<IValue> named(const IValue& v, const std::string& name) {
    const auto want = [&](bool ok) -> std::optional<IValue> {
      if (ok) return v;
      return fail("expected " + name + ", got " + std::string(v.kind_name()));
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
      if (v.is_int() && !save()) return IValue(static_cast<double>(v.as_int()));
      return want(v.is_double());
    }
    if (const ClassType* t = cu.get_class(name)) {
      if (t->kind() == TypeKind::kEnum) return enum_member(v, *t);
      if (t->kind() == TypeKind::kModule) {
        if (!save()) return fail("replacing a submodule (" + name + ") is not supported");
        return want(v.is_object() && v.as_object().type.qualified_name() == name);
      }
      if (t->kind() == TypeKind::kModuleInterface) {
        if (!save()) return fail("replacing a submodule (" + name + ") is not supported");
        return want(v.is_object());
      }
      if (t->kind() == TypeKind::kClass || t->kind() == TypeKind::kTorchBind)
        return want(v.is_object() && v.as_object().type.qualified_name() == name);
    }
    return unknown(v, name);
  }

  // c10::EnumType: a value of the enum's class that is one of its members (name and value).
  std::optional<IValue> enum_member(const IValue& v, const ClassType& t) {
    const std::string name = t.name().qualified_name();
    if (!v.is_enum() || v.as_enum().type.qualified_name() != name)
      return fail("expected " + name + ", got " + std::string(v.kind_name()));
    const auto& e = v.as_enum();
    for (const auto& [member, value] : t.enum_values()) {
      if (member != e.name) continue;
      if (value.kind() == e.value.kind() && value == e.value) return v;
      return fail(name + "." + member + " has value " + to_repr(value) + ", the value given has " +
                  to_repr(e.value));
    }
    std::string members;
    for (const auto& m : t.enum_values()) members += (members.empty() ? "" : ", ") + m.first;
    return fail("'" + e.name + "' is not a member of enum " + name + " (its members: " + members +
                ")");
  }

  std::optional<IValue> fit(const IValue& v, const Expr& type, std::size_t depth) {
    if (depth >= kMaxDepth) {
      if (save()) return v;
      throw Error(ErrorCode::kJitBadEdit, "setattr: value nested deeper than 100 levels");
    }
    if (type.kind == ExprKind::kNone || type.kind == ExprKind::kNoneType) {
      if (v.is_none()) return v;
      return fail("expected None, got " + std::string(v.kind_name()));
    }
    if (type.kind == ExprKind::kVar || type.kind == ExprKind::kSelect)
      return named(v, type.dotted_name());
    if (type.kind != ExprKind::kSubscript || type.operands.empty())
      return unknown(v, frontend::print_expr(type));
    const std::string base = type.operands[0]->dotted_name();
    const std::size_t nargs = type.operands.size() - 1;
    const auto arg = [&](std::size_t i) -> const Expr& { return *type.operands[i + 1]; };
    const std::string tag = frontend::print_expr(type);
    const auto mismatch = [&]() {
      return fail("expected " + tag + ", got " + std::string(v.kind_name()));
    };
    if (base == "Optional" && nargs == 1) {
      if (v.is_none()) return v;
      return fit(v, arg(0), depth + 1);
    }
    if (base == "Union") {
      for (std::size_t i = 0; i < nargs; ++i) {
        std::string inner;
        if (auto r = Fitter{cu, mode, inner}.fit(v, arg(i), depth + 1)) return r;
      }
      return mismatch();
    }
    if (base == "List" && nargs == 1) {
      if (!v.is_list()) return mismatch();
      std::vector<IValue> out;
      const auto& elements = v.as_list().elements;
      if (!save()) out.reserve(elements.size());
      for (std::size_t i = 0; i < elements.size(); ++i) {
        auto e = fit(elements[i], arg(0), depth + 1);
        if (!e) {
          why = "element " + std::to_string(i) + ": " + why;
          return std::nullopt;
        }
        if (!save()) out.push_back(std::move(*e));
      }
      if (save()) return v;
      IValue l = IValue::list(std::move(out));
      l.as_list().type_tag = tag;
      return l;
    }
    if (base == "Dict" && nargs == 2) {
      if (!v.is_dict()) return mismatch();
      IValue d = save() ? IValue() : IValue::dict();
      for (const auto& [k, e] : v.as_dict().items()) {
        auto ck = fit(k, arg(0), depth + 1);
        if (!ck) return std::nullopt;
        auto ce = fit(e, arg(1), depth + 1);
        if (!ce) {
          why = "value of key " + to_repr(k) + ": " + why;
          return std::nullopt;
        }
        if (!save()) d.as_dict().insert_or_assign(std::move(*ck), std::move(*ce));
      }
      if (save()) return v;
      d.as_dict().type_tag = tag;
      return d;
    }
    if (base == "Tuple" || base == "tuple") {
      // `Tuple[()]` is the empty tuple type.
      const bool empty = nargs == 1 && arg(0).kind == ExprKind::kTuple && arg(0).operands.empty();
      const std::size_t n = empty ? 0 : nargs;
      if (!v.is_tuple() || v.as_tuple().size() != n)
        return fail("expected " + tag + ", got " +
                    (v.is_tuple() ? "a tuple of " + std::to_string(v.as_tuple().size())
                                  : std::string(v.kind_name())));
      std::vector<IValue> out;
      for (std::size_t i = 0; i < n; ++i) {
        auto e = fit(v.as_tuple().elements()[i], arg(i), depth + 1);
        if (!e) {
          why = "element " + std::to_string(i) + ": " + why;
          return std::nullopt;
        }
        if (!save()) out.push_back(std::move(*e));
      }
      if (save()) return v;
      return IValue::tuple(std::move(out));
    }
    return unknown(v, tag);
  }
};

}  // namespace

std::optional<IValue> fit_value(const IValue& v, const frontend::Expr& type,
                                const CompilationUnit& cu, FitMode mode, std::string& why) {
  return Fitter{cu, mode, why}.fit(v, type, 0);
}

}  // namespace ptio::jit::detail
