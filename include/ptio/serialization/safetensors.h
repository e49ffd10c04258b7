// save_safetensors: writes tensors in Hugging Face's safetensors format, as the safetensors
// library's `serialize_to_file` lays it out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ptio/core/tensor.h"
#include "ptio/core/view_limits.h"
#include "ptio/export.h"
#include "ptio/io/writer.h"

namespace ptio {

/// Named tensors in the order a caller lists them (e.g. StateDict::items()).
using NamedTensorList = std::vector<std::pair<std::string, Tensor>>;

/// Options of save_safetensors.
struct PTIO_API SafetensorsOptions {
  /// The header's `__metadata__` (string to string). The default is what Hugging Face's
  /// `convert.py` writes for PyTorch weights; an empty map omits `__metadata__`.
  std::map<std::string, std::string> metadata{{"format", "pt"}};
  /// Tied weights (tensors that are the same view of the same storage: same data pointer, dtype,
  /// sizes and strides) are written once, under the first name, and each other name is recorded
  /// in `__metadata__` as `"<dropped>": "<kept>"` (safetensors.torch.save_model's convention).
  /// false writes every name with its own copy of the bytes.
  bool store_tied_once = true;
  /// Bound on the bytes written from expanded views beyond their storages (Limits::view);
  /// checked for every tensor before anything is written.
  ViewLimits view_limits;
};

/// What save_safetensors did besides writing each tensor.
struct PTIO_API SafetensorsReport {
  /// Tied weights stored once: (dropped name, kept name), in input order.
  std::vector<std::pair<std::string, std::string>> tied;
  /// Tensors written from a contiguous copy: non-contiguous views, and views that share a
  /// storage with another written tensor (safetensors has no storage sharing or strides).
  std::vector<std::string> copied;
  /// Bytes written (header length field + header + data).
  std::uint64_t bytes = 0;
};

/// The safetensors dtype string for `t` ("F32", "BF16", "F8_E4M3", ...), or empty when safetensors
/// has none (complex, quantized, float8 fnuz/e8m0, packed sub-byte dtypes).
PTIO_API std::optional<std::string_view> safetensors_dtype_name(ScalarType t) noexcept;

/// Writes `tensors` as a safetensors file: an 8-byte little-endian header length N, N bytes of
/// compact JSON (`__metadata__` first, then per tensor `{"dtype", "shape", "data_offsets": [begin,
/// end]}` with offsets in bytes from the end of the header), padded with spaces to a multiple of
/// 8, then the data: tensors ordered by dtype (8-byte dtypes first, down to 1-byte ones, as the
/// safetensors writer sorts them so every tensor is aligned to its element size) and then by name,
/// each as its elements in row-major order, little-endian.
///
/// The file is written through a temporary that is renamed into place, so a failure leaves `path`
/// untouched. Throws Error(kBadDtype) naming every tensor whose dtype safetensors lacks (see
/// safetensors_dtype_name), Error(kBadStorage) naming meta and sparse tensors (no data to write),
/// Error(kIoInvalidArgument) for an empty or duplicated name or `__metadata__` as a name,
/// Error(kLimitExceeded) naming the tensor when expanded views exceed `options.view_limits`
/// (see ViewBudget), and the io::Writer's errors.
PTIO_API SafetensorsReport save_safetensors(const NamedTensorList& tensors,
                                            const std::filesystem::path& path,
                                            const SafetensorsOptions& options = {});
/// As above, to any io::Writer (borrowed; committed on success).
PTIO_API SafetensorsReport save_safetensors(const NamedTensorList& tensors, io::Writer& out,
                                            const SafetensorsOptions& options = {});

}  // namespace ptio
