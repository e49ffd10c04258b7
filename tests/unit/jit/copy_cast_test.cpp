// jit::detail::copy_cast: Tensor.copy_'s dtype conversion. Expected values are what PyTorch
// 1.13.1 (Debian, x86-64) printed for `torch.zeros(n, dtype=to).copy_(torch.tensor(values))`;
// tests/interop/test_cli_consistency.py checks the same through `ptio apply` against live PyTorch.
#include "jit/copy_cast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace ptio::jit::detail {
namespace {

template <class T>
std::vector<std::byte> bytes_of(const std::vector<T>& v) {
  std::vector<std::byte> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

template <class T>
std::vector<T> values_of(const std::vector<std::byte>& b) {
  std::vector<T> v(b.size() / sizeof(T));
  std::memcpy(v.data(), b.data(), b.size());
  return v;
}

const float kNan = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

TEST(CopyCast, FloatToIntegersTruncateThenWrapAsPyTorchOnX86) {
  const auto src = bytes_of<float>({1.5f, -1.5f, 300.f, -1.f, 1e10f, kNan, kInf, 2.5f, 1e-8f});
  EXPECT_EQ(values_of<std::uint8_t>(copy_cast(src, ScalarType::Float, ScalarType::Byte)),
            (std::vector<std::uint8_t>{1, 255, 44, 255, 0, 0, 0, 2, 0}));
  EXPECT_EQ(values_of<std::int8_t>(copy_cast(src, ScalarType::Float, ScalarType::Char)),
            (std::vector<std::int8_t>{1, -1, 44, -1, 0, 0, 0, 2, 0}));
  EXPECT_EQ(values_of<std::int16_t>(copy_cast(src, ScalarType::Float, ScalarType::Short)),
            (std::vector<std::int16_t>{1, -1, 300, -1, 0, 0, 0, 2, 0}));
  constexpr std::int32_t m32 = INT32_MIN;
  EXPECT_EQ(values_of<std::int32_t>(copy_cast(src, ScalarType::Float, ScalarType::Int)),
            (std::vector<std::int32_t>{1, -1, 300, -1, m32, m32, m32, 2, 0}));
  constexpr std::int64_t m64 = INT64_MIN;
  EXPECT_EQ(values_of<std::int64_t>(copy_cast(src, ScalarType::Float, ScalarType::Long)),
            (std::vector<std::int64_t>{1, -1, 300, -1, 10000000000, m64, m64, 2, 0}));
  EXPECT_EQ(values_of<std::uint8_t>(copy_cast(src, ScalarType::Float, ScalarType::Bool)),
            (std::vector<std::uint8_t>{1, 1, 1, 1, 1, 1, 1, 1, 1}));
}

TEST(CopyCast, Int64ToNarrowerWrapsAndToHalfGoesThroughFloat) {
  const auto src = bytes_of<std::int64_t>({70000, -129, (std::int64_t{1} << 40) + 5});
  EXPECT_EQ(values_of<std::uint8_t>(copy_cast(src, ScalarType::Long, ScalarType::Byte)),
            (std::vector<std::uint8_t>{112, 127, 5}));
  EXPECT_EQ(values_of<std::int16_t>(copy_cast(src, ScalarType::Long, ScalarType::Short)),
            (std::vector<std::int16_t>{4464, -129, 5}));
  // float16: 70000 overflows to inf (0x7c00); -129 is 0xd808.
  EXPECT_EQ(values_of<std::uint16_t>(copy_cast(src, ScalarType::Long, ScalarType::Half)),
            (std::vector<std::uint16_t>{0x7c00, 0xd808, 0x7c00}));
  // bfloat16: 70000 -> 70144.0 (0x4789), 2**40 + 5 -> 2**40 (0x5380).
  EXPECT_EQ(values_of<std::uint16_t>(copy_cast(src, ScalarType::Long, ScalarType::BFloat16)),
            (std::vector<std::uint16_t>{0x4789, 0xc301, 0x5380}));
}

TEST(CopyCast, DoubleToHalfRoundsToNearestEvenThroughFloat) {
  const auto src = bytes_of<double>({1.00048828125, 65520.0, 1e-8, -0.0});
  // 1 + 2**-11 is a tie: even (1.0); 65520 rounds up to inf; 1e-8 underflows to 0; -0 keeps its sign.
  EXPECT_EQ(values_of<std::uint16_t>(copy_cast(src, ScalarType::Double, ScalarType::Half)),
            (std::vector<std::uint16_t>{0x3c00, 0x7c00, 0x0000, 0x8000}));
}

TEST(CopyCast, ComplexToRealKeepsTheRealPart) {
  const auto src = bytes_of<float>({0, 0, 0, 2, 1, 0, kNan, 0});  // 0j, 2j, 1+0j, nan+0j
  EXPECT_EQ(values_of<std::uint8_t>(copy_cast(src, ScalarType::ComplexFloat, ScalarType::Bool)),
            (std::vector<std::uint8_t>{0, 0, 1, 1}));
  EXPECT_EQ(values_of<std::int32_t>(copy_cast(src, ScalarType::ComplexFloat, ScalarType::Int)),
            (std::vector<std::int32_t>{0, 0, 1, INT32_MIN}));
  // Real -> complex: imaginary part 0.
  EXPECT_EQ(values_of<double>(copy_cast(bytes_of<float>({1.5f, -2.f}), ScalarType::Float,
                                        ScalarType::ComplexDouble)),
            (std::vector<double>{1.5, 0, -2, 0}));
}

TEST(CopyCast, CastableDtypes) {
  EXPECT_TRUE(copy_castable(ScalarType::Double, ScalarType::BFloat16));
  EXPECT_TRUE(copy_castable(ScalarType::Bool, ScalarType::ComplexFloat));
  EXPECT_TRUE(copy_castable(ScalarType::QInt8, ScalarType::QInt8));  // equal: a plain copy
  EXPECT_FALSE(copy_castable(ScalarType::QInt8, ScalarType::Float));
  EXPECT_FALSE(copy_castable(ScalarType::Float, ScalarType::Float8_e5m2));
  EXPECT_FALSE(copy_castable(ScalarType::UInt16, ScalarType::Int));
  EXPECT_FALSE(copy_castable(ScalarType::ComplexHalf, ScalarType::Float));
}

}  // namespace
}  // namespace ptio::jit::detail
