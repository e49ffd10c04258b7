// to_json: the JSON encoding of IValue used by `ptio show --json` (documented in docs/cli.md).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/export.h"

namespace ptio {

/// Options of `to_json`.
struct PTIO_API JsonOptions {
  /// Returns the lower-case hex SHA-256 of a tensor's elements (row-major, little-endian), or ""
  /// to leave `sha256` out. The library has no hash function; the CLI passes one.
  std::function<std::string(const Tensor&)> tensor_sha256;
  /// Containers nested deeper than this become `{"truncated": "<type>"}` (never more than 1000).
  std::size_t max_depth = 1000;
  /// Indent nested containers by this many spaces per level (0 = one line).
  int indent = 0;
  /// Bytes of output beyond which `to_json` throws Error(kLimitExceeded) naming this limit
  /// (checked before each value is encoded, so the output may pass it by one scalar: a string
  /// or a tensor). Default 256 MiB; SIZE_MAX for none.
  std::size_t max_output_bytes = std::size_t{256} << 20;
};

/// Encodes `v` as JSON (UTF-8 text, every non-ASCII character escaped as \uXXXX):
///
/// | value | JSON |
/// |---|---|
/// | None, bool | `null`, `true` / `false` |
/// | int within ±2^53, float | JSON number (floats in Python's repr form, `-0.0` kept) |
/// | int beyond ±2^53 (also BigInt) | `{"int": "<decimal>"}` |
/// | nan, inf, -inf | `{"float": "nan" | "inf" | "-inf"}` |
/// | str | string |
/// | bytes / bytearray | `{"bytes": "<base64>"}` / `{"bytearray": "<base64>"}` |
/// | tuple / list | `{"tuple": [...]}` / `[...]` |
/// | dict | `{"dict": [[k, v], ...]}` (+ `"state"` when a BUILD gave it one) |
/// | set / frozenset | `{"set": [...]}` / `{"frozenset": [...]}` (file order) |
/// | complex | `{"complex": [re, im]}` |
/// | tensor | `{"tensor": {"dtype", "shape", "strides", "storage_offset", "requires_grad",
/// "sha256"}}`, keys named as `ptio tensors --json` names them: sparse tensors have no strides /
/// storage_offset and add `"layout": "sparse_coo"`..., non-CPU ones `"device"`, parameters
/// `"is_parameter": true`, quantized ones `"qscheme"` with `"q_scale"`, `"q_zero_point"` or
/// `"q_per_channel_axis"`, subclass instances and tensors with Python attributes `"python_type"`
/// and `"python_state"` (Tensor::python_type / python_state; the state one level deeper) | | storage | `{"storage": {"dtype", "nbytes", "key", "location"}}` | | device |
/// `{"device": "cuda:0"}` | | enum | `{"enum": "<qualified class>.<member>", "value": ...}` | |
/// object | `{"object": "<qualified name>", "state": ...}` (attributes as a dict) | | unresolved
/// global | `{"global": "<module.name>", "args": ..., "state": ...}` | | persistent id |
/// `{"persistent_id": ...}` | | a cycle back to a container being printed | `{"cycle": "<type>"}` |
/// | a container reached more than once, not through a cycle: its first place | `{"shared": N,
/// "value": <the container's encoding>}` | | ... and every later place | `{"ref": N}` |
///
/// Shared containers (tuple, list, dict, set, object, enum, global..., reached again by
/// identity, as pickle's memo makes them) are encoded once, so the output grows with the number
/// of distinct values, never with the number of paths; N counts from 1 in output order. Values
/// without shared containers have no `shared` / `ref` objects. Tensors and strings are never
/// labelled (a tensor reached twice is encoded twice; `tensor_sha256` is called once per tensor).
///
/// Throws Error(kLimitExceeded) when the output would pass `options.max_output_bytes`, whatever
/// `tensor_sha256` throws, and std::bad_alloc.
PTIO_API std::string to_json(const IValue& v, const JsonOptions& options = {});

}  // namespace ptio
