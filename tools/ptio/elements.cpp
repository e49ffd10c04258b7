// Reading a tensor's elements as numbers (see elements.h).
#include "elements.h"

#include "ptio/core/row_major.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ptio/error.h"

namespace ptio::cli {

ElementKind element_kind(ScalarType t) {
  using S = ScalarType;
  switch (t) {
    case S::Bool:
      return ElementKind::kBool;
    case S::Char:
    case S::Short:
    case S::Int:
    case S::Long:
      return ElementKind::kSigned;
    case S::Byte:
    case S::UInt16:
    case S::UInt32:
    case S::UInt64:
      return ElementKind::kUnsigned;
    case S::Half:
    case S::BFloat16:
    case S::Float:
    case S::Double:
    case S::Float8_e5m2:
    case S::Float8_e4m3fn:
    case S::Float8_e5m2fnuz:
    case S::Float8_e4m3fnuz:
    case S::Float8_e8m0fnu:
      return ElementKind::kFloat;
    case S::ComplexHalf:
    case S::ComplexFloat:
    case S::ComplexDouble:
      return ElementKind::kComplex;
    case S::QInt8:
    case S::QUInt8:
    case S::QInt32:
      return ElementKind::kQuantized;
    default:
      return ElementKind::kNone;
  }
}

double small_float_to_double(ScalarType t, std::uint32_t bits) {
  using S = ScalarType;
  int ebits = 0, mbits = 0, bias = 0;
  bool ieee = true;   // all-ones exponent: inf / nan
  bool fnuz = false;  // 0x80 is the only NaN; no inf, no -0
  switch (t) {
    case S::Half:
      ebits = 5, mbits = 10, bias = 15;
      break;
    case S::BFloat16: {
      const std::uint32_t u = bits << 16;
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    case S::Float8_e5m2:
      ebits = 5, mbits = 2, bias = 15;
      break;
    case S::Float8_e4m3fn:
      ebits = 4, mbits = 3, bias = 7, ieee = false;
      if ((bits & 0x7f) == 0x7f) return std::numeric_limits<double>::quiet_NaN();
      break;
    case S::Float8_e5m2fnuz:
      ebits = 5, mbits = 2, bias = 16, ieee = false, fnuz = true;
      break;
    case S::Float8_e4m3fnuz:
      ebits = 4, mbits = 3, bias = 8, ieee = false, fnuz = true;
      break;
    case S::Float8_e8m0fnu:
      if (bits == 0xff) return std::numeric_limits<double>::quiet_NaN();
      return std::ldexp(1.0, static_cast<int>(bits) - 127);
    default:
      return 0;
  }
  const int total = 1 + ebits + mbits;
  if (fnuz && bits == (1u << (total - 1))) return std::numeric_limits<double>::quiet_NaN();
  const bool neg = (bits >> (total - 1)) & 1u;
  const std::uint32_t e = (bits >> mbits) & ((1u << ebits) - 1);
  const std::uint32_t m = bits & ((1u << mbits) - 1);
  double v;
  if (ieee && e == (1u << ebits) - 1) {
    v = m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else if (e == 0) {
    v = std::ldexp(static_cast<double>(m), 1 - bias - mbits);
  } else {
    v = std::ldexp(static_cast<double>(m | (1u << mbits)), static_cast<int>(e) - bias - mbits);
  }
  return neg ? -v : v;
}

namespace {

template <typename T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::vector<double> table(const Tensor& t) {
  Elements e(t);
  std::vector<double> out(static_cast<std::size_t>(e.numel()));
  for (std::int64_t i = 0; i < e.numel(); ++i)
    out[static_cast<std::size_t>(i)] =
        e.kind() == ElementKind::kSigned ? static_cast<double>(e.as_int(i)) : e.real(i);
  return out;
}

}  // namespace

// Packed dtypes, meta and sparse tensors have no elements to read one by one.
void Elements::check_readable(const Tensor& t) const {
  if (kind_ == ElementKind::kNone)
    throw Error(ErrorCode::kBadDtype, "dtype " + std::string(scalar_type_name(dtype_)) +
                                          " is packed; its elements cannot be read one by one");
  PTIO_CHECK(!t.is_meta() && !t.is_sparse(), ErrorCode::kBadStorage, "a ",
             t.is_meta() ? "meta" : "sparse", " tensor has no element data to read");
}

Elements::Elements(const Tensor& t)
    : tensor_(t), dtype_(t.dtype()), kind_(element_kind(t.dtype())) {
  check_readable(t);
  numel_ = t.numel();
  esize_ = t.element_size();
  if (numel_ == 0) return;
  if (t.is_contiguous()) {
    data_ = t.data_ptr();
  } else {
    copy_ = t.contiguous_bytes();
    data_ = copy_.data();
  }
  init_quantizer(t);
}

Elements::Elements(const Tensor& t, std::span<const std::byte> window, std::int64_t first)
    : tensor_(t), dtype_(t.dtype()), kind_(element_kind(t.dtype())) {
  check_readable(t);
  esize_ = t.element_size();
  numel_ = static_cast<std::int64_t>(window.size() / esize_);
  first_ = first;
  data_ = window.data();
  if (numel_ == 0) return;
  init_quantizer(t);
}

void Elements::init_quantizer(const Tensor& t) {
  if (kind_ == ElementKind::kQuantized && t.quantizer()) {
    const Quantizer& q = *t.quantizer();
    if (q.qscheme == QScheme::kPerTensorAffine || q.qscheme == QScheme::kPerTensorSymmetric) {
      scale_ = q.scale;
      zero_point_ = static_cast<double>(q.zero_point);
    } else {
      PTIO_CHECK(q.scales && q.zero_points && q.axis >= 0 && q.axis < t.dim(),
                 ErrorCode::kBadStorage, "per-channel quantizer without scales or axis");
      scales_ = table(*q.scales);
      zero_points_ = table(*q.zero_points);
      axis_size_ = t.sizes()[static_cast<std::size_t>(q.axis)];
      axis_stride_ = 1;
      for (std::size_t d = static_cast<std::size_t>(q.axis) + 1; d < t.sizes().size(); ++d)
        axis_stride_ *= t.sizes()[d];
      PTIO_CHECK(static_cast<std::int64_t>(scales_.size()) == axis_size_ &&
                     static_cast<std::int64_t>(zero_points_.size()) == axis_size_,
                 ErrorCode::kBadStorage, "per-channel quantizer has ", scales_.size(),
                 " scales for ", axis_size_, " channels");
    }
  }
}

std::size_t next_row_major_index(std::vector<std::int64_t>& idx,
                                 const std::vector<std::int64_t>& sizes) {
  std::size_t closed = 0;
  for (std::size_t d = sizes.size(); d-- > 0;) {
    if (++idx[d] != sizes[d]) break;
    idx[d] = 0;
    ++closed;
  }
  return closed;
}

std::span<const std::byte> row_major_range(const Tensor& t, std::int64_t first, std::int64_t count,
                                           std::vector<std::byte>& buf) {
  const auto es = static_cast<std::int64_t>(t.element_size());
  if (count <= 0) return {};
  if (t.is_contiguous()) return {t.data_ptr() + first * es, static_cast<std::size_t>(count * es)};
  buf.resize(static_cast<std::size_t>(count * es));
  copy_row_major(t, first, count, buf.data());
  return buf;
}

void for_each_chunk(const Tensor& t, std::size_t chunk_bytes,
                    const std::function<void(std::span<const std::byte>, std::int64_t)>& fn) {
  for_each_row_major_piece(t, chunk_bytes, fn);
}

std::int64_t Elements::as_int(std::int64_t i) const {
  const std::byte* p = data_ + static_cast<std::size_t>(i) * esize_;
  switch (dtype_) {
    case ScalarType::Bool:
      return load<std::uint8_t>(p) != 0;
    case ScalarType::Char:
    case ScalarType::QInt8:
      return load<std::int8_t>(p);
    case ScalarType::QUInt8:
    case ScalarType::Byte:
      return load<std::uint8_t>(p);
    case ScalarType::Short:
      return load<std::int16_t>(p);
    case ScalarType::Int:
    case ScalarType::QInt32:
      return load<std::int32_t>(p);
    case ScalarType::Long:
      return load<std::int64_t>(p);
    default:
      return static_cast<std::int64_t>(as_uint(i));
  }
}

std::uint64_t Elements::as_uint(std::int64_t i) const {
  const std::byte* p = data_ + static_cast<std::size_t>(i) * esize_;
  switch (dtype_) {
    case ScalarType::Byte:
      return load<std::uint8_t>(p);
    case ScalarType::UInt16:
      return load<std::uint16_t>(p);
    case ScalarType::UInt32:
      return load<std::uint32_t>(p);
    case ScalarType::UInt64:
      return load<std::uint64_t>(p);
    default:
      return static_cast<std::uint64_t>(as_int(i));
  }
}

double Elements::real(std::int64_t i) const {
  const std::byte* p = data_ + static_cast<std::size_t>(i) * esize_;
  switch (kind_) {
    case ElementKind::kBool:
    case ElementKind::kSigned:
      return static_cast<double>(as_int(i));
    case ElementKind::kUnsigned:
      return static_cast<double>(as_uint(i));
    case ElementKind::kQuantized: {
      // PyTorch's dequantize: float(scale) * (q - zero_point), in float32.
      const auto q = static_cast<double>(as_int(i));
      if (scales_.empty())
        return static_cast<float>(static_cast<float>(scale_) * static_cast<float>(q - zero_point_));
      const auto c = static_cast<std::size_t>(((first_ + i) / axis_stride_) % axis_size_);
      // per-channel: (q - zero_point) * scale in the scales' precision, then float32
      return static_cast<float>((q - zero_points_[c]) * scales_[c]);
    }
    case ElementKind::kComplex:
    case ElementKind::kFloat:
      switch (dtype_) {
        case ScalarType::Float:
        case ScalarType::ComplexFloat:
          return load<float>(p);
        case ScalarType::Double:
        case ScalarType::ComplexDouble:
          return load<double>(p);
        case ScalarType::Half:
        case ScalarType::ComplexHalf:
          return small_float_to_double(ScalarType::Half, load<std::uint16_t>(p));
        case ScalarType::BFloat16:
          return small_float_to_double(dtype_, load<std::uint16_t>(p));
        default:
          return small_float_to_double(dtype_, load<std::uint8_t>(p));
      }
    case ElementKind::kNone:
      break;
  }
  return 0;
}

double Elements::imag(std::int64_t i) const {
  if (kind_ != ElementKind::kComplex) return 0;
  const std::byte* p = data_ + static_cast<std::size_t>(i) * esize_ + esize_ / 2;
  switch (dtype_) {
    case ScalarType::ComplexFloat:
      return load<float>(p);
    case ScalarType::ComplexDouble:
      return load<double>(p);
    default:
      return small_float_to_double(ScalarType::Half, load<std::uint16_t>(p));
  }
}

}  // namespace ptio::cli
