// ptio::jit::load_state_dict: nn.Module.load_state_dict for a TorchScript Module.
#pragma once

#include <string>
#include <vector>

#include "ptio/export.h"
#include "ptio/jit/module.h"
#include "ptio/serialization/state_dict.h"

namespace ptio::jit {

/// What load_state_dict did not match. Mirrors PyTorch's `_IncompatibleKeys(missing_keys,
/// unexpected_keys)` named tuple.
struct PTIO_API IncompatibleKeys {
  std::vector<std::string> missing_keys;     ///< module state_dict names absent from the input
  std::vector<std::string> unexpected_keys;  ///< input names the module does not have
};

/// Copies tensors from `state_dict` into the module's parameters and buffers, matched by
/// PyTorch's state_dict names (Module::state_dict()). Mirrors `nn.Module.load_state_dict(
/// state_dict, strict)`. Each matched tensor must have the module tensor's shape and dtype; the
/// module's tensor is replaced by the input's values (the module's Storage is not shared with
/// the input afterwards). Full contract in src/jit/load_state_dict.cpp.
/// Throws Error(kJitStateDict) listing every shape/dtype mismatch and, under `strict`, every
/// missing and unexpected key, in PyTorch's message layout; nothing is modified when it throws.
PTIO_API IncompatibleKeys load_state_dict(Module& module, const StateDict& state_dict,
                                          bool strict = true);

}  // namespace ptio::jit
