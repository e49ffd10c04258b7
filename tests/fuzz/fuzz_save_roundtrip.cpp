// Fuzz target: load -> save -> load gives equal values, and saving is deterministic (the same
// value saved twice, and the reloaded value saved again, give identical bytes); where the one-pass
// writer (save_direct) takes the value, it writes the bytes and storages the general path
// (reduce_for_save + pickle_for_save) writes. Inputs that do not load (weights_only, no mmap) or
// that ptio::save refuses (documented errors) are skipped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "ptio/core/content_equal.h"
#include "ptio/core/ivalue.h"
#include "ptio/error.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "serialization/save_direct.h"
#include "serialization/save_reduce.h"

namespace ptio::detail {
std::vector<std::byte> pickle_for_save(const IValue& tree);
}  // namespace ptio::detail

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

// save_direct, where it takes `v`, gives the general path's data.pkl and storages. Both may
// refuse the value with the same documented error.
void check_direct_matches_general(const IValue& v) {
  std::optional<detail::SavePickle> direct;
  ErrorCode direct_error = ErrorCode::kInternal;
  try {
    direct = detail::pickle_for_save_direct(v);
    if (!direct) return;
  } catch (const Error& e) {
    direct_error = e.code();
  }
  std::vector<std::byte> general;
  std::optional<detail::SaveReduction> r;
  try {
    r.emplace(detail::reduce_for_save(v, false));
    general = detail::pickle_for_save(r->tree);
  } catch (const Error& e) {
    if (direct || e.code() != direct_error) std::abort();  // one path refuses, the other not
    return;
  }
  if (!direct) std::abort();  // direct refused what the general path writes
  if (direct->data_pkl.size() != general.size() ||
      !std::equal(direct->data_pkl.begin(), direct->data_pkl.end(), general.begin()))
    std::abort();
  if (direct->storages.size() != r->storages.size()) std::abort();
  for (std::size_t i = 0; i < r->storages.size(); ++i)
    if (direct->storages[i].key != r->storages[i].key ||
        !direct->storages[i].storage.is_same(r->storages[i].storage) ||
        direct->storages[i].dtype != r->storages[i].dtype)
      std::abort();
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
  check_direct_matches_general(v);
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
