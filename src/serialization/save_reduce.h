// Turns an object into what torch.save pickles: tensors as rebuild-function calls, storages as
// persistent ids, with the sharing CPython's pickler sees (spec-torch-save.md sections 3-5).
#pragma once

#include <vector>

#include "ptio/core/ivalue.h"
#include "serialization/save_container.h"

namespace ptio::detail {

/// The pickle-ready tree and the storages it references.
struct SaveReduction {
  /// `obj` with every Tensor replaced by an Opaque `torch._utils._rebuild_*` call, every Storage
  /// by a persistent id (`IValue::persistent_id`), Devices by `torch.device(...)` calls. Values
  /// that are one object in `obj` are one object here (memo sharing), and the strings and
  /// globals CPython would re-use (`'storage'`, location tags, keys, storage classes, rebuild
  /// functions) are single shared values.
  IValue tree;
  /// Storages in key order of first encounter ("0", "1", ... for zip).
  std::vector<StorageRecord> storages;
  /// Every list, dict, object and opaque value the reduction created. A cyclic `obj` gives a
  /// cyclic `tree` (reference counts never reach zero), so the destructor empties these, and
  /// only these: values shared with `obj` (strings, sets, enums) are left alone.
  std::vector<IValue> created;

  SaveReduction() = default;
  SaveReduction(SaveReduction&&) = default;
  SaveReduction& operator=(SaveReduction&&) = delete;
  ~SaveReduction();
};

/// Reduces `obj` for torch.save. `legacy`: 6-tuple persistent ids (`view_metadata` None) and
/// keys taken from the storages' own keys when they are distinct (else a counter).
/// Throws Error(kBadStorage) when one storage is viewed as two dtypes.
SaveReduction reduce_for_save(const IValue& obj, bool legacy);

}  // namespace ptio::detail
