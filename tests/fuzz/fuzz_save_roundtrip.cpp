// Fuzz target: load -> save -> load gives equal values, and saving is deterministic (the same
// value saved twice, and the reloaded value saved again, give identical bytes). Inputs that do not
// load (weights_only, no mmap) or that ptio::save refuses (documented errors) are skipped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "ptio/core/content_equal.h"
#include "ptio/core/ivalue.h"
#include "ptio/error.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"

namespace {

using namespace ptio;

// Equal by content (ptio::content_equal): tensors and storages by metadata and element bytes,
// since two loads never share one; storage keys are not compared (torch.save renumbers them).
// Values nested beyond the comparison limit count as equal (the pickle limits keep them rarer).
bool same(const IValue& a, const IValue& b) {
  try {
    return content_equal(a, b);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kLimitExceeded) throw;
    return true;
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
