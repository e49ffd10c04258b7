// ptio::jit::load_state_dict: nn.Module.load_state_dict for a TorchScript Module.
#pragma once

#include <string>
#include <vector>

#include "ptio/export.h"
#include "ptio/jit/module.h"
#include "ptio/serialization/state_dict.h"

namespace ptio::jit {

/// What load_state_dict did not match. Mirrors PyTorch's `_IncompatibleKeys(missing_keys,
/// unexpected_keys)` named tuple; both are filled whatever `strict` is, as PyTorch 1.13 does.
struct PTIO_API IncompatibleKeys {
  std::vector<std::string> missing_keys;     ///< module state_dict names absent from the input
  std::vector<std::string> unexpected_keys;  ///< input names the module does not have
};

/// Copies tensors from `state_dict` into the module's parameters and buffers, matched by
/// PyTorch's state_dict names (Module::state_dict()). Mirrors `nn.Module.load_state_dict(
/// state_dict, strict)` (torch/nn/modules/module.py, `_load_from_state_dict`): the same key
/// matching and order, the 0-dim ← 1-element rule, `copy_` semantics (the module tensor keeps
/// its sizes, strides, storage sharing, device and requires_grad; each written storage becomes
/// an owned copy, so the module's Storage is not shared with the input and a mapped file is
/// never written). Unlike PyTorch, which converts dtypes, each matched tensor must have the
/// module tensor's dtype as well as its shape. Full contract in src/jit/load_state_dict.cpp.
/// Throws Error(kJitStateDict) with PyTorch's RuntimeError text ("Error(s) in loading state_dict
/// for RecursiveScriptModule:" then every missing and unexpected key when `strict`, every size
/// and dtype mismatch whatever `strict` is); nothing is modified when it throws.
/// Error(kJitBadModule) for a module tree that contains itself.
PTIO_API IncompatibleKeys load_state_dict(Module& module, const StateDict& state_dict,
                                          bool strict = true);

}  // namespace ptio::jit
