// save_npz: writes tensors as numpy's `.npz` (numpy.savez / savez_compressed), one `.npy` record
// per tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ptio/core/tensor.h"
#include "ptio/export.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/safetensors.h"  // NamedTensorList

namespace ptio {

/// Options of save_npz.
struct PTIO_API NpzOptions {
  /// false: stored records (numpy.savez); true: deflated records (numpy.savez_compressed).
  bool compress = false;
  /// Bound on the bytes written from expanded views beyond their storages (Limits::view);
  /// checked for every tensor before anything is written.
  ViewLimits view_limits;
};

/// numpy's dtype string for `t` ("<f4", "|b1", "<c16", ...), or empty when numpy has no such dtype
/// (bfloat16, float8, complex32, quantized and packed dtypes).
PTIO_API std::optional<std::string> npy_descr(ScalarType t);

/// The `.npy` (format 1.0, or 2.0 when the header needs more than 65535 bytes) header numpy's
/// `format.write_array` writes for a C-order array of `dtype` and `sizes`: magic, version, header
/// length, the dict `{'descr': ..., 'fortran_order': False, 'shape': (...), }` plus numpy's growth
/// padding, padded with spaces and a newline so the data starts at a multiple of 64 bytes.
/// Throws Error(kBadDtype) when numpy has no dtype for `dtype`.
PTIO_API std::vector<std::byte> npy_header(ScalarType dtype, std::span<const std::int64_t> sizes);

/// Writes `tensors` as an `.npz` archive: for each tensor a record `<name>.npy` at the top level of
/// a zip (no archive folder), holding npy_header() then the elements in row-major order,
/// little-endian; `numpy.load(path)[name]` gives the array (no tensors: the 22-byte empty zip
/// numpy.savez() writes). Written through a temporary renamed into place. Throws Error(kBadDtype) naming every tensor numpy cannot hold (see npy_descr),
/// Error(kBadStorage) naming meta and sparse tensors, Error(kIoInvalidArgument) for an empty or
/// duplicated name, the zip writer's name errors (kZipUnsafeName for `..` components...),
/// Error(kLimitExceeded) naming the tensor when expanded views exceed `options.view_limits` (see
/// ViewBudget), and the io::Writer's errors.
PTIO_API void save_npz(const NamedTensorList& tensors, const std::filesystem::path& path,
                       const NpzOptions& options = {});
/// As above, to any io::Writer (borrowed; committed on success).
PTIO_API void save_npz(const NamedTensorList& tensors, io::Writer& out,
                       const NpzOptions& options = {});

}  // namespace ptio
