// ScalarType (dtype): c10's numbering, PyTorch's names, element sizes and legacy storage class
// names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "ptio/export.h"

namespace ptio {

/// Mirrors `c10::ScalarType`; the numeric values are c10's (they appear in TorchScript code,
/// bytecode and the flatbuffer format), so they never change.
enum class ScalarType : std::int8_t {
  Byte = 0,  // uint8
  Char = 1,  // int8
  Short = 2,
  Int = 3,
  Long = 4,
  Half = 5,
  Float = 6,
  Double = 7,
  ComplexHalf = 8,
  ComplexFloat = 9,
  ComplexDouble = 10,
  Bool = 11,
  QInt8 = 12,
  QUInt8 = 13,
  QInt32 = 14,
  BFloat16 = 15,
  QUInt4x2 = 16,
  QUInt2x4 = 17,
  Bits1x8 = 18,
  Bits2x4 = 19,
  Bits4x2 = 20,
  Bits8 = 21,
  Bits16 = 22,
  Float8_e5m2 = 23,
  Float8_e4m3fn = 24,
  Float8_e5m2fnuz = 25,
  Float8_e4m3fnuz = 26,
  UInt16 = 27,
  UInt32 = 28,
  UInt64 = 29,
  UInt1 = 30,
  UInt2 = 31,
  UInt3 = 32,
  UInt4 = 33,
  UInt5 = 34,
  UInt6 = 35,
  UInt7 = 36,
  Int1 = 37,
  Int2 = 38,
  Int3 = 39,
  Int4 = 40,
  Int5 = 41,
  Int6 = 42,
  Int7 = 43,
  Float8_e8m0fnu = 44,
  Float4_e2m1fn_x2 = 45,
};

/// Static facts about one dtype (spec-torch-save.md section 10).
struct ScalarTypeInfo {
  ScalarType type;
  std::string_view name;  ///< PyTorch's name without `torch.`, e.g. "float32", "qint8"
  std::string_view
      storage_name;  ///< legacy typed-storage class (e.g. "FloatStorage"); empty for v3 dtypes
  std::uint8_t element_size;  ///< bytes per element (0 for sub-byte dtypes that have no tensors)
  std::uint8_t swap_size;     ///< byte-swap unit: the component size for complex, else element_size
  bool is_floating;
  bool is_complex;
  bool is_quantized;
  bool is_signed;
};

/// Facts for `t`. Every enumerator has an entry.
PTIO_API const ScalarTypeInfo& scalar_type_info(ScalarType t) noexcept;
/// All dtypes, in c10 order.
PTIO_API std::span<const ScalarTypeInfo> all_scalar_types() noexcept;
/// PyTorch's name, e.g. "float32" (what `str(torch.float32)` prints without `torch.`).
PTIO_API std::string_view scalar_type_name(ScalarType t) noexcept;
/// Bytes per element.
inline std::size_t element_size(ScalarType t) noexcept {
  return scalar_type_info(t).element_size;
}
/// Looks up a dtype by PyTorch's name or alias (`float32`, `float`, `torch.float32`, `half`,
/// `long`, `cfloat`, ...). Empty when unknown.
PTIO_API std::optional<ScalarType> scalar_type_from_name(std::string_view name) noexcept;
/// Looks up a dtype by legacy storage class name (`FloatStorage`, ...). Empty when unknown.
PTIO_API std::optional<ScalarType> scalar_type_from_storage_name(std::string_view name) noexcept;
/// The dtype with c10 number `v`, or empty when out of range.
PTIO_API std::optional<ScalarType> scalar_type_from_int(std::int64_t v) noexcept;

}  // namespace ptio
