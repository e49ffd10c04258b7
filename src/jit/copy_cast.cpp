// copy_cast: Tensor.copy_'s element conversion between dtypes (see copy_cast.h).
#include "jit/copy_cast.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ptio::jit::detail {

namespace {

enum class Kind { kBool, kInt, kFloat, kComplex, kNone };

Kind kind_of(ScalarType t) {
  switch (t) {
    case ScalarType::Bool:
      return Kind::kBool;
    case ScalarType::Byte:
    case ScalarType::Char:
    case ScalarType::Short:
    case ScalarType::Int:
    case ScalarType::Long:
      return Kind::kInt;
    case ScalarType::Half:
    case ScalarType::BFloat16:
    case ScalarType::Float:
    case ScalarType::Double:
      return Kind::kFloat;
    case ScalarType::ComplexFloat:
    case ScalarType::ComplexDouble:
      return Kind::kComplex;
    default:
      return Kind::kNone;
  }
}

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
void store(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  std::uint32_t exp = (h >> 10) & 0x1f;
  std::uint32_t man = h & 0x3ff;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400) == 0);
      bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  return std::bit_cast<float>(bits);
}

// c10::detail::fp16_ieee_from_fp32_value (round to nearest even, NaN -> 0x7e00 with the sign).
std::uint16_t float_to_half(float f) {
  const float scale_to_inf = std::bit_cast<float>(UINT32_C(0x77800000));
  const float scale_to_zero = std::bit_cast<float>(UINT32_C(0x08800000));
  float base = (std::fabs(f) * scale_to_inf) * scale_to_zero;
  const std::uint32_t w = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t shl1_w = w + w;
  const std::uint32_t sign = w & UINT32_C(0x80000000);
  std::uint32_t bias = shl1_w & UINT32_C(0xFF000000);
  if (bias < UINT32_C(0x71000000)) bias = UINT32_C(0x71000000);
  base = std::bit_cast<float>((bias >> 1) + UINT32_C(0x07800000)) + base;
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(base);
  const std::uint32_t exp_bits = (bits >> 13) & UINT32_C(0x00007C00);
  const std::uint32_t mantissa_bits = bits & UINT32_C(0x00000FFF);
  const std::uint32_t nonsign = exp_bits + mantissa_bits;
  return static_cast<std::uint16_t>((sign >> 16) |
                                    (shl1_w > UINT32_C(0xFF000000) ? UINT32_C(0x7E00) : nonsign));
}

// c10::detail::round_to_nearest_even (NaN -> 0x7fc0).
std::uint16_t float_to_bfloat16(float f) {
  if (std::isnan(f)) return 0x7fc0;
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t bias = ((u >> 16) & 1) + UINT32_C(0x7FFF);
  return static_cast<std::uint16_t>((u + bias) >> 16);
}

// One source element: an integer (ints, bool) or a floating value (floats, a complex's parts).
struct Value {
  bool is_int = false;
  std::int64_t i = 0;
  double re = 0, im = 0;
};

Value read(const std::byte* p, ScalarType t) {
  Value v;
  switch (t) {
    case ScalarType::Bool:
      v.is_int = true;
      v.i = load<std::uint8_t>(p) != 0;
      break;
    case ScalarType::Byte:
      v.is_int = true;
      v.i = load<std::uint8_t>(p);
      break;
    case ScalarType::Char:
      v.is_int = true;
      v.i = load<std::int8_t>(p);
      break;
    case ScalarType::Short:
      v.is_int = true;
      v.i = load<std::int16_t>(p);
      break;
    case ScalarType::Int:
      v.is_int = true;
      v.i = load<std::int32_t>(p);
      break;
    case ScalarType::Long:
      v.is_int = true;
      v.i = load<std::int64_t>(p);
      break;
    case ScalarType::Half:
      v.re = half_to_float(load<std::uint16_t>(p));
      break;
    case ScalarType::BFloat16:
      v.re = std::bit_cast<float>(static_cast<std::uint32_t>(load<std::uint16_t>(p)) << 16);
      break;
    case ScalarType::Float:
      v.re = load<float>(p);
      break;
    case ScalarType::Double:
      v.re = load<double>(p);
      break;
    case ScalarType::ComplexFloat:
      v.re = load<float>(p);
      v.im = load<float>(p + 4);
      break;
    case ScalarType::ComplexDouble:
      v.re = load<double>(p);
      v.im = load<double>(p + 8);
      break;
    default:
      break;
  }
  return v;
}

