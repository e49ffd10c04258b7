// Tensor: sizes, strides, storage_offset and dtype over a shared Storage (at::Tensor's data model).
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ptio/core/device.h"
#include "ptio/core/qualified_name.h"
#include "ptio/core/scalar_type.h"
#include "ptio/core/storage.h"
#include "ptio/export.h"

namespace ptio {

/// Mirrors `c10::Layout`.
enum class Layout : std::int8_t {
  kStrided,
  kSparseCoo,
  kSparseCsr,
  kSparseCsc,
  kSparseBsr,
  kSparseBsc
};
/// PyTorch's name, e.g. "torch.strided", "torch.sparse_coo".
PTIO_API std::string_view layout_name(Layout l) noexcept;

/// Mirrors `c10::QScheme` (values are c10's).
enum class QScheme : std::int8_t {
  kPerTensorAffine = 0,
  kPerChannelAffine = 1,
  kPerTensorSymmetric = 2,
  kPerChannelSymmetric = 3,
  kPerChannelAffineFloatQParams = 4,
};

class Tensor;
class IValue;

/// The bits of an IEEE binary16 value (`c10::Half` keeps them in its member `x`): the element
/// type of `Tensor::data<Half>()` for float16 tensors. ptio does no arithmetic on it.
struct Half {
  std::uint16_t x;
};
/// The bits of a bfloat16 value (`c10::BFloat16::x`): the element type of
/// `Tensor::data<BFloat16>()` for bfloat16 tensors.
struct BFloat16 {
  std::uint16_t x;
};

namespace detail {
/// The dtypes whose elements are C++ type `T` (c10's `CppTypeToScalarType`; a quantized dtype's
/// elements are its underlying integer: qint8 int8_t, quint8 uint8_t, qint32 int32_t). `known`
/// is false for a type no dtype holds; dtypes without a C++ element type here (complex32, the
/// float8 types, packed quint4x2/quint2x4 and the sub-byte types) are read with data_bytes().
template <typename T>
struct DtypesOf {
  static constexpr bool known = false;
};
#define PTIO_DTYPES_OF(T, A, B)                         \
  template <>                                           \
  struct DtypesOf<T> {                                  \
    static constexpr bool known = true;                 \
    static constexpr ScalarType first = ScalarType::A;  \
    static constexpr ScalarType second = ScalarType::B; \
  }
PTIO_DTYPES_OF(float, Float, Float);
PTIO_DTYPES_OF(double, Double, Double);
PTIO_DTYPES_OF(std::int8_t, Char, QInt8);
PTIO_DTYPES_OF(std::int16_t, Short, Short);
PTIO_DTYPES_OF(std::int32_t, Int, QInt32);
PTIO_DTYPES_OF(std::int64_t, Long, Long);
PTIO_DTYPES_OF(std::uint8_t, Byte, QUInt8);
PTIO_DTYPES_OF(std::uint16_t, UInt16, UInt16);
PTIO_DTYPES_OF(std::uint32_t, UInt32, UInt32);
PTIO_DTYPES_OF(std::uint64_t, UInt64, UInt64);
PTIO_DTYPES_OF(bool, Bool, Bool);
PTIO_DTYPES_OF(Half, Half, Half);
PTIO_DTYPES_OF(BFloat16, BFloat16, BFloat16);
PTIO_DTYPES_OF(std::complex<float>, ComplexFloat, ComplexFloat);
PTIO_DTYPES_OF(std::complex<double>, ComplexDouble, ComplexDouble);
#undef PTIO_DTYPES_OF
}  // namespace detail

/// A C++ type that is the element type of some dtype (see detail::DtypesOf): the types
/// `Tensor::data<T>()` takes.
template <typename T>
concept ElementType = detail::DtypesOf<T>::known;

/// Quantizer parameters of a quantized tensor (`_rebuild_qtensor`'s quantizer_params).
struct PTIO_API Quantizer {
  QScheme qscheme = QScheme::kPerTensorAffine;
  double scale = 1.0;                         ///< per-tensor
  std::int64_t zero_point = 0;                ///< per-tensor
  std::shared_ptr<const Tensor> scales;       ///< per-channel, float64 or float32
  std::shared_ptr<const Tensor> zero_points;  ///< per-channel, int64 or float
  std::int64_t axis = 0;                      ///< per-channel
};

/// A tensor as a file describes it: element bytes live in a Storage, addressed in elements by
/// `storage_offset + sum(index[i] * strides[i])`. A Tensor is a handle; copies share everything.
///
/// Sparse tensors (layout != kStrided) have no storage of their own; their components are in
/// `sparse_components()` (COO: indices, values; CSR/BSR: crow_indices, col_indices, values;
/// CSC/BSC: ccol_indices, row_indices, values). Meta tensors have no storage (`is_meta()`).
class PTIO_API Tensor {
 public:
  /// An undefined tensor.
  Tensor() = default;

