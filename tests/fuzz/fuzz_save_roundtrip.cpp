// Fuzz target: load -> save -> load gives equal values, and saving is deterministic (the same
// value saved twice, and the reloaded value saved again, give identical bytes). Inputs that do not
// load (weights_only, no mmap) or that ptio::save refuses (documented errors) are skipped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/core/storage.h"
#include "ptio/core/tensor.h"
#include "ptio/error.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"

namespace {

using namespace ptio;

// Structural equality over every kind. IValue's == compares tensors and storages by identity,
// and two loads never share one, so both compare here by metadata and element bytes (storage keys
// are not compared: torch.save renumbers them). Opaque values, objects and enums are walked so a
// storage or tensor inside them is compared the same way. A pair of containers met again on the
// current path (a cycle) counts as equal; the rest of the structure decides.
class Same {
 public:
  bool operator()(const IValue& a, const IValue& b) { return eq(a, b, 0); }

 private:
  std::vector<std::pair<const void*, const void*>> path_;

  struct Step {
    Step(Same& s, const IValue& a, const IValue& b) : s_(s) {
      s_.path_.emplace_back(a.identity(), b.identity());
    }
    ~Step() { s_.path_.pop_back(); }
    Same& s_;
  };
  bool on_path(const IValue& a, const IValue& b) const {
    for (const auto& [x, y] : path_)
      if (x == a.identity() && y == b.identity()) return true;
    return false;
  }
  static bool storage_eq(const Storage& x, const Storage& y) {
    return x.dtype() == y.dtype() && x.nbytes() == y.nbytes() && x.device() == y.device() &&
           std::equal(x.bytes().begin(), x.bytes().end(), y.bytes().begin(), y.bytes().end());
  }
  bool seq_eq(const std::vector<IValue>& x, const std::vector<IValue>& y, int depth) {
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!eq(x[i], y[i], depth + 1)) return false;
    return true;
  }
  bool eq(const IValue& a, const IValue& b, int depth) {
    if (depth > 200) return true;
    if (a.is_tensor() && b.is_tensor()) {
      const Tensor& x = a.as_tensor();
      const Tensor& y = b.as_tensor();
      if (x.dtype() != y.dtype() || x.sizes() != y.sizes() || x.strides() != y.strides() ||
          x.requires_grad() != y.requires_grad())
        return false;
      try {
        return x.contiguous_bytes() == y.contiguous_bytes();
      } catch (const Error&) {
        return true;  // meta or sparse: no element bytes
      }
    }
    if (a.is_storage() && b.is_storage()) return storage_eq(a.as_storage(), b.as_storage());
    if (a.kind() != b.kind()) return false;
    if (a.is_heap() && on_path(a, b)) return true;
    const Step step(*this, a, b);
    if (a.is_list() || a.is_tuple()) {
      const auto& ea = a.is_list() ? a.as_list().elements : a.as_tuple().elements();
      const auto& eb = b.is_list() ? b.as_list().elements : b.as_tuple().elements();
      return seq_eq(ea, eb, depth);
    }
    if (a.is_dict()) {
      const auto& da = a.as_dict().items();
      const auto& db = b.as_dict().items();
      if (da.size() != db.size()) return false;
      auto ib = db.begin();
      for (auto ia = da.begin(); ia != da.end(); ++ia, ++ib)
        if (!eq(ia->first, ib->first, depth + 1) || !eq(ia->second, ib->second, depth + 1))
          return false;
      return true;
    }
    if (a.is_opaque()) {
      const auto& oa = a.as_opaque();
      const auto& ob = b.as_opaque();
      if (oa.kind != ob.kind || oa.module != ob.module || oa.name != ob.name ||
          oa.applied.size() != ob.applied.size() ||
          !eq(oa.persistent_id, ob.persistent_id, depth + 1))
        return false;
      for (std::size_t i = 0; i < oa.applied.size(); ++i)
        if (oa.applied[i].op != ob.applied[i].op ||
            !eq(oa.applied[i].arg, ob.applied[i].arg, depth + 1))
          return false;
      return true;
    }
    if (a.is_object()) {
      const auto& oa = a.as_object();
      const auto& ob = b.as_object();
      if (!(oa.type == ob.type) || oa.attributes.size() != ob.attributes.size() ||
          oa.has_state != ob.has_state)
        return false;
      for (std::size_t i = 0; i < oa.attributes.size(); ++i)
        if (oa.attributes[i].first != ob.attributes[i].first ||
            !eq(oa.attributes[i].second, ob.attributes[i].second, depth + 1))
          return false;
      return eq(oa.state, ob.state, depth + 1);
    }
    if (a.is_enum()) {
      const auto& ea = a.as_enum();
      const auto& eb = b.as_enum();
      return ea.type == eb.type && ea.name == eb.name && eq(ea.value, eb.value, depth + 1);
    }
    try {
      return a == b;  // scalars, strings, bytes, devices, sets (hashable members only)
    } catch (const Error&) {
      return true;  // nested beyond the comparison limit
    }
  }
};

bool same(const IValue& a, const IValue& b) { return Same()(a, b); }

std::vector<std::byte> save_bytes(const IValue& v) {
  io::MemoryWriter w;
  save(v, w);
  return w.release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  LoadOptions o;
  o.mmap = false;
  o.limits.pickle.max_depth = 100;
  o.limits.pickle.max_memo_entries = 1 << 14;
  o.limits.pickle.max_container_length = 1 << 14;
  o.limits.pickle.alloc_base_bytes = 4 << 20;
  o.limits.pickle.alloc_bytes_per_input_byte = 16;
  o.limits.zip.max_entries = 1 << 10;
  IValue v;
  try {
    v = load(in, o);
  } catch (const Error&) {
    return 0;
  }
  std::vector<std::byte> first;
  try {
    first = save_bytes(v);
  } catch (const Error&) {
    break_cycles(v);
    return 0;  // a value torch.save cannot write either (documented save errors)
  }
  if (save_bytes(v) != first) std::abort();  // saving twice: identical bytes
  IValue again;
  try {
    again = load(std::span<const std::byte>(first), o);
  } catch (const Error&) {
    std::abort();  // what ptio saved must load
  }
  if (!same(v, again)) std::abort();
  if (save_bytes(again) != first) std::abort();  // reloaded value saves to the same bytes
  break_cycles(v);
  break_cycles(again);
  return 0;
}
