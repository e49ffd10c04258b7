// Unpickler::Impl::release_garbage: frees reference cycles a pickle built but did not return.
#include "pickle/unpickler_impl.h"

namespace ptio::pickle {

namespace {

// Direct children of a payload, for the reachability walk.
template <typename F>
void for_each_child(const IValue& v, F&& f) {
  switch (v.kind()) {
    case IValue::Kind::Tuple:
      for (const auto& x : v.as_tuple().elements()) f(x);
      break;
    case IValue::Kind::List:
      for (const auto& x : v.as_list().elements) f(x);
      break;
    case IValue::Kind::Dict:
      for (const auto& [k, x] : v.as_dict().items()) {
        f(k);
        f(x);
      }
      f(v.as_dict().build_state);
      break;
    case IValue::Kind::Set:
    case IValue::Kind::FrozenSet:
      for (const auto& x : v.as_set().items()) f(x);
      break;
    case IValue::Kind::Object:
      for (const auto& [n, x] : v.as_object().attributes) f(x);
      f(v.as_object().state);
      break;
    case IValue::Kind::Enum:
      f(v.as_enum().value);
      break;
    case IValue::Kind::Opaque:
      for (const auto& a : v.as_opaque().applied) f(a.arg);
      f(v.as_opaque().persistent_id);
      break;
    case IValue::Kind::Tensor:  // a subclass instance's attributes (_rebuild_from_type_v2)
      if (v.as_tensor().defined()) f(v.as_tensor().python_state());
      break;
    default:
      break;
  }
}

// Empties a mutable container so the cycles through it fall apart.
void clear_contents(const IValue& v) {
  switch (v.kind()) {
    case IValue::Kind::List:
      v.as_list().elements.clear();
      break;
    case IValue::Kind::Dict:
      v.as_dict().clear();
      v.as_dict().build_state = IValue();
      break;
    case IValue::Kind::Set:
      v.as_set().clear();
      break;
    case IValue::Kind::Object:
      v.as_object().attributes.clear();
      v.as_object().state = IValue();
      break;
    case IValue::Kind::Opaque:
      v.as_opaque().applied.clear();
      v.as_opaque().persistent_id = IValue();
      break;
    default:
      break;
  }
}

}  // namespace

void Unpickler::Impl::release_garbage(const IValue& keep) noexcept {
  try {
    stack.clear();
    marks.clear();
    memo.clear();
    memo_defined.clear();
    memo_len = 0;
    sparse_memo.clear();
    // Targets only this list still holds are garbage without cycles: dropping them is enough.
    std::unordered_set<const void*> pending;
    std::vector<IValue> suspects;
    for (auto& t : mutated)
      if (t.use_count() > 1) {
        pending.insert(t.identity());
        suspects.push_back(std::move(t));
      }
    mutated.clear();
    mutated_ids.clear();
    if (suspects.empty()) return;
    // Walk the result until every suspect is found (usually at once: the top-level dict).
    if (keep.is_heap()) {
      std::unordered_set<const void*> seen;
      std::vector<const IValue*> work{&keep};
      while (!work.empty() && !pending.empty()) {
        const IValue* v = work.back();
        work.pop_back();
        if (!v->is_heap() || !seen.insert(v->identity()).second) continue;
        pending.erase(v->identity());
        for_each_child(*v, [&](const IValue& c) {
          if (c.is_heap()) work.push_back(&c);
        });
      }
    }
    // Suspects the result does not reach are garbage held up by a cycle (or by the caller's own
    // objects that the pickle mutated): empty them.
    for (const auto& s : suspects)
      if (pending.count(s.identity())) clear_contents(s);
  } catch (...) {
    // Out of memory while collecting: leak rather than fail.
  }
}

}  // namespace ptio::pickle
