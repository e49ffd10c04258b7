// The dtype table (spec-torch-save.md section 10) and lookups by name, storage class and number.
#include "ptio/core/scalar_type.h"

#include <array>

namespace ptio {

namespace {
using S = ScalarType;
// type, name, storage name, element size, swap size, floating, complex, quantized, signed
constexpr std::array<ScalarTypeInfo, 46> kTable = {{
    {S::Byte, "uint8", "ByteStorage", 1, 1, false, false, false, false},
    {S::Char, "int8", "CharStorage", 1, 1, false, false, false, true},
    {S::Short, "int16", "ShortStorage", 2, 2, false, false, false, true},
    {S::Int, "int32", "IntStorage", 4, 4, false, false, false, true},
    {S::Long, "int64", "LongStorage", 8, 8, false, false, false, true},
    {S::Half, "float16", "HalfStorage", 2, 2, true, false, false, true},
    {S::Float, "float32", "FloatStorage", 4, 4, true, false, false, true},
    {S::Double, "float64", "DoubleStorage", 8, 8, true, false, false, true},
    {S::ComplexHalf, "complex32", "", 4, 2, false, true, false, true},
    {S::ComplexFloat, "complex64", "ComplexFloatStorage", 8, 4, false, true, false, true},
    {S::ComplexDouble, "complex128", "ComplexDoubleStorage", 16, 8, false, true, false, true},
    {S::Bool, "bool", "BoolStorage", 1, 1, false, false, false, false},
    {S::QInt8, "qint8", "QInt8Storage", 1, 1, false, false, true, true},
    {S::QUInt8, "quint8", "QUInt8Storage", 1, 1, false, false, true, false},
    {S::QInt32, "qint32", "QInt32Storage", 4, 4, false, false, true, true},
    {S::BFloat16, "bfloat16", "BFloat16Storage", 2, 2, true, false, false, true},
    {S::QUInt4x2, "quint4x2", "QUInt4x2Storage", 1, 1, false, false, true, false},
    {S::QUInt2x4, "quint2x4", "QUInt2x4Storage", 1, 1, false, false, true, false},
    {S::Bits1x8, "bits1x8", "", 1, 1, false, false, false, false},
    {S::Bits2x4, "bits2x4", "", 1, 1, false, false, false, false},
    {S::Bits4x2, "bits4x2", "", 1, 1, false, false, false, false},
    {S::Bits8, "bits8", "", 1, 1, false, false, false, false},
    {S::Bits16, "bits16", "", 2, 2, false, false, false, false},
    {S::Float8_e5m2, "float8_e5m2", "", 1, 1, true, false, false, true},
    {S::Float8_e4m3fn, "float8_e4m3fn", "", 1, 1, true, false, false, true},
    {S::Float8_e5m2fnuz, "float8_e5m2fnuz", "", 1, 1, true, false, false, true},
    {S::Float8_e4m3fnuz, "float8_e4m3fnuz", "", 1, 1, true, false, false, true},
    {S::UInt16, "uint16", "", 2, 2, false, false, false, false},
    {S::UInt32, "uint32", "", 4, 4, false, false, false, false},
    {S::UInt64, "uint64", "", 8, 8, false, false, false, false},
    {S::UInt1, "uint1", "", 0, 0, false, false, false, false},
    {S::UInt2, "uint2", "", 0, 0, false, false, false, false},
    {S::UInt3, "uint3", "", 0, 0, false, false, false, false},
    {S::UInt4, "uint4", "", 0, 0, false, false, false, false},
    {S::UInt5, "uint5", "", 0, 0, false, false, false, false},
    {S::UInt6, "uint6", "", 0, 0, false, false, false, false},
    {S::UInt7, "uint7", "", 0, 0, false, false, false, false},
    {S::Int1, "int1", "", 0, 0, false, false, false, true},
    {S::Int2, "int2", "", 0, 0, false, false, false, true},
    {S::Int3, "int3", "", 0, 0, false, false, false, true},
    {S::Int4, "int4", "", 0, 0, false, false, false, true},
    {S::Int5, "int5", "", 0, 0, false, false, false, true},
    {S::Int6, "int6", "", 0, 0, false, false, false, true},
    {S::Int7, "int7", "", 0, 0, false, false, false, true},
    {S::Float8_e8m0fnu, "float8_e8m0fnu", "", 1, 1, true, false, false, false},
    {S::Float4_e2m1fn_x2, "float4_e2m1fn_x2", "", 1, 1, true, false, false, true},
}};

struct Alias {
  std::string_view alias;
  ScalarType type;
};
constexpr Alias kAliases[] = {
    {"float", S::Float},
    {"double", S::Double},
    {"half", S::Half},
    {"long", S::Long},
    {"int", S::Int},
    {"short", S::Short},
    {"cfloat", S::ComplexFloat},
    {"cdouble", S::ComplexDouble},
    {"chalf", S::ComplexHalf},
};
}  // namespace

const ScalarTypeInfo& scalar_type_info(ScalarType t) noexcept {
  return kTable[static_cast<std::size_t>(static_cast<std::uint8_t>(t)) % kTable.size()];
}

std::span<const ScalarTypeInfo> all_scalar_types() noexcept {
  return kTable;
}

std::string_view scalar_type_name(ScalarType t) noexcept {
  return scalar_type_info(t).name;
}

std::optional<ScalarType> scalar_type_from_name(std::string_view name) noexcept {
  if (name.starts_with("torch.")) name.remove_prefix(6);
  for (const auto& i : kTable)
    if (i.name == name) return i.type;
  for (const auto& a : kAliases)
    if (a.alias == name) return a.type;
  return std::nullopt;
}

std::optional<ScalarType> scalar_type_from_storage_name(std::string_view name) noexcept {
  if (name.empty()) return std::nullopt;
  for (const auto& i : kTable)
    if (i.storage_name == name) return i.type;
  return std::nullopt;
}

std::optional<ScalarType> scalar_type_from_int(std::int64_t v) noexcept {
  if (v < 0 || v >= static_cast<std::int64_t>(kTable.size())) return std::nullopt;
  return static_cast<ScalarType>(v);
}

}  // namespace ptio
