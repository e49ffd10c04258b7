// ClassType / CompilationUnit: class headers of code/ files turned into types (import_source.cpp
// `importNamedType` / `importClass`, language spec section 5).
#include "ptio/jit/class_type.h"

#include <charconv>
#include <unordered_map>
#include <unordered_set>

#include "int_literals.h"
#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/jit/frontend/printer.h"

namespace ptio::jit {

using frontend::ClassDef;
using frontend::Expr;
using frontend::ExprKind;
using frontend::Stmt;
using frontend::StmtKind;

std::string_view type_kind_name(TypeKind k) noexcept {
  switch (k) {
    case TypeKind::kModule:
      return "Module";
    case TypeKind::kClass:
      return "Class";
    case TypeKind::kNamedTuple:
      return "NamedTuple";
    case TypeKind::kEnum:
      return "Enum";
    case TypeKind::kInterface:
      return "Interface";
    case TypeKind::kModuleInterface:
      return "ModuleInterface";
    case TypeKind::kTorchBind:
      return "TorchBind";
  }
  return "?";
}

std::string Method::qualified_name() const {
  return owner_ + "." + name_;
}

std::string Method::source() const {
  return def_ ? frontend::print_def(*def_) : std::string();
}

std::optional<std::size_t> ClassType::find_attribute(std::string_view name) const {
  const auto it = attribute_index_.find(name);
  if (it == attribute_index_.end()) return std::nullopt;
  return it->second;
}

const Method* ClassType::find_method(std::string_view name) const {
  for (const Method& m : methods_)
    if (m.name() == name) return &m;
  return nullptr;
}

std::string ClassType::code() const {
  return def_ ? frontend::print_class(*def_) : std::string();
}

// Builds one ClassType from its ClassDef (spec-torchscript-language 5.4-5.5).
struct ClassBuilder {
  ClassType& t;
  const std::string& record;

  [[noreturn]] void fail(const frontend::SourceRange& at, const std::string& what) const {
    throw Error(ErrorCode::kJitBadModule,
                std::to_string(at.begin.line) + ":" + std::to_string(at.begin.column) + ": class " +
                    t.name().qualified_name() + ": " + what,
                {}, record, at.begin.offset);
  }

  std::vector<std::string> string_list(const Stmt& s) const {
    std::vector<std::string> out;
    if (!s.value || (s.value->kind != ExprKind::kList && s.value->kind != ExprKind::kTuple))
      fail(s.range, "expected a list of string literals");
    for (const auto& e : s.value->operands) {
      if (e->kind != ExprKind::kString) fail(e->range, "expected a string literal");
      out.push_back(e->text);
    }
    return out;
  }

  static IValue enum_value(const Expr& e, bool& ok) {
    ok = true;
    if (e.kind == ExprKind::kString) return IValue(e.text);
    if (e.kind == ExprKind::kConst) {
      const std::string& s = e.text;
      const bool is_float =
          s.find_first_of(".eE") != std::string::npos && s.find_first_of("xX") == std::string::npos;
      if (is_float) {
        try {
          return IValue(std::stod(s));
        } catch (...) {
        }
      } else {
        std::int64_t v = 0;
        const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return IValue(v);
      }
    }
    ok = false;
    return {};
  }

