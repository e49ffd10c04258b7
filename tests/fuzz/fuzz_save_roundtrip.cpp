// Fuzz target: load -> save -> load gives equal values, and saving is deterministic (the same
// value saved twice, and the reloaded value saved again, give identical bytes). Inputs that do not
// load (weights_only, no mmap) or that ptio::save refuses (documented errors) are skipped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/core/tensor.h"
#include "ptio/error.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"

namespace {

using namespace ptio;

// Structural equality where tensors compare by metadata and element bytes (IValue's == compares
// tensors by identity, and two loads never share one).
bool same(const IValue& a, const IValue& b, int depth = 0) {
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
  if (a.kind() != b.kind()) return false;
  if (a.is_list() || a.is_tuple()) {
    const auto& ea = a.is_list() ? a.as_list().elements : a.as_tuple().elements();
    const auto& eb = b.is_list() ? b.as_list().elements : b.as_tuple().elements();
    if (ea.size() != eb.size()) return false;
    for (std::size_t i = 0; i < ea.size(); ++i)
      if (!same(ea[i], eb[i], depth + 1)) return false;
    return true;
  }
  if (a.is_dict()) {
    const auto& da = a.as_dict().items();
    const auto& db = b.as_dict().items();
    if (da.size() != db.size()) return false;
    auto ib = db.begin();
    for (auto ia = da.begin(); ia != da.end(); ++ia, ++ib)
      if (!same(ia->first, ib->first, depth + 1) || !same(ia->second, ib->second, depth + 1))
        return false;
    return true;
  }
  try {
    return a == b;
  } catch (const Error&) {
    return true;  // nested beyond the comparison limit
  }
}

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