// x86-64's cvttsd2si: truncation, INT_MIN of the width for NaN and values out of range.
std::int64_t trunc_to_int64(double x) {
  if (std::isnan(x) || x >= 9223372036854775808.0 || x < -9223372036854775808.0)
    return INT64_MIN;
  return static_cast<std::int64_t>(x);
}
std::int32_t trunc_to_int32(double x) {
  if (std::isnan(x) || x >= 2147483648.0 || x <= -2147483649.0) return INT32_MIN;
  return static_cast<std::int32_t>(x);
}

// The value as float32, as static_cast<float> gives it (ints and doubles correctly rounded).
float as_float(const Value& v) {
  return v.is_int ? static_cast<float>(v.i) : static_cast<float>(v.re);
}

void write(std::byte* p, ScalarType t, const Value& v) {
  // Integer destinations: the low bits of the integer (ints) or of the truncated value (floats).
  auto integer = [&](bool narrow) -> std::int64_t {
    if (v.is_int) return v.i;
    return narrow ? trunc_to_int32(v.re) : trunc_to_int64(v.re);
  };
  switch (t) {
    case ScalarType::Bool:
      store<std::uint8_t>(p, v.is_int ? v.i != 0 : v.re != 0 || std::isnan(v.re));
      break;
    case ScalarType::Byte:
      store(p, static_cast<std::uint8_t>(static_cast<std::uint64_t>(integer(true))));
      break;
    case ScalarType::Char:
      store(p, static_cast<std::int8_t>(integer(true)));
      break;
    case ScalarType::Short:
      store(p, static_cast<std::int16_t>(integer(true)));
      break;
    case ScalarType::Int:
      store(p, static_cast<std::int32_t>(integer(true)));
      break;
    case ScalarType::Long:
      store(p, integer(false));
      break;
    case ScalarType::Half:
      store(p, float_to_half(as_float(v)));
      break;
    case ScalarType::BFloat16:
      store(p, float_to_bfloat16(as_float(v)));
      break;
    case ScalarType::Float:
      store(p, as_float(v));
      break;
    case ScalarType::Double:
      store(p, v.is_int ? static_cast<double>(v.i) : v.re);
      break;
    case ScalarType::ComplexFloat:
      store(p, as_float(v));
      store(p + 4, v.is_int ? 0.0f : static_cast<float>(v.im));
      break;
    case ScalarType::ComplexDouble:
      store(p, v.is_int ? static_cast<double>(v.i) : v.re);
      store(p + 8, v.is_int ? 0.0 : v.im);
      break;
    default:
      break;
  }
}

}  // namespace

bool copy_castable(ScalarType from, ScalarType to) noexcept {
  return from == to || (kind_of(from) != Kind::kNone && kind_of(to) != Kind::kNone);
}

std::vector<std::byte> copy_cast(const std::vector<std::byte>& src, ScalarType from,
                                 ScalarType to) {
  if (from == to) return src;
  const std::size_t in = element_size(from), out = element_size(to);
  const std::size_t n = src.size() / in;
  std::vector<std::byte> dst(n * out);
  for (std::size_t k = 0; k < n; ++k) {
    Value v = read(src.data() + k * in, from);
    v.im = kind_of(to) == Kind::kComplex ? v.im : 0;  // complex -> real: the real part
    write(dst.data() + k * out, to, v);
  }
  return dst;
}

}  // namespace ptio::jit::detail