  /// A strided tensor over `storage`. `sizes`, `strides` and `storage_offset` are in elements.
  /// Throws Error(kBadShape) for negative sizes/strides/offset, sizes and strides of different
  /// lengths, or any element reaching outside the storage; Error(kOverflow) when the arithmetic
  /// overflows; Error(kBadDtype) for dtypes that have no element size.
  static Tensor make(Storage storage, ScalarType dtype, std::vector<std::int64_t> sizes,
                     std::vector<std::int64_t> strides, std::int64_t storage_offset = 0);
  /// A contiguous tensor that owns a copy of `bytes` (numel * element_size bytes expected;
  /// Error(kBadShape) otherwise).
  static Tensor from_bytes(ScalarType dtype, std::vector<std::int64_t> sizes,
                           std::span<const std::byte> bytes);
  /// A contiguous tensor over borrowed user memory (no copy; the caller keeps it alive). `bytes`
  /// must be exactly numel * element_size bytes (Error(kBadShape) otherwise), as for from_bytes().
  static Tensor borrowed(ScalarType dtype, std::vector<std::int64_t> sizes,
                         std::span<const std::byte> bytes);
  /// A meta tensor: dtype and shape, no storage (`_rebuild_meta_tensor_no_storage`).
  static Tensor meta(ScalarType dtype, std::vector<std::int64_t> sizes,
                     std::vector<std::int64_t> strides);
  /// A sparse tensor of `layout` with its component tensors (order as documented above).
  static Tensor sparse(Layout layout, ScalarType dtype, std::vector<std::int64_t> sizes,
                       std::vector<Tensor> components);

  bool defined() const noexcept { return impl_ != nullptr; }
  ScalarType dtype() const;
  const std::vector<std::int64_t>& sizes() const;
  const std::vector<std::int64_t>& strides() const;
  std::int64_t storage_offset() const;
  std::int64_t dim() const { return static_cast<std::int64_t>(sizes().size()); }
  /// Number of elements (product of sizes; 1 for 0-d).
  std::int64_t numel() const;
  /// numel() * element_size(dtype()), in bytes; for the packed sub-byte dtypes quint4x2 and
  /// quint2x4 the packed size ceil(numel / 2 or 4). SIZE_MAX when that does not fit in 64 bits
  /// (an expanded view of 2^62 float32 elements), never a wrapped-around small number.
  std::size_t nbytes() const;
  std::size_t element_size() const { return ptio::element_size(dtype()); }
  /// True when strides are the row-major strides of sizes (size-1 dimensions ignored); false for
  /// a sparse tensor (it has no strides).
  bool is_contiguous() const;

  const Storage& storage() const;
  Layout layout() const;
  bool is_meta() const;
  bool is_sparse() const { return layout() != Layout::kStrided; }
  bool is_quantized() const { return scalar_type_info(dtype()).is_quantized; }
  const std::vector<Tensor>& sparse_components() const;

  /// The device: the storage's, or the one set on meta/sparse tensors.
  Device device() const;
  void set_device(Device d);
  bool requires_grad() const;
  void set_requires_grad(bool v);
  /// True when the file wrapped it in `torch.nn.Parameter` (`_rebuild_parameter`).
  bool is_parameter() const;
  void set_is_parameter(bool v);
  const std::optional<Quantizer>& quantizer() const;
  void set_quantizer(Quantizer q);

