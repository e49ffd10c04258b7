// Element conversion of `Tensor.copy_` between dtypes, for jit::load_state_dict (PyTorch's
// `param.copy_(input_param)` converts a checkpoint's dtype to the module's).
#pragma once

#include <cstddef>
#include <vector>

#include "ptio/core/scalar_type.h"

namespace ptio::jit::detail {

/// True when copy_cast converts `from` -> `to`: both among bool, uint8, int8, int16, int32,
/// int64, float16, bfloat16, float32, float64, complex64, complex128 (PyTorch 1.13's dtypes with
/// a CPU copy_ kernel that ptio reproduces). Equal dtypes are always true.
bool copy_castable(ScalarType from, ScalarType to) noexcept;

/// Converts `src` (row-major elements of dtype `from`, little-endian) to dtype `to` as
/// `torch.empty(n, dtype=to).copy_(src)` does on x86-64 CPUs in PyTorch 1.13 (c10::convert):
/// - complex -> real or bool: the real part (PyTorch warns "Casting complex values to real
///   discards the imaginary part"); real -> complex: imaginary part 0;
/// - to bool: x != 0 (NaN is true);
/// - floating -> int64: truncation toward zero; NaN, infinities and values outside int64 give
///   INT64_MIN (cvttsd2si); floating -> int32/int16/int8/uint8: truncation to int32 (NaN and
///   values outside int32 give INT32_MIN), then the low bits (300.0 -> uint8 44, -1.0 -> 255);
/// - integer -> narrower integer: the low bits (two's complement wrap); bool -> number: 0 / 1;
/// - to float32: correctly rounded; to float16 / bfloat16: through float32 (an int64 or float64
///   is first rounded to float32), then round-to-nearest-even, overflow to inf, NaN to a quiet
///   NaN (float16 0x7e00 with the sign kept, as PyTorch; bfloat16 0x7fc0, where PyTorch's
///   vectorised kernels give 0xffff: a NaN either way, only the payload differs).
/// Returns the converted elements' bytes (owned). Requires copy_castable(from, to) and
/// src.size() a multiple of from's element size.
std::vector<std::byte> copy_cast(const std::vector<std::byte>& src, ScalarType from, ScalarType to);

}  // namespace ptio::jit::detail
