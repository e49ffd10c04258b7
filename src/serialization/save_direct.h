// torch.save's data.pkl written in one pass over the object (no reduced copy of the tree) for the
// values state_dicts and plain containers of tensors are made of.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "io/huge_pages.h"
#include "ptio/core/ivalue.h"
#include "serialization/save_container.h"

namespace ptio::detail {

/// data.pkl and the storages it references.
struct SavePickle {
  /// Huge-page backed once it passes 1 MiB (a 20,000-tensor data.pkl is ~4 MB: ~1,000 fresh-page
  /// faults otherwise, a fifth of such a save's time in a VM).
  std::vector<std::byte, io::detail::HugePageAllocator<std::byte>> data_pkl;
  /// Storages in key order of first encounter ("0", "1", ...).
  std::vector<StorageRecord> storages;
};

/// The zip-format data.pkl and storages that `pickle_for_save(reduce_for_save(obj, false).tree)`
/// gives, byte for byte, written directly from `obj`: each dense Tensor's `_rebuild_tensor_v2` /
/// `_rebuild_tensor_v3` / `_rebuild_parameter` reduce and persistent id go straight to the pickle
/// instead of through a reduced IValue tree (which costs several allocations per tensor).
///
/// Returns std::nullopt, having written nothing, when `obj` holds anything else than None, bools,
/// ints, floats, str, bytes, bytearray, big ints, complex, lists, dicts (keys atomic or str),
/// tuples and dense strided tensors that are not quantized (e.g. Storage, Device, sets, enums,
/// objects, unresolved globals, sparse/meta/quantized tensors, one tensor under two IValue
/// payloads, a tuple reached from inside itself, nesting deeper than 900 levels): the caller then
/// uses reduce_for_save + pickle_for_save. Throws Error(kBadStorage) as reduce_for_save does when
/// one storage is viewed as two dtypes, and the Pickler's errors.
///
/// `before_pickling`, when set, is called once `obj` is known to take this path, before the
/// pickling, with the storages that carry no CRC-32 (not empty, no source_crc32()) keyed as they
/// will most likely be keyed (by first encounter in a depth-first walk), so their checksums can
/// start on another thread (prefetch_storage_crc32()).
std::optional<SavePickle> pickle_for_save_direct(
    const IValue& obj,
    const std::function<void(std::vector<PendingCrc32>)>& before_pickling = nullptr);

}  // namespace ptio::detail