  /// The Python class of the tensor object, as torch.save records a subclass instance
  /// (`torch._tensor._rebuild_from_type_v2(func, new_type, args, state)`: `new_type`, e.g.
  /// `__main__.MyTensor`): what `type(t)` is after torch.load(weights_only=False). Empty (the
  /// default) for torch.Tensor and, when is_parameter(), torch.nn.Parameter; ptio::load never
  /// sets it to either of those (a file naming them sets nothing, or is_parameter()). Names are
  /// kept verbatim; ptio has no Python classes, so nothing about the class is checked or run.
  const QualifiedName& python_type() const;
  void set_python_type(QualifiedName type);
  /// The Python state of the tensor object: its attributes (`t.foo = 3`, `__dict__`) and slots,
  /// as torch.save records them (`_rebuild_from_type_v2`'s `state`,
  /// `_rebuild_parameter_with_state`'s `state`, PyTorch's `torch._utils._get_obj_state`): a Dict
  /// name -> value; a 2-Tuple (`__dict__` Dict or None, slots Dict) for a class with
  /// `__slots__`; whatever a class's own `__getstate__` returned. None (the default) when there
  /// is none; ptio::load also gives None for an empty `__dict__` (`{}`, or the None Python 3.11
  /// writes); its dicts are copies of the pickle's (as setattr copies attributes), their values
  /// shared. Shared like every IValue payload: every handle of this tensor sees the same value.
  /// A state that holds this tensor (possible in a crafted file) is a reference cycle: it is
  /// freed only by break_cycles() on a value holding the tensor, and ptio::save refuses it.
  /// ptio::save writes python_type and python_state back as torch.save does (see save.h).
  const IValue& python_state() const;
  void set_python_state(IValue state);

  /// Pointer to element 0 of the view (storage data + storage_offset * element_size).
  /// Throws Error(kBadStorage) for meta and sparse tensors. Valid while the storage lives, so it
  /// is not available on a temporary Tensor (`t.contiguous().data_ptr()` would point into a copy
  /// that dies at the end of the statement): keep the Tensor in a variable first.
  const std::byte* data_ptr() const&;
  const std::byte* data_ptr() const&& = delete;
  /// The elements in row-major order as one contiguous little-endian byte vector (a copy of
  /// nbytes() bytes: for an expanded view of a file's tensor that can be far more than the file
  /// holds; charge a ViewBudget (view_limits.h) first when the tensor comes from untrusted input).
  std::vector<std::byte> contiguous_bytes() const;
  /// An explicit contiguous copy with its own storage (requires_grad, is_parameter, quantizer,
  /// python_type and python_state carried over; the state is shared, not copied); `*this` when
  /// already contiguous and starting at offset 0 of a storage of exactly nbytes().
  Tensor contiguous() const;
  /// Typed view of a contiguous tensor (`at::Tensor::data_ptr<T>()` / `const_data_ptr<T>()`,
  /// which check T against the dtype the same way): `T` must be the dtype's element type
  /// (float32 float, float64 double, int8..int64 and uint8..uint64 the <cstdint> types, bool,
  /// float16 ptio::Half, bfloat16 ptio::BFloat16, complex64/complex128 std::complex<float/double>,
  /// qint8/quint8/qint32 their integer type); other types do not compile (ElementType).
  /// Throws Error(kBadDtype) when T is not the element type of dtype() (an int32 view of float32
  /// elements, even of the same size), Error(kBadShape) when not contiguous. Valid while the
  /// storage lives, so not available on a temporary (`t.contiguous().data<float>()` would be a
  /// span into a copy that dies at the end of the statement): keep the Tensor in a variable.
  template <ElementType T>
  std::span<const T> data() const& {
    check_typed_access(detail::DtypesOf<T>::first, detail::DtypesOf<T>::second);
    return {reinterpret_cast<const T*>(data_ptr()), static_cast<std::size_t>(numel())};
  }
  template <ElementType T>
  std::span<const T> data() const&& = delete;
  /// The raw bytes of a contiguous tensor, nbytes() of them (any dtype: the escape hatch for
  /// dtypes without a C++ element type, such as float8, and for byte-level work). Throws
  /// Error(kBadShape) when not contiguous, Error(kBadStorage) for meta and sparse tensors. Valid
  /// while the storage lives; not available on a temporary, as data<T>().
  std::span<const std::byte> data_bytes() const&;
  std::span<const std::byte> data_bytes() const&& = delete;

  /// Identity: both handles are the same tensor object.
  bool is_same(const Tensor& o) const noexcept { return impl_ == o.impl_; }
  const void* id() const noexcept { return impl_.get(); }
  /// Handles sharing this tensor (c10's `use_count()`; 0 for an undefined tensor). 1 means no
  /// other Tensor refers to it: a save that meets it once cannot meet it again.
  long use_count() const noexcept { return impl_.use_count(); }

 private:
  void check_typed_access(ScalarType a, ScalarType b) const;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// Row-major (contiguous) strides for `sizes`.
PTIO_API std::vector<std::int64_t> contiguous_strides(std::span<const std::int64_t> sizes);

}  // namespace ptio
