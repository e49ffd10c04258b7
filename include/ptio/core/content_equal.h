// content_equal: structural equality of two values by content, for values that do not share
// tensors (two loads of one file, a value and its save/load round trip).
#pragma once

#include "ptio/core/ivalue.h"
#include "ptio/export.h"

namespace ptio {

/// True when `a` and `b` hold the same content. No PyTorch counterpart: what a test of
/// `torch.load(torch.save(x))` checks by hand (`torch.equal` on every tensor, `==` elsewhere).
/// Unlike `==` (Python's semantics, tensors and storages by identity):
/// - tensors are equal when dtype, layout, device, sizes, requires_grad, python_type,
///   python_state (by content) and the elements match:
///   strided tensors compare strides and their elements' bytes in row-major order (not the
///   storage_offset nor the rest of the storage), meta tensors their strides, sparse tensors
///   their component tensors (by content); storages compare dtype, device and every byte (not
///   their keys, which torch.save renumbers);
/// - kinds must match: `1`, `1.0` and `True` differ, as do bytes and bytearray, set and frozenset;
///   floats and complex numbers compare bit for bit (a NaN equals the same NaN, -0.0 differs
///   from 0.0);
/// - dicts compare entry by entry in insertion order (keys by content too: tensor keys hash by
///   identity, so a lookup could not find them);
/// - objects, enums, unresolved globals (Opaque: every applied call), lists and tuples compare
///   element by element as `==` does; set members compare with `==`. A pair of containers met
///   again while comparing them (a cycle) counts as equal; the rest of the structure decides.
/// Throws Error(kLimitExceeded) when the values nest deeper than 1000 levels.
PTIO_API bool content_equal(const IValue& a, const IValue& b);

}  // namespace ptio
