// The three torch.load container readers (zip, legacy stacked pickles, tar).
#pragma once

#include <memory>

#include "ptio/core/ivalue.h"
#include "ptio/io/read_adapter.h"
#include "ptio/serialization/load.h"

namespace ptio::detail {

/// Breaks the reference cycles of an unpickled value when it goes out of scope, unless `keep` was
/// set: a loader that throws after a pickle was unpickled (a later header check, a missing
/// storage) must free the cycles that pickle built, which reference counting alone never frees
/// (ptio::break_cycles). Header pickles are always dropped; the object pickle is kept on success.
struct CycleGuard {
  IValue& value;
  bool keep = false;
  ~CycleGuard() {
    if (!keep) break_cycles(value);
  }
};

/// torch.load's zip branch (spec sections 2, 3, 9). `allow_view`: zero-copy storages may point
/// into `in` (it is shared and stays alive through them).
IValue load_zip(const std::shared_ptr<const io::ReadAdapter>& in, const LoadOptions& options,
                bool allow_view);
/// `_legacy_load` over stacked pickles (spec section 6).
IValue load_legacy(const io::ReadAdapter& in, const LoadOptions& options);
/// `_legacy_load`'s tar branch (spec section 7).
IValue load_tar(const io::ReadAdapter& in, const LoadOptions& options);

}  // namespace ptio::detail