  void build(const ClassDef& cls) {
    t.def_ = &cls;
    const std::string super = cls.superclass_name();
    if (super.empty())
      t.kind_ = TypeKind::kClass;
    else if (super == "Module")
      t.kind_ = TypeKind::kModule;
    else if (super == "NamedTuple")
      t.kind_ = TypeKind::kNamedTuple;
    else if (super == "Enum")
      t.kind_ = TypeKind::kEnum;
    else if (super == "Interface")
      t.kind_ = TypeKind::kInterface;
    else if (super == "ModuleInterface")
      t.kind_ = TypeKind::kModuleInterface;
    else
      fail(cls.range, "Torchscript does not support class inheritance (base '" + super + "')");
    std::vector<std::string> params, buffers;
    std::unordered_set<std::string_view> method_names;  // the defs' names (in the AST)
    for (const auto& sp : cls.body) {
      const Stmt& s = *sp;
      switch (s.kind) {
        case StmtKind::kPass:
          break;
        case StmtKind::kExpr:  // a docstring
          if (!s.value || s.value->kind != ExprKind::kString)
            fail(s.range, "unexpected expression statement in a class body");
          break;
        case StmtKind::kDef: {
          // ClassType::addMethod (and CompilationUnit::register_function for hooks).
          if (!method_names.insert(s.def->name).second)
            fail(s.def->name_range, "Can't redefine method: " + s.def->name +
                                        " on class: " + t.name_.qualified_name());
          // ir_emitter.cpp: the first parameter of a method is `self`.
          if (s.def->params.empty() &&
              (t.kind_ == TypeKind::kModule || t.kind_ == TypeKind::kClass))
            fail(s.def->name_range, "methods must have a self argument (method " + s.def->name +
                                        " has no parameters)");
          Method m;
          m.name_ = s.def->name;
          m.owner_ = t.name_.qualified_name();
          m.def_ = s.def.get();
          t.methods_.push_back(std::move(m));
          break;
        }
        case StmtKind::kAssign:
          assign(s, params, buffers);
          break;
        default:
          fail(s.range, "unexpected statement in a class body");
      }
    }
    // Flags are applied after the body is scanned (the list may precede the attribute lines).
    for (const auto& [names, is_param] : {std::pair{&params, true}, std::pair{&buffers, false}}) {
      for (const std::string& n : *names) {
        const auto i = t.find_attribute(n);
        if (!i)
          fail(cls.range, std::string(is_param ? "__parameters__" : "__buffers__") + " names '" +
                              n + "', which is not an attribute");
        ClassAttribute& a = t.attributes_[*i];
        // ClassType::addAttribute: parameters and buffers are modules' Tensor-ish attributes.
        if (t.kind_ != TypeKind::kModule)
          fail(cls.range, "adding a parameter or buffer to a non module ('" + n + "')");
        if (!tensor_slot_type(*attribute_types.at(n)))
          fail(cls.range,
               "Expecting parameter or buffer to have either None, Tensor or Optional[Tensor] "
               "type, but got: " +
                   a.type + " ('" + n + "' in " + (is_param ? "__parameters__" : "__buffers__") +
                   ")");
        (is_param ? a.is_parameter : a.is_buffer) = true;
        if (a.is_parameter && a.is_buffer)  // ClassType::addAttribute's internal assert
          fail(cls.range, "Attribute cannot be both a parameter and a buffer! ('" + n +
                              "' is in __parameters__ and __buffers__)");
      }
    }
    for (Method& m : t.methods_)
      for (const auto* hooks : {&t.forward_hooks_, &t.forward_pre_hooks_})
        for (const std::string& h : *hooks)
          if (h == m.name_) m.is_hook_ = true;
    // A hook the class does not define: torch.jit.load of PyTorch 1.13 crashes (a null hook).
    for (const auto* hooks : {&t.forward_hooks_, &t.forward_pre_hooks_})
      for (const std::string& h : *hooks)
        if (!method_names.contains(h))
          fail(cls.range, std::string(hooks == &t.forward_hooks_ ? "__forward_hooks__"
                                                                 : "__forward_pre_hooks__") +
                              " names '" + h + "', which is not a method of the class");
  }

  // The annotation of each attribute (in the AST), for the parameter/buffer check.
  std::unordered_map<std::string, const Expr*> attribute_types;

  // Tensor, None, Optional[Tensor] or a Union with Tensor (ClassType::addAttribute's check).
  static bool tensor_slot_type(const Expr& e) {
    if (e.kind == ExprKind::kNone || e.kind == ExprKind::kNoneType) return true;
    const std::string n = e.dotted_name();
    if (n == "Tensor" || n == "NoneType") return true;
    if (e.kind != ExprKind::kSubscript || e.operands.empty()) return false;
    const std::string base = e.operands[0]->dotted_name();
    if (base == "Optional")
      return e.operands.size() == 2 && e.operands[1]->dotted_name() == "Tensor";
    if (base == "Union")
      for (std::size_t i = 1; i < e.operands.size(); ++i)
        if (e.operands[i]->dotted_name() == "Tensor") return true;
    return false;
  }

