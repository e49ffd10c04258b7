// Reading a tensor's elements as numbers for `tensors --stats`, `cat` and `diff`: every dtype
// decoded exactly into double (or int64/uint64 for integers), quantized dtypes dequantized.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
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

/// Bytes of row-major element reads: for_each_chunk's default piece (16 MiB).
inline constexpr std::size_t kElementChunkBytes = std::size_t{16} << 20;

/// Hands `fn(bytes, first)` the elements of `t` in row-major order (little-endian element bytes,
/// as `t.contiguous().numpy().tobytes()`), in pieces of at most `chunk_bytes` (whole elements,
/// at least one); `first` is the row-major index of the piece's first element. A contiguous
/// tensor (or a packed sub-byte dtype) is handed straight from its storage, with the pages of a
/// mapped storage released after each piece (Storage::release_pages); a strided view is gathered
/// into one buffer of chunk_bytes. So memory stays O(chunk_bytes) whatever the tensor's size,
/// expanded (stride-0) views included: charge those first (charge_view), as reading them costs
/// their full size in time. Nothing for meta/sparse tensors or numel 0.
void for_each_chunk(const Tensor& t, std::size_t chunk_bytes,
                    const std::function<void(std::span<const std::byte>, std::int64_t)>& fn);

/// The elements [first, first + count) of `t` (dense, element size > 0; not packed) in row-major
/// order: straight from the storage when `t` is contiguous (the pages of a mapped storage are
/// the caller's to release), else gathered into `buf` (resized to count elements). For reading
/// a second tensor in step with for_each_chunk over a first one of the same shape.
std::span<const std::byte> row_major_range(const Tensor& t, std::int64_t first, std::int64_t count,
                                           std::vector<std::byte>& buf);

/// Steps `idx`, the multi-index of an element of a tensor of `sizes`, to the next element in
/// row-major order and returns how many trailing dimensions wrapped to 0 (rows closed): 0 inside a
/// row, sizes.size() after the last element. 0 for a 0-d tensor. For printers that open and close
/// brackets as for_each_chunk hands them the elements.
std::size_t next_row_major_index(std::vector<std::int64_t>& idx,
                                 const std::vector<std::int64_t>& sizes);

/// A tensor's elements in row-major order over one contiguous little-endian buffer (the tensor's
/// own bytes when it is contiguous, else a copy), or over a window of them (a for_each_chunk
/// piece). Keeps the tensor alive.
class Elements {
 public:
  /// Throws ptio::Error(kBadDtype) for ElementKind::kNone dtypes, kBadStorage for meta/sparse.
  explicit Elements(const Tensor& t);
  /// The elements [first, first + window.size() / element size) of `t` in `window` (borrowed:
  /// it must outlive this object); indices of real()/as_int()... are relative to `first`.
  /// Errors as above.
  Elements(const Tensor& t, std::span<const std::byte> window, std::int64_t first);
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
  void check_readable(const Tensor& t) const;
  void init_quantizer(const Tensor& t);
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
  std::int64_t first_ = 0;  // row-major index of data_'s first element
};

/// Decodes one IEEE-like small float (half, bfloat16, the float8 formats, e8m0) to double.
double small_float_to_double(ScalarType t, std::uint32_t bits);

}  // namespace ptio::cli
