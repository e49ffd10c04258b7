// ptio::save: torch.save's zip format (and the pre-1.6 legacy format), byte-compatible with
// PyTorch.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/export.h"
#include "ptio/io/writer.h"

namespace ptio {

/// Which records a zip written by ptio::save holds (both are read by PyTorch 1.6 ... 2.x; verified
/// with 1.13, which ignores records it does not know).
enum class RecordLayout {
  /// PyTorch >= 2.7: `data.pkl`, `.format_version` ("1"), `.storage_alignment` ("64"),
  /// `byteorder` ("little"), `data/<key>` in numeric key order, `version` ("3\n"),
  /// `.data/serialization_id` (40 digits; ptio's is a deterministic hash). With these records
  /// PyTorch >= 2.7 can compute storage offsets without the central directory.
  kTorch2,
  /// PyTorch 1.6 ... 2.0 (observed with 1.13): `data.pkl`, `data/<key>` sorted as strings,
  /// `version`. Byte-identical to torch.save 1.13 for the same object.
  kTorch1_13,
};

/// Options of ptio::save, named after torch.save's arguments.
struct PTIO_API SaveOptions {
  /// `_use_new_zipfile_serialization=False`: the pre-1.6 legacy stream (spec section 6).
  bool legacy_format = false;
  /// The zip records to write (ignored for legacy_format).
  RecordLayout layout = RecordLayout::kTorch2;
  /// The archive folder for stream targets (`archive`, as torch.save for file objects); for
  /// paths it is the file name without its last extension (`model.pt` -> `model`).
  std::string archive_name = "archive";
};

/// Writes `obj` to `path` as torch.save(obj, path) does: data.pkl is pickled with protocol 2
/// exactly as CPython's pickler does for torch.save (memo, BINPUT/BINGET, tensors as
/// `torch._utils._rebuild_tensor_v2(('storage', torch.FloatStorage, '0', 'cpu', numel), ...)`,
/// Parameters via `_rebuild_parameter`, quantized tensors via `_rebuild_qtensor`, sparse via
/// `_rebuild_sparse_tensor`, meta via `_rebuild_meta_tensor_no_storage`, new dtypes (uint16,
/// float8...) via `_rebuild_tensor_v3` with an UntypedStorage id, OrderedDicts with `_metadata`).
/// A tensor with a Tensor::python_type or python_state is wrapped as torch.save (>= 2.0) wraps a
/// subclass instance or a tensor with attributes: `torch._tensor._rebuild_from_type_v2(func,
/// new_type, args, state)` around the call above, new_type its python_type (else torch.Tensor,
/// or torch.nn.parameter.Parameter for a parameter), state its python_state (`{}` for none:
/// Python 3.11's None crashes 1.13's loader). A parameter with attributes is written so too, not
/// as torch >= 2.0's `_rebuild_parameter_with_state`, which 1.11-1.13 cannot load; both load
/// the same in torch >= 2.0. (torch.load 1.13 drops the attributes of a plain torch.Tensor.)
/// Storage keys are "0", "1", ... in first-encounter order; each storage is written once and
/// whole (views keep their offsets), so files load back with the same sharing.
/// Everything about the object is checked before the first byte is written; the file is written
/// to a temporary name and renamed (a failed save leaves no partial file).
///
/// Errors: Error(kBadStorage) when two tensors view one storage as different dtypes (PyTorch:
/// "Cannot save multiple tensors or storages that view the same data as different types"),
/// Error(kPickleUnsupported) for values torch.save cannot write (an Opaque with no module),
/// Error(kBadDtype) for a tensor with requires_grad that is neither floating point nor complex
/// (torch.load refuses it), Error(kPickleTypeError) for a python_state that holds its own tensor,
/// Error(kZipBadName) for a path whose archive name is empty, and io errors.
PTIO_API void save(const IValue& obj, const std::filesystem::path& path,
                   const SaveOptions& options = {});
/// Writes to `out` and commits it. Archive folder: `options.archive_name`.
PTIO_API void save(const IValue& obj, io::Writer& out, const SaveOptions& options = {});
/// Writes to a std::ostream (flushed, not closed). Archive folder: `options.archive_name`.
PTIO_API void save(const IValue& obj, std::ostream& out, const SaveOptions& options = {});

}  // namespace ptio