  void add_attribute(const Stmt& s, std::string name, const Expr& type) {
    if (t.find_attribute(name)) fail(s.range, "attribute '" + name + "' is declared twice");
    attribute_types[name] = &type;
    ClassAttribute a;
    a.name = std::move(name);
    a.type = frontend::print_expr(type);
    t.attribute_index_.emplace(a.name, t.attributes_.size());
    t.attributes_.push_back(std::move(a));
  }

  void assign(const Stmt& s, std::vector<std::string>& params, std::vector<std::string>& buffers) {
    if (s.targets.size() != 1) fail(s.range, "unexpected chained assignment in a class body");
    const Expr& target = *s.targets[0];
    if (target.kind == ExprKind::kSubscript) {  // __annotations__["0"] = T
      if (target.operands.size() != 2 || target.operands[0]->dotted_name() != "__annotations__" ||
          target.operands[1]->kind != ExprKind::kString || !s.value)
        fail(s.range, "expected __annotations__[\"name\"] = Type");
      add_attribute(s, target.operands[1]->text, *s.value);
      return;
    }
    if (target.kind != ExprKind::kVar) fail(s.range, "unexpected assignment target");
    const std::string& name = target.text;
    if (!s.type) {
      if (name == "__parameters__") {
        params = string_list(s);
      } else if (name == "__buffers__") {
        buffers = string_list(s);
      } else if (name == "__forward_hooks__") {
        t.forward_hooks_ = string_list(s);
      } else if (name == "__forward_pre_hooks__") {
        t.forward_pre_hooks_ = string_list(s);
      } else if (name == "__annotations__") {
        // ignored, as in PyTorch
      } else if (t.kind_ == TypeKind::kEnum && s.value) {
        bool ok = false;
        IValue v = enum_value(*s.value, ok);
        if (!ok) fail(s.range, "enum values must be string, int or float literals");
        if (!t.enum_values_.empty() && t.enum_values_[0].second.kind() != v.kind())
          fail(s.range, "enum values must all have one type");
        t.enum_values_.emplace_back(name, std::move(v));
      } else {
        fail(s.range, "unexpected assignment to '" + name + "' in a class body");
      }
      return;
    }
    if (t.kind_ == TypeKind::kNamedTuple) {
      t.fields_.emplace_back(name, frontend::print_expr(*s.type));
      return;
    }
    if (!s.value) {
      add_attribute(s, name, *s.type);
      return;
    }
    // `name : Final[T] = value`: a class constant.
    const Expr& ty = *s.type;
    if (ty.kind != ExprKind::kSubscript || ty.operands.size() != 2 ||
        ty.operands[0]->dotted_name() != "Final")
      fail(s.range, "an annotated assignment in a class body must be a Final constant");
    t.constants_.push_back(
        {name, frontend::print_expr(*ty.operands[1]), frontend::print_expr(*s.value)});
  }

  // Heap bytes of a string of `len` characters (none while they fit in the object).
  static std::uint64_t heap(std::uint64_t len) {
    return len > std::string().capacity() ? frontend::malloc_block_bytes(len + 1) : 0;
  }

