// for_each_child: the direct children of a TorchScript value, as the walks over a module's object
// graph (import's memo scan, the save pickler's sharing count, class checks, type-tag restoring)
// enter them. Internal to src/jit.
#pragma once

#include <unordered_set>
#include <vector>

#include "ptio/core/ivalue.h"

namespace ptio::jit::detail {

/// Which children for_each_child reports. The defaults report every child of the TorchScript
/// kinds; each switch leaves out what one walk must not enter.
struct ChildWalk {
  /// Dict keys (before their value). Off: only the values.
  bool dict_keys = true;
  /// An Enum's value. Off: enums are leaves.
  bool enum_values = true;
  /// Objects: true, the attributes then (when has_state) the `__getstate__` state; false, the
  /// state when has_state, else the attributes: what the Pickler writes for the object.
  bool object_attributes_and_state = true;
};

/// Calls `f(child)` for each direct child of `v` in order: Object (see ChildWalk), List and Tuple
/// elements, Dict entries (key then value), an Enum's value. Other kinds (scalars, strings,
/// tensors, storages, devices, and the pickle-only Set, FrozenSet and Opaque) have none reported.
/// Not recursive and not cycle-aware: callers keep their own stack and seen-set. `f` may throw;
/// nothing is changed in `v`.
template <typename F>
void for_each_child(const IValue& v, F&& f, const ChildWalk& opt = {}) {
  switch (v.kind()) {
    case IValue::Kind::Object: {
      const auto& o = v.as_object();
      if (opt.object_attributes_and_state || !o.has_state)
        for (const auto& a : o.attributes) f(a.second);
      if (o.has_state) f(o.state);
      break;
    }
    case IValue::Kind::List:
      for (const auto& e : v.as_list().elements) f(e);
      break;
    case IValue::Kind::Tuple:
      for (const auto& e : v.as_tuple().elements()) f(e);
      break;
    case IValue::Kind::Dict:
      for (const auto& [k, e] : v.as_dict().items()) {
        if (opt.dict_keys) f(k);
        f(e);
      }
      break;
    case IValue::Kind::Enum:
      if (opt.enum_values) f(v.as_enum().value);
      break;
    default:
      break;
  }
}

/// Calls `visit(v)` once for every heap value reachable from `root` (root included; inline kinds
/// such as ints are skipped), depth-first over for_each_child(`opt`) with an explicit stack (no
/// recursion, any depth): after visiting a value its children are pushed, so the last child is
/// visited next. Cycles and shared values are visited once. `visit` may throw, and may reorder
/// or edit the value it is given: its children are read after `visit` returns.
template <typename F>
void for_each_reachable(const IValue& root, F&& visit, const ChildWalk& opt = {}) {
  std::unordered_set<const void*> seen;
  std::vector<IValue> stack{root};
  while (!stack.empty()) {
    IValue v = std::move(stack.back());
    stack.pop_back();
    if (!v.is_heap() || !seen.insert(v.identity()).second) continue;
    visit(v);
    for_each_child(v, [&](const IValue& c) { stack.push_back(c); }, opt);
  }
}

}  // namespace ptio::jit::detail
