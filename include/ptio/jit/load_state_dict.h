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
  /// ptio's addition: keys whose complex input was copied into a real module tensor, keeping the
  /// real part (PyTorch's UserWarning "Casting complex values to real discards the imaginary
  /// part"), in state_dict order.
  std::vector<std::string> discarded_imaginary;
};

/// Copies tensors from `state_dict` into the module's parameters and buffers, matched by
/// PyTorch's state_dict names (Module::state_dict()). Mirrors `nn.Module.load_state_dict(
/// state_dict, strict)` (torch/nn/modules/module.py, `_load_from_state_dict`): the same key
/// matching and order, the 0-dim ← 1-element rule, `copy_` semantics (the module tensor keeps
/// its sizes, strides, storage sharing, device and requires_grad; each written storage becomes
/// an owned copy, so the module's Storage is not shared with the input and a mapped file is
/// never written). Dtypes are converted as `copy_` converts them between bool, uint8, int8-64,
/// float16, bfloat16, float32, float64, complex64 and complex128 (PyTorch 1.13 on x86-64: floats
/// to integers truncate, complex to real keeps the real part, listed in discarded_imaginary);
/// other dtype pairs (quantized, float8, uint16-64, complex32) must be equal. Shapes must be
/// equal. Full contract in src/jit/load_state_dict.cpp.
/// Throws Error(kJitStateDict) with PyTorch's RuntimeError text ("Error(s) in loading state_dict
/// for RecursiveScriptModule:" then every missing and unexpected key when `strict`, every size
/// mismatch and dtype pair ptio cannot convert whatever `strict` is); nothing is modified when it throws.
/// Error(kJitBadModule) for a module tree that contains itself.
PTIO_API IncompatibleKeys load_state_dict(Module& module, const StateDict& state_dict,
                                          bool strict = true);

}  // namespace ptio::jit
