// Module accessors: attributes, parameters, buffers, children and state_dict in PyTorch's order
// (torch/csrc/jit/api/module.h slot-order iteration).
#include "ptio/jit/module.h"

#include <set>

#include "ptio/error.h"

namespace ptio::jit {

namespace {

// The value of slot `i` (attribute `name`): objects of loaded archives hold their attributes in
// slot order, so this is O(1); otherwise a search by name.
const IValue* slot(const ivalue::Object& o, std::size_t i, const std::string& name) {
  if (i < o.attributes.size() && o.attributes[i].first == name) return &o.attributes[i].second;
  return o.attribute(name);
}

const ArchiveInfo& empty_info() {
  static const ArchiveInfo info;
  return info;
}

}  // namespace

Module::Module(IValue object, std::shared_ptr<const CompilationUnit> cu,
               std::shared_ptr<const ArchiveInfo> info)
    : object_(std::move(object)), cu_(std::move(cu)), info_(std::move(info)) {
  PTIO_CHECK(cu_ != nullptr, ErrorCode::kJitBadModule, "Module: no compilation unit");
  PTIO_CHECK(object_.is_object(), ErrorCode::kJitBadModule, "a module must be an object, got ",
             object_.kind_name());
  type_ = cu_->get_class(object_.as_object().type.qualified_name());
  PTIO_CHECK(type_ != nullptr, ErrorCode::kJitMissingClass, "class ",
             object_.as_object().type.qualified_name(), " is not defined in the archive's code");
}

const ArchiveInfo& Module::archive() const noexcept {
  return info_ ? *info_ : empty_info();
}

const IValue& Module::attr(std::string_view name) const {
  const IValue* v = object_.as_object().attribute(name);
  PTIO_CHECK(v != nullptr, ErrorCode::kJitBadModule, "module ", type_->name().qualified_name(),
             " has no attribute '", name, "'");
  return *v;
}

bool Module::hasattr(std::string_view name) const noexcept {
  return object_.is_object() && object_.as_object().attribute(name) != nullptr;
}

Module Module::child(std::string_view name) const {
  const IValue& v = attr(name);
  PTIO_CHECK(v.is_object(), ErrorCode::kJitBadModule, "attribute '", name, "' is not a module");
  return Module(v, cu_, info_);
}

IValue Module::attr_path(std::string_view dotted) const {
  IValue cur = object_;
  std::size_t pos = 0;
  while (pos <= dotted.size()) {
    const std::size_t dot = std::min(dotted.find('.', pos), dotted.size());
    const std::string_view part = dotted.substr(pos, dot - pos);
    const IValue* next = nullptr;
    if (cur.is_object()) {
      next = cur.as_object().attribute(part);
    } else if (cur.is_dict()) {
      next = cur.as_dict().find(part);
    } else if (cur.is_list() || cur.is_tuple()) {
      const auto& items = cur.is_list() ? cur.as_list().elements : cur.as_tuple().elements();
      std::size_t i = 0;
      bool digits = !part.empty();
      for (char c : part) {
        digits = digits && c >= '0' && c <= '9' && i < items.size() + 1;
        if (digits) i = i * 10 + static_cast<std::size_t>(c - '0');
      }
      if (digits && i < items.size()) next = &items[i];
    }
    PTIO_CHECK(next != nullptr, ErrorCode::kJitBadModule, "no attribute '", part, "' at '",
               dotted.substr(0, dot), "'");
    cur = *next;
    pos = dot + 1;
  }
  return cur;
}

namespace {

// Every module below `root` in pre-order (slot order), iteratively. `dedup`: a module object
// reached twice is listed once (Python's named_modules); otherwise each path is listed (Python's
// state_dict recursion). A module that contains itself (only a hostile pickle can build one)
// throws Error(kJitBadModule).
std::vector<std::pair<std::string, Module>> preorder(const Module& root, bool dedup) {
  std::vector<std::pair<std::string, Module>> out;
  std::set<const void*> seen;
  std::vector<const void*> path;  // identities of the ancestors of the entry being expanded
  struct Entry {
    std::string name;
    Module m;
    std::size_t depth;
  };
  std::vector<Entry> stack{{"", root, 0}};
  while (!stack.empty()) {
    Entry e = std::move(stack.back());
    stack.pop_back();
    path.resize(e.depth);
    const void* id = e.m.ivalue().identity();
    for (const void* p : path)
      PTIO_CHECK(p != id, ErrorCode::kJitBadModule, "module '", e.name, "' contains itself");
    if (dedup && !seen.insert(id).second) continue;
    // Without dedup a module shared along many paths is listed once per path, as PyTorch's
    // recursion does; a hostile DAG could make that exponential, so the listing is bounded.
    PTIO_CHECK(out.size() < (std::size_t{1} << 22), ErrorCode::kLimitExceeded,
               "more than 4194304 module paths (submodules shared along too many paths)");
    path.push_back(id);
    auto children = e.m.named_children();
    for (auto it = children.rbegin(); it != children.rend(); ++it)
      stack.push_back(
          {e.name.empty() ? it->first : e.name + "." + it->first, it->second, e.depth + 1});
    out.emplace_back(std::move(e.name), std::move(e.m));
  }
  return out;
}

template <typename Pred>
std::vector<std::pair<std::string, Tensor>> collect_tensors(const Module& root, bool recurse,
                                                            Pred pred) {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<const void*> seen;  // Python's named_parameters drops repeated tensors
  const auto modules =
      recurse ? preorder(root, true) : std::vector<std::pair<std::string, Module>>{{"", root}};
  for (const auto& [prefix, m] : modules) {
    const auto& obj = m.ivalue().as_object();
    const auto& attrs = m.type().attributes();
    for (std::size_t i = 0; i < attrs.size(); ++i) {
      const auto& a = attrs[i];
      if (!pred(a)) continue;
      const IValue* v = slot(obj, i, a.name);
      if (!v || !v->is_tensor()) continue;
      if (!seen.insert(v->as_tensor().id()).second) continue;
      out.emplace_back(prefix.empty() ? a.name : prefix + "." + a.name, v->as_tensor());
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  return collect_tensors(*this, recurse, [](const ClassAttribute& a) { return a.is_parameter; });
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  return collect_tensors(*this, recurse, [](const ClassAttribute& a) { return a.is_buffer; });
}

std::vector<std::pair<std::string, Module>> Module::named_children() const {
  std::vector<std::pair<std::string, Module>> out;
  const auto& obj = object_.as_object();
  const auto& attrs = type_->attributes();
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    const auto& a = attrs[i];
    if (!a.is_module) continue;
    const IValue* v = slot(obj, i, a.name);
    if (v && v->is_object() && cu_->get_class(v->as_object().type.qualified_name()))
      out.emplace_back(a.name, Module(*v, cu_, info_));
  }
  return out;
}

std::vector<std::pair<std::string, Module>> Module::named_modules() const {
  return preorder(*this, true);
}

std::vector<std::pair<std::string, IValue>> Module::named_attributes(bool recurse) const {
  std::vector<std::pair<std::string, IValue>> out;
  const auto& obj = object_.as_object();
  const auto& attrs = type_->attributes();
  for (std::size_t i = 0; i < attrs.size(); ++i)
    if (const IValue* v = slot(obj, i, attrs[i].name)) out.emplace_back(attrs[i].name, *v);
  if (recurse) {
    const auto modules = preorder(*this, true);
    for (std::size_t i = 1; i < modules.size(); ++i)
      for (auto& [n, v] : modules[i].second.named_attributes(false))
        out.emplace_back(modules[i].first + "." + n, v);
  }
  return out;
}

StateDict Module::state_dict() const {
  StateDict sd;
  for (const auto& [prefix, m] : preorder(*this, false)) {
    const std::string p = prefix.empty() ? "" : prefix + ".";
    const auto& obj = m.ivalue().as_object();
    const auto& attrs = m.type().attributes();
    for (const bool params : {true, false})
      for (std::size_t i = 0; i < attrs.size(); ++i)
        if (params ? attrs[i].is_parameter : attrs[i].is_buffer)
          if (const IValue* v = slot(obj, i, attrs[i].name); v && v->is_tensor())
            sd.insert(p + attrs[i].name, v->as_tensor());
  }
  return sd;
}

bool Module::is_training() const {
  const IValue* v = object_.as_object().attribute("training");
  return v == nullptr || !v->is_bool() || v->as_bool();
}

const Method* Module::find_method(std::string_view name) const {
  return type_->find_method(name);
}

std::vector<const Method*> Module::get_methods() const {
  std::vector<const Method*> out;
  for (const Method& m : type_->methods())
    if (!m.is_hook()) out.push_back(&m);
  return out;
}

std::string Module::code() const {
  return type_->code();
}

}  // namespace ptio::jit