  /// An upper bound of the heap bytes the ClassType built from `cls` holds beyond the tree, with
  /// its CompilationUnit entry and the schema finalize() gives each method (the qualified name
  /// plus at most twice the def's header): each of many small methods or attributes holds copies
  /// of names (the owner's qualified name, which a long record name makes long) and printed
  /// types, so they count against the code's allocation budget as the tree does, before they are
  /// built. Vectors are counted at twice their elements (growth).
  static std::uint64_t heap_bytes(const ClassDef& cls, const std::string& qn,
                                  const std::string& record) {
    using frontend::malloc_block_bytes;
    std::uint64_t n = malloc_block_bytes(sizeof(ClassType)) + 2 * heap(qn.size()) +
                      heap(record.size()) + malloc_block_bytes(64) + 8;  // + classes_, order_
    for (const auto& sp : cls.body) {
      const Stmt& s = *sp;
      if (s.kind == StmtKind::kDef) {
        const frontend::Def& d = *s.def;
        const std::uint64_t header =
            d.body.empty() ? 0 : d.body.front()->range.begin.offset - d.range.begin.offset;
        n += 2 * sizeof(Method) + heap(d.name.size()) + heap(qn.size()) +
             malloc_block_bytes(qn.size() + 2 * header + 32);
      } else if (s.kind == StmtKind::kAssign) {
        // An attribute, constant, field or enum value (names, printed type and value, an index
        // entry), or a list of names (__parameters__, hooks) with a string per element.
        const std::uint64_t span = s.range.end.offset - s.range.begin.offset;
        n += 2 * sizeof(ClassConstant) + 3 * heap(span) + malloc_block_bytes(72);
        if (s.value) n += 2 * s.value->operands.size() * sizeof(std::string);
      }
    }
    return n;
  }
};

CompilationUnit::CompilationUnit() : constants_(IValue::tuple({})) {}
CompilationUnit::~CompilationUnit() = default;

const ClassType* CompilationUnit::get_class(std::string_view qualified_name) const {
  const auto it = classes_.find(qualified_name);
  return it == classes_.end() ? nullptr : it->second.get();
}

std::vector<const ClassType*> CompilationUnit::classes() const {
  return order_;
}

std::uint64_t CompilationUnit::add_file(const std::string& record, const std::string& qualifier,
                                        std::string_view text, const frontend::SourceLimits& limits,
                                        std::uint64_t max_alloc_bytes,
                                        const std::string& budget_note) {
  frontend::ParseOptions po;
  static_cast<frontend::SourceLimits&>(po) = limits;
  po.max_alloc_bytes = max_alloc_bytes;
  po.budget_note = budget_note;
  auto parsed = std::make_shared<frontend::ParsedFile>(frontend::parse_source(text, record, po));
  detail::check_int_literals(*parsed, record);
  // SourceImporterImpl::parseSourceIfNeeded keeps the classes of a file in a map by name: of two
  // classes with one name, the later one is the class (the earlier one is never imported).
  std::unordered_map<std::string_view, const Stmt*> last_class;
  for (const auto& item : parsed->items)
    if (item->kind == StmtKind::kClass) last_class[item->cls->name] = item.get();
  // The types and functions built from the tree share its budget (ClassBuilder::heap_bytes).
  std::uint64_t charged = parsed->alloc_bytes;
  std::uint64_t max = max_alloc_bytes;
  if (max == 0) {
    const std::uint64_t per = limits.alloc_bytes_per_source_byte;
    const std::uint64_t var =
        per != 0 && text.size() > UINT64_MAX / per ? UINT64_MAX : per * text.size();
    max = var > UINT64_MAX - limits.alloc_base_bytes ? UINT64_MAX : limits.alloc_base_bytes + var;
  }
  auto charge = [&](std::uint64_t bytes, const frontend::SourceRange& at) {
    charged += bytes;
    if (charged <= max) return;
    throw Error(
        ErrorCode::kLimitExceeded,
        ::ptio::detail::concat(
            at.begin.line, ":", at.begin.column, ": the parsed code needs more than ", max,
            " bytes (the heap blocks of its nodes and of the types built from them), "
            "its budget of ",
            budget_note.empty()
                ? ::ptio::detail::concat("Limits::jit.alloc_base_bytes (", limits.alloc_base_bytes,
                                         ") + ", limits.alloc_bytes_per_source_byte, " x ",
                                         text.size(), " source bytes")
                : budget_note),
        {}, record, at.begin.offset);
  };
  for (const auto& item : parsed->items) {
    if (item->kind == StmtKind::kClass) {
      if (last_class[item->cls->name] != item.get()) continue;
      const std::string qn = qualifier + "." + item->cls->name;
      if (classes_.count(qn))
        throw Error(ErrorCode::kJitBadModule, "class " + qn + " is defined twice", {}, record,
                    item->range.begin.offset);
      charge(ClassBuilder::heap_bytes(*item->cls, qn, record), item->range);
      auto t = std::make_unique<ClassType>();
      t->name_ = QualifiedName(qn);
      t->file_ = record;
      ClassBuilder{*t, record, {}}.build(*item->cls);
      order_.push_back(t.get());
      classes_.emplace(qn, std::move(t));
    } else if (item->kind == StmtKind::kDef) {
      functions_.push_back({qualifier + "." + item->def->name, record, item->def.get()});
      charge(2 * sizeof(Function) + ClassBuilder::heap(functions_.back().qualified_name.size()) +
                 ClassBuilder::heap(record.size()),
             item->range);
    }
  }
  files_.emplace(record, std::move(parsed));
  return charged;
}

const ClassType* CompilationUnit::add_torchbind(const std::string& qualified_name) {
  if (const ClassType* t = get_class(qualified_name)) return t;
  auto t = std::make_unique<ClassType>();
  t->name_ = QualifiedName(qualified_name);
  t->kind_ = TypeKind::kTorchBind;
  const ClassType* p = t.get();
  order_.push_back(p);
  classes_.emplace(qualified_name, std::move(t));
  return p;
}

const ClassType* CompilationUnit::add_legacy_module(const std::string& qualified_name,
                                                    std::vector<ClassAttribute> attributes,
                                                    const std::string& record,
                                                    std::string_view code,
                                                    const frontend::SourceLimits& limits) {
  PTIO_CHECK(!get_class(qualified_name), ErrorCode::kJitBadModule, "class ", qualified_name,
             " is defined twice");
  auto t = std::make_unique<ClassType>();
  t->name_ = QualifiedName(qualified_name);
  t->kind_ = TypeKind::kModule;
  t->file_ = record;
  t->attributes_ = std::move(attributes);
  for (std::size_t i = 0; i < t->attributes_.size(); ++i)
    PTIO_CHECK(t->attribute_index_.emplace(t->attributes_[i].name, i).second,
               ErrorCode::kJitBadModule, "module ", qualified_name, " has two attributes named '",
               t->attributes_[i].name, "'");
  if (!code.empty() && !files_.count(record)) {
    frontend::ParseOptions po;
    static_cast<frontend::SourceLimits&>(po) = limits;
    auto parsed = std::make_shared<frontend::ParsedFile>(frontend::parse_source(code, record, po));
    detail::check_int_literals(*parsed, record);
    for (const auto& item : parsed->items) {
      if (item->kind != StmtKind::kDef) continue;
      Method m;
      m.name_ = item->def->name;
      m.owner_ = qualified_name;
      m.def_ = item->def.get();
      t->methods_.push_back(std::move(m));
    }
    files_.emplace(record, std::move(parsed));
  }
  const ClassType* p = t.get();
  order_.push_back(p);
  classes_.emplace(qualified_name, std::move(t));
  return p;
}

const ClassType* CompilationUnit::add_module_class(const std::string& qualified_name) {
  if (const ClassType* t = get_class(qualified_name)) return t;
  auto t = std::make_unique<ClassType>();
  t->name_ = QualifiedName(qualified_name);
  t->kind_ = TypeKind::kModule;
  const ClassType* p = t.get();
  order_.push_back(p);
  classes_.emplace(qualified_name, std::move(t));
  return p;
}

namespace {

std::string param_type(const frontend::Param& p, std::size_t index, const ClassType& owner,
                       const CompilationUnit& cu) {
  if (p.type) return schema_type_str(*p.type, &cu);
  if (index == 0 && p.name == "self") return owner.name().qualified_name();
  return "Tensor";  // un-annotated parameters are Tensors (ScriptTypeParser default)
}

std::string make_schema(const Method& m, const ClassType& owner, const CompilationUnit& cu) {
  const frontend::Def& d = m.def();
  std::string s = m.name() + "(";
  for (std::size_t i = 0; i < d.params.size(); ++i) {
    if (i) s += ", ";
    if (d.star_index && *d.star_index == i) s += "*, ";
    const auto& p = d.params[i];
    s += param_type(p, i, owner, cu) + " " + p.name;
    if (p.default_value) s += "=" + frontend::print_expr(*p.default_value);
  }
  s += ") -> ";
  if (!d.return_type) return s + "NoneType";
  // A single tuple return is parenthesised so it does not read as several returns (c10's
  // FunctionSchema printer); a NamedTuple prints as its name, unparenthesised.
  const frontend::Expr& r = *d.return_type;
  const std::string base = r.kind == ExprKind::kSubscript && !r.operands.empty()
                               ? r.operands[0]->dotted_name()
                               : std::string();
  const bool tuple = base == "Tuple" || base == "tuple";
  const std::string rs = schema_type_str(r, &cu);
  return s + (tuple ? "(" + rs + ")" : rs);
}

}  // namespace

void CompilationUnit::finalize() {
  for (auto& [name, t] : classes_) {
    for (ClassAttribute& a : t->attributes_) {
      const ClassType* c = get_class(a.type);
      a.is_module =
          c && (c->kind() == TypeKind::kModule || c->kind() == TypeKind::kModuleInterface);
    }
    for (Method& m : t->methods_) m.schema_ = make_schema(m, *t, *this);
  }
}

void CompilationUnit::set_method_location(const std::string& class_name, const std::string& method,
                                          SourceLocation loc) {
  const auto it = classes_.find(class_name);
  if (it == classes_.end()) return;
  for (Method& m : it->second->methods_)
    if (m.name_ == method) m.original_ = std::move(loc);
}

std::string schema_type_str(const Expr& type, const CompilationUnit* cu) {
  switch (type.kind) {
    case ExprKind::kNone:
    case ExprKind::kNoneType:
      return "NoneType";
    case ExprKind::kString:
      return type.text;
    case ExprKind::kTuple: {  // `()` inside Tuple[()]
      std::string s = "(";
      for (std::size_t i = 0; i < type.operands.size(); ++i)
        s += (i ? ", " : "") + schema_type_str(*type.operands[i], cu);
      return s + ")";
    }
    case ExprKind::kVar:
    case ExprKind::kSelect: {
      const std::string n = type.dotted_name();
      if (n.empty()) return frontend::print_expr(type);
      if (n == "Tensor" || n == "torch.Tensor" ||
          (n.size() > 6 && n.ends_with("Tensor") && n.find('.') == std::string::npos))
        return "Tensor";
      if (n == "number") return "Scalar";
      if (n == "None" || n == "NoneType") return "NoneType";
      if (n == "list") return "t[]";
      if (cu)
        if (const ClassType* c = cu->get_class(n); c && c->kind() == TypeKind::kEnum)
          return "Enum<" + n + ">";
      return n;
    }
    case ExprKind::kSubscript: {
      const std::string base = type.operands.empty() ? "" : type.operands[0]->dotted_name();
      std::vector<std::string> args;
      for (std::size_t i = 1; i < type.operands.size(); ++i)
        args.push_back(schema_type_str(*type.operands[i], cu));
      auto join = [&] {
        std::string s;
        for (std::size_t i = 0; i < args.size(); ++i) s += (i ? ", " : "") + args[i];
        return s;
      };
      if (base == "List" && args.size() == 1) return args[0] + "[]";
      if (base == "Optional" && args.size() == 1) return args[0] + "?";
      if (base == "Final" && args.size() == 1) return args[0];
      if (base == "Dict") return "Dict(" + join() + ")";
      if (base == "Tuple" || base == "tuple") {
        if (args.size() == 1 && type.operands[1]->kind == ExprKind::kTuple) return args[0];
        return "(" + join() + ")";
      }
      if (base == "Union") {
        // Union[T, None] is Optional[T]
        std::vector<std::string> rest;
        bool none = false;
        for (const auto& a : args) {
          if (a == "NoneType")
            none = true;
          else
            rest.push_back(a);
        }
        if (none && rest.size() == 1) return rest[0] + "?";
        return "Union(" + join() + ")";
      }
      if (!base.empty()) return base + "(" + join() + ")";  // Future(T), RRef(T), Await(T)
      return frontend::print_expr(type);
    }
    default:
      return frontend::print_expr(type);
  }
}

}  // namespace ptio::jit
