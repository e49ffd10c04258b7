// CycleGuard: frees the reference cycles of an unpickled value a loader abandons.
#pragma once

#include "ptio/core/ivalue.h"

namespace ptio::detail {

/// Breaks the reference cycles of an unpickled value when it goes out of scope, unless `keep` was
/// set: a loader that throws after a pickle was unpickled (a later header check, a missing
/// storage, a module check) must free the cycles that pickle built, which reference counting
/// alone never frees (ptio::break_cycles). Header pickles are always dropped; the result is kept
/// on success. Used by every loader that unpickles (torch.load's legacy and tar readers, the
/// TorchScript import of constants.pkl, data.pkl, bytecode.pkl, .debug_pkl and attributes.pkl,
/// and the scanner's decoded tar headers).
struct CycleGuard {
  IValue& value;
  bool keep = false;
  ~CycleGuard() {
    if (!keep) break_cycles(value);
  }
};

}  // namespace ptio::detail
