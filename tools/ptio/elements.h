// Reading a tensor's elements as numbers for `tensors --stats`, `cat` and `diff`: every dtype
// decoded exactly into double (or int64/uint64 for integers), quantized dtypes dequantized.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ptio/core/tensor.h"

namespace ptio::cli {

/// How a dtype's elements are read.
enum class ElementKind {
  kBool,       ///< 0 / 1
  kSigned,     ///< int8..int64: int64_t exact
  kUnsigned,   ///< uint8..uint64: uint64_t exact
  kFloat,      ///< float16, bfloat16, float8 (all four), float32, float64, e8m0: exact in double
  kComplex,    ///< complex32/64/128: real and imaginary parts in double
  kQuantized,  ///< qint8, quint8, qint32: dequantized ((q - zero_point) * scale) in double
  kNone,       ///< packed sub-byte and bit dtypes: not readable element by element
};

ElementKind element_kind(ScalarType t);

/// A tensor's elements in row-major order over one contiguous little-endian buffer (the tensor's
/// own bytes when it is contiguous, else a copy). Keeps the tensor alive.
class Elements {
 public:
  /// Throws ptio::Error(kBadDtype) for ElementKind::kNone dtypes, kBadStorage for meta/sparse.
  explicit Elements(const Tensor& t);
  std::int64_t numel() const { return numel_; }
  ElementKind kind() const { return kind_; }
  ScalarType dtype() const { return dtype_; }
  /// Element i as double (complex: the real part; quantized: dequantized).
  double real(std::int64_t i) const;
  /// Imaginary part of element i (0 for non-complex).
  double imag(std::int64_t i) const;
  /// Element i of a kBool/kSigned dtype (or quantized: the integer representation).
  std::int64_t as_int(std::int64_t i) const;
  /// Element i of a kUnsigned dtype.
  std::uint64_t as_uint(std::int64_t i) const;
  /// The raw row-major bytes.
  const std::byte* data() const { return data_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel_) * esize_; }

 private:
  Tensor tensor_;
  std::vector<std::byte> copy_;
  const std::byte* data_ = nullptr;
  std::int64_t numel_ = 0;
  std::size_t esize_ = 0;
  ScalarType dtype_;
  ElementKind kind_;
  // Quantizer: per-tensor scale/zero_point, or per-channel tables over `axis`.
  double scale_ = 1.0;
  double zero_point_ = 0.0;
  std::vector<double> scales_, zero_points_;
  std::int64_t axis_stride_ = 0, axis_size_ = 1;
};

/// Decodes one IEEE-like small float (half, bfloat16, the float8 formats, e8m0) to double.
double small_float_to_double(ScalarType t, std::uint32_t bits);

}  // namespace ptio::cli
